using System.Collections.Concurrent;

namespace ImageGateway.RateLimits;

/// <summary>
/// Hand-written rather than System.Threading.RateLimiting: those limiters hold one window each, so
/// checking minute, hour, day and month together would take permits from some and then have to
/// give them back when a later one refuses (not atomic), and they do not run on a TimeProvider, so
/// tests could not move the clock. Here one lock per account makes the multi-window check-and-count
/// a single step; contention is per account only.
/// </summary>
public sealed class MemoryRateLimitStore : IRateLimitStore
{
    private readonly ConcurrentDictionary<string, Counters> _accounts = new(StringComparer.Ordinal);

    public ValueTask<RateDecision> TryConsumeAsync(string accountId, IReadOnlyList<WindowLimit> windows, int images, CancellationToken ct)
    {
        var counters = _accounts.GetOrAdd(accountId, _ => new Counters());
        lock (counters)
        {
            var used = new (WindowLimit, int)[windows.Count];
            WindowLimit? blocking = null;
            for (var i = 0; i < windows.Count; i++)
            {
                var count = counters.Current(windows[i]);
                used[i] = (windows[i], count);
                if (count + images > windows[i].Limit && blocking is null) blocking = windows[i];
            }
            if (blocking is not null) return ValueTask.FromResult(new RateDecision(false, used, blocking));

            for (var i = 0; i < windows.Count; i++)
            {
                counters.Set(windows[i], used[i].Item2 + images);
                used[i] = (windows[i], used[i].Item2 + images);
            }
            return ValueTask.FromResult(new RateDecision(true, used, null));
        }
    }

    public ValueTask RefundAsync(string accountId, IReadOnlyList<WindowLimit> windows, int images, CancellationToken ct)
    {
        if (_accounts.TryGetValue(accountId, out var counters))
            lock (counters)
                foreach (var window in windows)
                    counters.Set(window, Math.Max(0, counters.Current(window) - images));
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Sets an account's count in <paramref name="window"/> (at start-up, from the images the
    /// database says were delivered in it), so a restart does not hand out a fresh window.
    /// </summary>
    public void Restore(string accountId, WindowLimit window, int count)
    {
        var counters = _accounts.GetOrAdd(accountId, _ => new Counters());
        lock (counters) counters.Set(window, Math.Max(counters.Current(window), count));
    }

    private sealed class Counters
    {
        private readonly (DateTimeOffset Start, int Count)[] _byKind = new (DateTimeOffset, int)[4];

        /// <summary>The count in the window that starts at <paramref name="window"/>.Start; an older window counts as zero.</summary>
        public int Current(WindowLimit window) =>
            _byKind[(int)window.Kind].Start == window.Start ? _byKind[(int)window.Kind].Count : 0;

        public void Set(WindowLimit window, int count) => _byKind[(int)window.Kind] = (window.Start, count);
    }
}
