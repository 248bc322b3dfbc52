namespace ImageGateway.RateLimits;

public enum WindowKind { Minute, Hour, Day, Month }

/// <summary>One calendar-aligned window (UTC) and how many images it allows.</summary>
public readonly record struct WindowLimit(WindowKind Kind, int Limit, DateTimeOffset Start, DateTimeOffset End)
{
    public string Name => Kind.ToString().ToLowerInvariant();

    public static WindowLimit For(WindowKind kind, int limit, DateTimeOffset now)
    {
        var utc = now.ToUniversalTime();
        var start = kind switch
        {
            WindowKind.Minute => new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, utc.Minute, 0, TimeSpan.Zero),
            WindowKind.Hour => new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero),
            WindowKind.Day => new DateTimeOffset(utc.Year, utc.Month, utc.Day, 0, 0, 0, TimeSpan.Zero),
            _ => new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero),
        };
        var end = kind switch
        {
            WindowKind.Minute => start.AddMinutes(1),
            WindowKind.Hour => start.AddHours(1),
            WindowKind.Day => start.AddDays(1),
            _ => start.AddMonths(1),
        };
        return new WindowLimit(kind, limit, start, end);
    }
}

/// <summary>The outcome of a check-and-count: <c>Remaining</c> per window after this request (or before it, when refused).</summary>
public sealed record RateDecision(bool Allowed, IReadOnlyList<(WindowLimit Window, int Used)> Windows, WindowLimit? Blocking)
{
    /// <summary>The window with the fewest images left (the shortest on a tie): the one the headers describe.</summary>
    public (WindowLimit Window, int Remaining)? Tightest =>
        Windows.Count == 0 ? null : Windows.Select(w => (w.Window, Remaining: Math.Max(0, w.Window.Limit - w.Used)))
            .OrderBy(w => w.Remaining).ThenBy(w => w.Window.Kind).First();
}

/// <summary>
/// Image counters per account and window. The check and the count are one atomic step: a request
/// that would exceed any window counts nothing. In process for the embedded install; Redis when
/// several gateway processes must share one limit.
/// </summary>
public interface IRateLimitStore
{
    ValueTask<RateDecision> TryConsumeAsync(string accountId, IReadOnlyList<WindowLimit> windows, int images, CancellationToken ct);

    /// <summary>Gives back images counted for a request that was then refused for another reason (402, 503).</summary>
    ValueTask RefundAsync(string accountId, IReadOnlyList<WindowLimit> windows, int images, CancellationToken ct);

    /// <summary>One round trip to the server the counters live on; returns what <c>/readyz</c> reports of it.</summary>
    Task<string> ProbeAsync(CancellationToken ct) => Task.FromResult("in process");
}
