using System.Globalization;
using ImageGateway.Accounts;
using ImageGateway.Catalog;
using ImageGateway.Http;

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

/// <summary>Per-account image limits (DESIGN §2/§7), with the response headers that describe them.</summary>
public sealed class ImageRateLimiter(IRateLimitStore store, TimeProvider time)
{
    public sealed record Admission(IReadOnlyList<WindowLimit> Windows, ApiError? Refusal);

    /// <summary>Counts <paramref name="images"/> against every window, or refuses the whole request (429) and counts nothing.</summary>
    public async Task<Admission> AdmitAsync(HttpContext http, Caller caller, EffectiveLimits limits, string tierName, int images, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var windows = limits.Windows(now);
        if (windows.Count == 0) return new Admission(windows, null);

        var decision = await store.TryConsumeAsync(caller.AccountId, windows, images, ct);
        if (decision.Tightest is { } tightest) SetHeaders(http, tightest.Window, decision.Allowed ? tightest.Remaining : Math.Max(0, tightest.Remaining));
        if (decision.Allowed) return new Admission(windows, null);

        var blocking = decision.Blocking!.Value;
        var used = decision.Windows.First(w => w.Window.Kind == blocking.Kind).Used;
        var retryAfter = SecondsUntil(blocking.End, now);
        SetHeaders(http, blocking, Math.Max(0, blocking.Limit - used));
        var message = images > blocking.Limit
            ? $"This request asks for {images} images but the {tierName} tier allows {blocking.Limit} per {blocking.Name}."
            : $"Rate limit exceeded: {blocking.Limit} images per {blocking.Name} on the {tierName} tier; {used} used in this window. Retry after {retryAfter} s.";
        return new Admission(windows, new ApiError(429, "rate_limit_error", "rate_limit_exceeded", message)
            .WithHeader("Retry-After", retryAfter.ToString(CultureInfo.InvariantCulture)));
    }

    public ValueTask RefundAsync(Caller caller, Admission admission, int images) =>
        admission.Windows.Count == 0 ? ValueTask.CompletedTask : store.RefundAsync(caller.AccountId, admission.Windows, images, CancellationToken.None);

    public static long SecondsUntil(DateTimeOffset end, DateTimeOffset now) => Math.Max(1, (long)Math.Ceiling((end - now).TotalSeconds));

    /// <summary>X-RateLimit-Reset is the window's end as unix seconds.</summary>
    private static void SetHeaders(HttpContext http, WindowLimit window, int remaining)
    {
        var headers = http.Response.Headers;
        headers["X-RateLimit-Limit"] = window.Limit.ToString(CultureInfo.InvariantCulture);
        headers["X-RateLimit-Remaining"] = remaining.ToString(CultureInfo.InvariantCulture);
        headers["X-RateLimit-Reset"] = window.End.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
    }
}
