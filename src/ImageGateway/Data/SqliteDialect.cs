using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace ImageGateway.Data;

/// <summary>
/// The embedded database: one file in the data folder, opened in WAL mode so readers never wait
/// for the writer. SQLite has one writer at a time, so writes are queued here and committed in
/// groups (see <see cref="WriteAsync{T}"/>) rather than one transaction per write.
/// </summary>
public sealed class SqliteDialect : IDbDialect, IAsyncDisposable
{
    /// <summary>The most writes one group commit takes from the queue.</summary>
    private const int MaxGroup = 128;

    // Queueing writers here instead of letting them collide on SQLITE_BUSY avoids the driver's
    // sleep-and-retry loop, which costs whole milliseconds. Migrations take it too.
    private readonly SemaphoreSlim _writer = new(1, 1);
    private readonly Queue<PendingWrite> _queue = new(); // guarded by lock (_queue), as are the two flags below
    private bool _committing;
    private bool _disposed;
    private readonly string _connectionString;
    private readonly string _synchronous;
    private readonly int _pageSize;
    private bool _walEnabled;
    private SqliteConnection? _groupConnection; // these four are used only under _writer
    private readonly Dictionary<string, DbCommand> _groupCommands = new(StringComparer.Ordinal);
    private SqliteTransaction? _uncommitted; // the group connection's open transaction, and the writes in it
    private int _uncommittedWrites;
    private volatile bool _hasUncommitted; // deferred writes wait in _uncommitted between groups; read without the lock
    // Ticks every _flushDelay while deferred writes keep coming, and stops at a tick that finds
    // nothing to commit: re-arming a timer for every deferred write would wake the timer thread
    // for every request.
    private readonly Timer _flushTimer;
    private readonly Lock _flushTimerLock = new();
    private bool _flushTimerRunning; // guarded by _flushTimerLock
    private readonly TimeSpan _flushDelay;

    /// <summary>
    /// The longest a deferred write stays uncommitted when no other write commits it first. Reads
    /// flush before they run, so this bounds only what a crash can undo; long enough that a
    /// request's own settle, against a fast upstream, usually commits its hold with it.
    /// </summary>
    public static readonly TimeSpan DefaultFlushDelay = TimeSpan.FromMilliseconds(50);

    /// <param name="synchronous">
    /// SQLite's <c>PRAGMA synchronous</c> for writes. NORMAL (the default) does not fsync each commit:
    /// a crash of the gateway loses nothing, a power cut may lose the last commits but never
    /// corrupts the file or breaks the ledger's invariants. FULL fsyncs the WAL on every group commit.
    /// </param>
    /// <param name="pageSize">
    /// The page size of a database file this creates; an existing file keeps its own. Every commit
    /// writes each page it touched to the WAL, and a generate request touches about twenty (one per
    /// table or index row it adds), so 1 KiB pages write a quarter of the bytes that 4 KiB pages do.
    /// </param>
    /// <param name="flushDelay">How long a deferred write may wait for another commit; <see cref="DefaultFlushDelay"/> when null.</param>
    public SqliteDialect(string connectionString, string synchronous = "NORMAL", int pageSize = DefaultPageSize, TimeSpan? flushDelay = null)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString)
        {
            Pooling = true,
            DefaultTimeout = 30,
        };
        _connectionString = builder.ToString();
        _synchronous = synchronous.ToUpperInvariant() switch
        {
            "NORMAL" or "FULL" or "EXTRA" or "OFF" => synchronous.ToUpperInvariant(),
            _ => throw new ArgumentException($"SQLite synchronous must be NORMAL, FULL, EXTRA or OFF, not '{synchronous}'.", nameof(synchronous)),
        };
        if (pageSize is < 512 or > 65536 || (pageSize & (pageSize - 1)) != 0)
            throw new ArgumentException($"SQLite page size must be a power of two from 512 to 65536, not {pageSize}.", nameof(pageSize));
        _pageSize = pageSize;
        _flushDelay = flushDelay ?? DefaultFlushDelay;
        _flushTimer = new Timer(static state => ((SqliteDialect)state!).OnFlushTick(), this, Timeout.Infinite, Timeout.Infinite);
    }

    public const int DefaultPageSize = 1024;

    public static SqliteDialect ForFile(string path, string synchronous = "NORMAL", int pageSize = DefaultPageSize) =>
        new(new SqliteConnectionStringBuilder { DataSource = path }.ToString(), synchronous, pageSize);

    public string Name => "sqlite";

    /// <summary>Groups committed so far, and the writes in them: their ratio is the mean group size.</summary>
    public long GroupsCommitted => Interlocked.Read(ref _groups);
    public long WritesCommitted => Interlocked.Read(ref _writes);
    private long _groups, _writes;

    public bool IsSingleProcess => true;

    // BEGIN IMMEDIATE takes the file's write lock, which already serializes concurrent migrators.
    public string? MigrationLockSql => null;

    public DbConnection CreateConnection() => new SqliteConnection(_connectionString);

    public async ValueTask<WriteScope> BeginWriteAsync(CancellationToken ct)
    {
        await _writer.WaitAsync(ct);
        SqliteConnection? connection = null;
        try
        {
            // The group connection's open transaction holds the file's write lock.
            await CommitUncommittedAsync();
            connection = await OpenWriterAsync(ct);
            // BEGIN IMMEDIATE: takes the write lock up front, so a read inside the transaction
            // cannot be invalidated by another process's write before our own.
            var transaction = connection.BeginTransaction(deferred: false);
            return new WriteScope(connection, transaction, () => _writer.Release());
        }
        catch
        {
            if (connection is not null) await connection.DisposeAsync();
            _writer.Release();
            throw;
        }
    }

    /// <summary>
    /// Group commit: the write joins a queue. If no group is being committed, this caller becomes
    /// the committer and runs everything queued (up to <see cref="MaxGroup"/> at a time, its own
    /// write included) in one transaction, each write inside its own SAVEPOINT, until the queue is
    /// empty; otherwise it waits for the committer to run its write. A write that throws is rolled
    /// back to its savepoint alone and its caller gets the exception; the others commit together.
    /// No caller sees a result before its group has committed, and a failed COMMIT fails every
    /// write of the group. Each write is as atomic as before and sees the writes ahead of it, so
    /// the ledger's conditional UPDATEs keep their guarantees. What changes is that 32 concurrent
    /// requests share one commit instead of queueing for 32, and that a lone writer commits on its
    /// own thread without waking another.
    /// </summary>
    public Task<T> WriteAsync<T>(Func<WriteScope, Task<T>> write, CancellationToken ct) => EnqueueAsync(write, deferred: false, counted: true, ct);

    /// <summary>
    /// A write that returns as soon as it has run, before it is committed. A group made only of
    /// deferred writes leaves its transaction open; the next group that holds a committing write
    /// (or <see cref="FlushAsync"/>, called by every read through <see cref="Database"/> and by a
    /// timer at most <see cref="DefaultFlushDelay"/> later) commits it with its own.
    /// Every later write sees it, since there is one writer connection; a crash before that commit
    /// loses it whole, as if it had never run.
    /// </summary>
    public Task<T> WriteDeferredAsync<T>(Func<WriteScope, Task<T>> write, CancellationToken ct) => EnqueueAsync(write, deferred: true, counted: true, ct);

    public bool HasUncommittedWrites => _hasUncommitted;

    /// <summary>
    /// Commits deferred writes still left open; done at once when there are none. The flush itself
    /// is an empty write that is not counted in <see cref="WritesCommitted"/>, and a commit that
    /// carries no counted write (another group got there first) is not counted in <see cref="GroupsCommitted"/>.
    /// </summary>
    public Task FlushAsync() => _hasUncommitted
        ? EnqueueAsync(static _ => Task.FromResult(0), deferred: false, counted: false, CancellationToken.None)
        : Task.CompletedTask;

    private void OnFlushTick()
    {
        lock (_flushTimerLock)
        {
            if (!_hasUncommitted)
            {
                _flushTimer.Change(Timeout.Infinite, Timeout.Infinite);
                _flushTimerRunning = false;
                return;
            }
        }
        _ = FlushQuietlyAsync();
    }

    // The timer's flush: a failed commit fails the writes it carried, and their callers see that
    // at their next step (a settle finds no hold); there is nobody here to tell.
    private async Task FlushQuietlyAsync()
    {
        try
        {
            await FlushAsync();
        }
        catch (Exception e) when (e is SqliteException or ObjectDisposedException or InvalidOperationException)
        {
        }
    }

    private async Task<T> EnqueueAsync<T>(Func<WriteScope, Task<T>> write, bool deferred, bool counted, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var pending = new PendingWrite<T>(write, deferred, counted, ct);
        bool lead;
        lock (_queue)
        {
            if (_disposed) throw new ObjectDisposedException(nameof(SqliteDialect));
            _queue.Enqueue(pending);
            lead = !_committing;
            _committing = true;
        }
        if (lead) await CommitQueuedAsync(pending.Result);
        return await pending.Result;
    }

    /// <summary>
    /// Commits groups until the queue is empty, then gives the committer role back. A request that
    /// leads stops once its own write is done: if others are still queued, a thread-pool task takes
    /// over, so no request is held up committing for everyone else under sustained load.
    /// </summary>
    private async Task CommitQueuedAsync(Task? own)
    {
        var group = new List<PendingWrite>();
        try
        {
            while (true)
            {
                lock (_queue)
                {
                    if (own is { IsCompleted: true } && _queue.Count > 0)
                    {
                        _ = Task.Run(() => CommitQueuedAsync(null));
                        return;
                    }
                    while (group.Count < MaxGroup && _queue.TryDequeue(out var next))
                    {
                        if (next.Cancellation.IsCancellationRequested) next.Fail(new OperationCanceledException(next.Cancellation));
                        else group.Add(next);
                    }
                    if (group.Count == 0)
                    {
                        _committing = false;
                        return;
                    }
                }
                await _writer.WaitAsync();
                try
                {
                    await CommitGroupAsync(group);
                }
                finally
                {
                    _writer.Release();
                    group.Clear();
                }
            }
        }
        catch (Exception e)
        {
            // Only reachable if the semaphore itself fails (disposal); never leave callers waiting.
            lock (_queue)
            {
                foreach (var write in group) write.Fail(e);
                while (_queue.TryDequeue(out var next)) next.Fail(e);
                _committing = false;
            }
        }
    }

    private async Task CommitGroupAsync(List<PendingWrite> group)
    {
        var succeeded = new List<PendingWrite>(group.Count);
        var commit = false;
        try
        {
            var connection = _groupConnection ??= await OpenGroupConnectionAsync();
            // Deferred writes of earlier groups may still be uncommitted in this transaction.
            var carried = _uncommitted is not null;
            var transaction = _uncommitted ?? (SqliteTransaction)connection.BeginTransaction(deferred: false);
            _uncommitted = transaction;
            var scope = new WriteScope(connection, transaction, null, _groupCommands);
            // A lone write in a fresh transaction needs no savepoint: if it throws, the whole
            // transaction is rolled back. The savepoint statements are kept prepared like the
            // ledger's (SqliteTransaction.Save and Release parse theirs anew each time).
            var savepoints = group.Count > 1 || carried;
            foreach (var write in group)
            {
                if (savepoints) scope.Command("SAVEPOINT w").ExecuteNonQuery();
                try
                {
                    await write.RunAsync(scope);
                }
                catch (Exception e)
                {
                    // Rolls back this write only. If SQLite already aborted the whole transaction,
                    // this throws and the outer handler fails the group.
                    if (savepoints)
                    {
                        scope.Command("ROLLBACK TO w").ExecuteNonQuery();
                        scope.Command("RELEASE w").ExecuteNonQuery();
                    }
                    else EndUncommitted(commit: false);
                    write.Fail(e);
                    if (!savepoints) return;
                    continue;
                }
                if (savepoints) scope.Command("RELEASE w").ExecuteNonQuery();
                succeeded.Add(write);
                commit |= !write.Deferred;
                if (write.Counted) _uncommittedWrites++;
            }
            if (commit || _uncommittedWrites == 0) EndUncommitted(commit);
            else if (!carried)
            {
                _hasUncommitted = true; // before the timer's lock: a tick that stops the timer has not seen it yet
                lock (_flushTimerLock)
                {
                    if (!_flushTimerRunning) _flushTimer.Change(_flushDelay, _flushDelay);
                    _flushTimerRunning = true;
                }
            }
        }
        catch (Exception e)
        {
            foreach (var write in group) write.Fail(e);
            // Start the next group on a fresh connection, whatever state this one was left in.
            await CloseGroupConnectionAsync();
            return;
        }
        foreach (var write in succeeded) write.Complete();
    }

    /// <summary>Commits (or rolls back) the group connection's open transaction; called under _writer.</summary>
    private void EndUncommitted(bool commit)
    {
        if (_uncommitted is not { } transaction) return;
        var writes = _uncommittedWrites;
        (_uncommitted, _uncommittedWrites, _hasUncommitted) = (null, 0, false);
        try
        {
            if (commit) transaction.Commit();
            else transaction.Rollback();
        }
        finally
        {
            transaction.Dispose();
        }
        if (!commit || writes == 0) return;
        Interlocked.Increment(ref _groups);
        Interlocked.Add(ref _writes, writes);
    }

    /// <summary>Commits deferred writes before the write lock is wanted elsewhere; called under _writer.</summary>
    private async ValueTask CommitUncommittedAsync()
    {
        try
        {
            EndUncommitted(commit: true);
        }
        catch
        {
            // Their callers find out at their next step, as with a failed group commit.
            await CloseGroupConnectionAsync();
            throw;
        }
    }

    private async ValueTask CloseGroupConnectionAsync()
    {
        if (_uncommitted is { } transaction)
        {
            (_uncommitted, _uncommittedWrites, _hasUncommitted) = (null, 0, false);
            await transaction.DisposeAsync(); // rolls back what was left
        }
        foreach (var command in _groupCommands.Values) await command.DisposeAsync();
        _groupCommands.Clear();
        if (_groupConnection is { } connection) await connection.DisposeAsync();
        _groupConnection = null;
    }

    /// <summary>
    /// The group committer's own connection, kept open between groups: no pool round trip per
    /// group, and a page cache big enough (64 MiB) to hold the hot index pages of a large ledger.
    /// </summary>
    private async Task<SqliteConnection> OpenGroupConnectionAsync()
    {
        var connection = await OpenWriterAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA cache_size = -65536";
        await command.ExecuteNonQueryAsync();
        return connection;
    }

    private async Task<SqliteConnection> OpenWriterAsync(CancellationToken ct)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(ct);
            if (!_walEnabled)
            {
                // Both persistent in the file; neither can run inside a transaction. The page size only
                // takes on a file with no tables yet, and must come before WAL mode, which fixes it.
                // An in-memory database stays in its own journal mode.
                await using var wal = connection.CreateCommand();
                wal.CommandText = $"PRAGMA page_size = {_pageSize}";
                await wal.ExecuteNonQueryAsync(ct);
                wal.CommandText = "PRAGMA journal_mode = WAL";
                await wal.ExecuteScalarAsync(ct);
                _walEnabled = true;
            }
            await using var command = connection.CreateCommand();
            command.CommandText = $"PRAGMA synchronous = {_synchronous}";
            await command.ExecuteNonQueryAsync(ct);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Refuses new writes and waits for queued ones to commit.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_queue) _disposed = true;
        while (true)
        {
            lock (_queue)
                if (!_committing) break;
            await Task.Delay(10);
        }
        await _flushTimer.DisposeAsync();
        await _writer.WaitAsync();
        try
        {
            try
            {
                await CommitUncommittedAsync();
            }
            catch (SqliteException)
            {
                // Nothing more can be done at shutdown; the writes are lost as in a crash.
            }
            await CloseGroupConnectionAsync();
        }
        finally
        {
            _writer.Release();
        }
    }

    private abstract class PendingWrite(bool deferred, bool counted, CancellationToken cancellation)
    {
        public bool Deferred { get; } = deferred;
        /// <summary>False for a flush: it commits other writes and is not one itself.</summary>
        public bool Counted { get; } = counted;
        public CancellationToken Cancellation { get; } = cancellation;
        public abstract Task RunAsync(WriteScope scope);
        public abstract void Complete();
        public abstract void Fail(Exception error);
    }

    private sealed class PendingWrite<T>(Func<WriteScope, Task<T>> write, bool deferred, bool counted, CancellationToken cancellation)
        : PendingWrite(deferred, counted, cancellation)
    {
        private readonly TaskCompletionSource<T> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T? _value;

        public Task<T> Result => _result.Task;

        public override async Task RunAsync(WriteScope scope) => _value = await write(scope);

        public override void Complete() => _result.TrySetResult(_value!);

        public override void Fail(Exception error)
        {
            if (error is OperationCanceledException canceled) _result.TrySetCanceled(canceled.CancellationToken);
            else _result.TrySetException(error);
        }
    }

    public IReadOnlyList<Migration> Migrations { get; } =
    [
        new(1, "core schema", """
            CREATE TABLE accounts (
                id          TEXT PRIMARY KEY,
                name        TEXT NOT NULL,
                tier        TEXT NOT NULL,
                balance_mc  BIGINT NOT NULL DEFAULT 0 CHECK (balance_mc >= 0),
                reserved_mc BIGINT NOT NULL DEFAULT 0 CHECK (reserved_mc >= 0),
                created_at  BIGINT NOT NULL
            );
            CREATE TABLE api_keys (
                id          TEXT PRIMARY KEY,
                account_id  TEXT NOT NULL REFERENCES accounts(id),
                key_hash    TEXT NOT NULL UNIQUE,
                prefix      TEXT NOT NULL,
                name        TEXT NULL,
                scope       TEXT NOT NULL,
                created_at  BIGINT NOT NULL,
                expires_at  BIGINT NULL,
                revoked_at  BIGINT NULL
            );
            CREATE INDEX ix_api_keys_account ON api_keys(account_id);
            CREATE TABLE reservations (
                id          TEXT PRIMARY KEY,
                account_id  TEXT NOT NULL REFERENCES accounts(id),
                amount_mc   BIGINT NOT NULL CHECK (amount_mc > 0),
                state       TEXT NOT NULL,
                created_at  BIGINT NOT NULL,
                expires_at  BIGINT NOT NULL,
                closed_at   BIGINT NULL
            );
            CREATE INDEX ix_reservations_open ON reservations(state, expires_at);
            CREATE TABLE ledger_entries (
                seq              INTEGER PRIMARY KEY AUTOINCREMENT,
                id               TEXT NOT NULL UNIQUE,
                account_id       TEXT NOT NULL REFERENCES accounts(id),
                kind             TEXT NOT NULL,
                amount_mc        BIGINT NOT NULL,
                hold_mc          BIGINT NOT NULL,
                balance_after_mc BIGINT NOT NULL,
                reservation_id   TEXT NULL,
                description      TEXT NULL,
                created_at       BIGINT NOT NULL
            );
            CREATE INDEX ix_ledger_account ON ledger_entries(account_id, seq);
            CREATE INDEX ix_ledger_account_kind_time ON ledger_entries(account_id, kind, created_at);
            """),
        new(2, "byok keys and usage", """
            CREATE TABLE byok_keys (
                id          TEXT PRIMARY KEY,
                account_id  TEXT NOT NULL REFERENCES accounts(id),
                provider    TEXT NOT NULL,
                secret      TEXT NOT NULL,
                masked_key  TEXT NOT NULL,
                enabled     INTEGER NOT NULL,
                metadata    TEXT NULL,
                created_at  BIGINT NOT NULL,
                updated_at  BIGINT NOT NULL,
                UNIQUE (account_id, provider)
            );
            CREATE TABLE usage_events (
                id          TEXT PRIMARY KEY,
                account_id  TEXT NOT NULL REFERENCES accounts(id),
                key_id      TEXT NOT NULL,
                model       TEXT NOT NULL,
                provider    TEXT NULL,
                tier        TEXT NOT NULL,
                size        TEXT NOT NULL,
                quality     TEXT NOT NULL,
                images      INTEGER NOT NULL,
                cost_mc     BIGINT NOT NULL,
                byok        INTEGER NOT NULL,
                status      INTEGER NOT NULL,
                end_user    TEXT NULL,
                latency_ms  BIGINT NOT NULL,
                created_at  BIGINT NOT NULL
            );
            CREATE INDEX ix_usage_account_time ON usage_events(account_id, created_at);
            CREATE INDEX ix_usage_time ON usage_events(created_at);
            """),
        new(3, "monthly spend and per-account limit overrides", """
            ALTER TABLE accounts ADD COLUMN month_key INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE accounts ADD COLUMN month_spent_mc BIGINT NOT NULL DEFAULT 0;
            CREATE TABLE account_limits (
                account_id      TEXT PRIMARY KEY REFERENCES accounts(id),
                per_minute      INTEGER NULL,
                per_hour        INTEGER NULL,
                per_day         INTEGER NULL,
                per_month       INTEGER NULL,
                monthly_cap_mc  BIGINT NULL
            );
            """),
        new(4, "idempotency keys", """
            CREATE TABLE idempotency_keys (
                account_id    TEXT NOT NULL,
                key           TEXT NOT NULL,
                request_hash  TEXT NOT NULL,
                state         TEXT NOT NULL,
                status        INTEGER NULL,
                response      TEXT NULL,
                created_at    BIGINT NOT NULL,
                PRIMARY KEY (account_id, key)
            );
            CREATE INDEX ix_idempotency_created ON idempotency_keys(created_at);
            """),
        // Monthly spend is read from the account row now; this index only cost every insert.
        new(5, "drop ledger kind-time index", """
            DROP INDEX IF EXISTS ix_ledger_account_kind_time;
            """),
        // Only open holds are ever looked up by state; indexing the closed ones (nearly all of them)
        // cost every settle an index move and grew the index with the ledger.
        new(6, "index open reservations only", """
            DROP INDEX IF EXISTS ix_reservations_open;
            CREATE INDEX ix_reservations_open ON reservations(expires_at) WHERE state = 'open';
            """),
    ];
}
