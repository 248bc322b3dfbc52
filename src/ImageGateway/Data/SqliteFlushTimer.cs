using Microsoft.Data.Sqlite;

namespace ImageGateway.Data;

/// <summary>
/// Commits the deferred writes no other write commits. It ticks every delay while deferred writes
/// keep coming, and stops at a tick that finds nothing to commit: re-arming a timer for every
/// deferred write would wake the timer thread for every request.
/// </summary>
internal sealed class SqliteFlushTimer : IAsyncDisposable
{
    private readonly SqliteGroupCommitter _committer;
    private readonly TimeSpan _delay;
    private readonly Timer _timer;
    private readonly Lock _lock = new();
    private bool _running; // guarded by _lock

    public SqliteFlushTimer(SqliteGroupCommitter committer, TimeSpan delay)
    {
        _committer = committer;
        _delay = delay;
        _timer = new Timer(static state => ((SqliteFlushTimer)state!).OnTick(), this, Timeout.Infinite, Timeout.Infinite);
    }

    /// <summary>Called after <see cref="SqliteGroupCommitter.HasUncommittedWrites"/> turned true, so a tick that stops the timer has not seen it yet.</summary>
    public void Start()
    {
        lock (_lock)
        {
            if (!_running) _timer.Change(_delay, _delay);
            _running = true;
        }
    }

    private void OnTick()
    {
        lock (_lock)
        {
            if (!_committer.HasUncommittedWrites)
            {
                _timer.Change(Timeout.Infinite, Timeout.Infinite);
                _running = false;
                return;
            }
        }
        _ = FlushQuietlyAsync();
    }

    // A failed commit fails the writes it carried, and their callers see that at their next step
    // (a settle finds no hold); there is nobody here to tell.
    private async Task FlushQuietlyAsync()
    {
        try
        {
            await _committer.FlushAsync();
        }
        catch (Exception e) when (e is SqliteException or ObjectDisposedException or InvalidOperationException)
        {
        }
    }

    public ValueTask DisposeAsync() => _timer.DisposeAsync();
}
