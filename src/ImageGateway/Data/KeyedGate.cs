namespace ImageGateway.Data;

/// <summary>
/// One holder at a time per key, waiters served in arrival order, and nothing kept for a key
/// nobody holds or waits for. Used to queue one account's ledger writes in memory instead of in
/// the database, where each waiter would hold a pooled connection while it waits for the row lock.
/// </summary>
public sealed class KeyedGate
{
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>Waits for <paramref name="key"/>'s turn; disposing the result ends it.</summary>
    public async ValueTask<Turn> EnterAsync(string key, CancellationToken ct)
    {
        Entry entry;
        lock (_entries)
        {
            if (!_entries.TryGetValue(key, out entry!)) _entries[key] = entry = new Entry();
            entry.Users++;
        }
        try
        {
            await entry.Semaphore.WaitAsync(ct);
        }
        catch
        {
            Leave(key, entry);
            throw;
        }
        return new Turn(this, key, entry);
    }

    /// <summary>Keys with a holder or a waiter (for tests and diagnostics).</summary>
    public int ActiveKeys
    {
        get { lock (_entries) return _entries.Count; }
    }

    private void Leave(string key, Entry entry)
    {
        lock (_entries)
            if (--entry.Users == 0) _entries.Remove(key);
    }

    internal sealed class Entry
    {
        public readonly SemaphoreSlim Semaphore = new(1, 1);
        public int Users;
    }

    public readonly struct Turn : IDisposable
    {
        private readonly KeyedGate _gate;
        private readonly string _key;
        private readonly Entry _entry;

        internal Turn(KeyedGate gate, string key, Entry entry) => (_gate, _key, _entry) = (gate, key, entry);

        public void Dispose()
        {
            _entry.Semaphore.Release();
            _gate.Leave(_key, _entry);
        }
    }
}
