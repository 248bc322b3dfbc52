using ImageGateway.Accounts;
using ImageGateway.Catalog;

namespace ImageGateway.RateLimits;

/// <summary>The limits that apply to one account: its tier's, with any admin overrides on top. 0 = unlimited.</summary>
public sealed record EffectiveLimits(int PerMinute, int PerHour, int PerDay, int PerMonth, Billing.Millicredits? MonthlyCap)
{
    public static EffectiveLimits For(TierDefinition tier, LimitOverrides? o) => new(
        o?.PerMinute ?? tier.PerMinute, o?.PerHour ?? tier.PerHour, o?.PerDay ?? tier.PerDay, o?.PerMonth ?? tier.PerMonth,
        o?.MonthlyCapMc is { } cap ? (cap > 0 ? new Billing.Millicredits(cap) : null) : tier.MonthlyCap);

    public IReadOnlyList<WindowLimit> Windows(DateTimeOffset now)
    {
        var windows = new List<WindowLimit>(4);
        if (PerMinute > 0) windows.Add(WindowLimit.For(WindowKind.Minute, PerMinute, now));
        if (PerHour > 0) windows.Add(WindowLimit.For(WindowKind.Hour, PerHour, now));
        if (PerDay > 0) windows.Add(WindowLimit.For(WindowKind.Day, PerDay, now));
        if (PerMonth > 0) windows.Add(WindowLimit.For(WindowKind.Month, PerMonth, now));
        return windows;
    }
}

/// <summary>Per-account image limits (DESIGN §2/§7). HTTP headers and the 429 are the caller's business.</summary>
public sealed class ImageRateLimiter(IRateLimitStore store, TimeProvider time)
{
    /// <summary>
    /// Counts <paramref name="images"/> against every window, or refuses the whole request and counts
    /// nothing. The admission gives the images back when it is disposed without <see cref="RateLimitAdmission.Keep"/>.
    /// </summary>
    public async Task<RateLimitAdmission> AdmitAsync(string accountId, EffectiveLimits limits, int images, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var windows = limits.Windows(now);
        if (windows.Count == 0) return new RateLimitAdmission(store, accountId, windows, images, shown: null, refusal: null);

        var decision = await store.TryConsumeAsync(accountId, windows, images, ct);
        if (decision.Allowed) return new RateLimitAdmission(store, accountId, windows, images, decision.Tightest, refusal: null);

        var blocking = decision.Blocking!.Value;
        var used = decision.Windows.First(w => w.Window.Kind == blocking.Kind).Used;
        var refusal = new RateLimitRefusal(blocking, used, images, SecondsUntil(blocking.End, now));
        return new RateLimitAdmission(null, accountId, windows, images, (blocking, Math.Max(0, blocking.Limit - used)), refusal);
    }

    /// <summary>
    /// Images counted in each limited window now. A check-and-count of zero images: it counts
    /// nothing, works the same on every store, and reads all windows in one atomic step.
    /// </summary>
    public async Task<IReadOnlyDictionary<WindowKind, int>> UsedAsync(string accountId, EffectiveLimits limits, CancellationToken ct)
    {
        var windows = limits.Windows(time.GetUtcNow());
        if (windows.Count == 0) return new Dictionary<WindowKind, int>();
        var decision = await store.TryConsumeAsync(accountId, windows, 0, ct);
        return decision.Windows.ToDictionary(w => w.Window.Kind, w => w.Used);
    }

    public static long SecondsUntil(DateTimeOffset end, DateTimeOffset now) => Math.Max(1, (long)Math.Ceiling((end - now).TotalSeconds));
}

/// <summary>Why a request was refused: the window it would exceed, what that window has used, and when it frees.</summary>
public sealed record RateLimitRefusal(WindowLimit Window, int Used, int Requested, long RetryAfterSeconds);

/// <summary>
/// The images one request counted against its windows. Unless <see cref="Keep"/> is called (the
/// request reached a provider), disposing it gives them back.
/// </summary>
public sealed class RateLimitAdmission : IAsyncDisposable
{
    private readonly IRateLimitStore? _store;
    private readonly string _accountId;
    private readonly IReadOnlyList<WindowLimit> _windows;
    private readonly int _images;
    private bool _kept;

    internal RateLimitAdmission(IRateLimitStore? store, string accountId, IReadOnlyList<WindowLimit> windows, int images,
        (WindowLimit Window, int Remaining)? shown, RateLimitRefusal? refusal)
    {
        (_store, _accountId, _windows, _images) = (store, accountId, windows, images);
        (Shown, Refusal) = (shown, refusal);
    }

    /// <summary>Null when admitted.</summary>
    public RateLimitRefusal? Refusal { get; }

    /// <summary>The window the X-RateLimit headers describe and what it has left; null when the account has no limits.</summary>
    public (WindowLimit Window, int Remaining)? Shown { get; }

    public void Keep() => _kept = true;

    public ValueTask DisposeAsync()
    {
        // A refused admission counted nothing and carries no store.
        if (_kept || _store is null || _windows.Count == 0) return ValueTask.CompletedTask;
        _kept = true;
        return _store.RefundAsync(_accountId, _windows, _images, CancellationToken.None);
    }
}
