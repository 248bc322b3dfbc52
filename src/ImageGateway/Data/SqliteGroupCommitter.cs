using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace ImageGateway.Data;

/// <summary>
/// SQLite's one writer: writes are queued and committed in groups, on one long-lived connection,
/// rather than one transaction per write. Queueing writers here instead of letting them collide
/// on SQLITE_BUSY avoids the driver's sleep-and-retry loop, which costs whole milliseconds.
/// </summary>
internal sealed class SqliteGroupCommitter : IAsyncDisposable
{
    /// <summary>The most writes one group commit takes from the queue.</summary>
    private const int MaxGroup = 128;

    private readonly SqliteDialect _dialect;
    private readonly SemaphoreSlim _writer = new(1, 1); // migrations take it too
    private readonly Queue<PendingWrite> _queue = new(); // guarded by lock (_queue), as are the two flags below
    private bool _committing;
    private bool _disposed;
    private SqliteConnection? _groupConnection; // these four are used only under _writer
    private readonly Dictionary<string, DbCommand> _groupCommands = new(StringComparer.Ordinal);
    private SqliteTransaction? _uncommitted; // the group connection's open transaction, and the writes in it
    private int _uncommittedWrites;
    private volatile bool _hasUncommitted; // deferred writes wait in _uncommitted between groups; read without the lock
    private readonly SqliteFlushTimer _flushTimer;

    /// <param name="dialect">Opens the connections, set up for writing.</param>
    /// <param name="flushDelay">The longest a deferred write waits for another commit.</param>
    public SqliteGroupCommitter(SqliteDialect dialect, TimeSpan flushDelay)
    {
        _dialect = dialect;
        _flushTimer = new SqliteFlushTimer(this, flushDelay);
    }

    public CommitCounters Counters { get; } = new();

    public bool HasUncommittedWrites => _hasUncommitted;

    /// <summary>A write transaction of its own, outside the groups, that holds the writer until it is disposed (migrations).</summary>
    public async ValueTask<WriteScope> BeginWriteAsync(CancellationToken ct)
    {
        await _writer.WaitAsync(ct);
        SqliteConnection? connection = null;
        try
        {
            // The group connection's open transaction holds the file's write lock.
            await CommitUncommittedAsync();
            connection = await _dialect.OpenWriterAsync(ct);
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
    /// the ledger's conditional UPDATEs keep their guarantees. What changes is that concurrent
    /// requests share one commit instead of queueing for one each, and that a lone writer commits
    /// on its own thread without waking another.
    /// </summary>
    public Task<T> WriteAsync<T>(Func<WriteScope, Task<T>> write, CancellationToken ct) => EnqueueAsync(write, deferred: false, counted: true, ct);

    /// <summary>
    /// A write that returns as soon as it has run, before it is committed. A group made only of
    /// deferred writes leaves its transaction open; the next group that holds a committing write
    /// (or <see cref="FlushAsync"/>, called by every read through <see cref="Database"/> and by a
    /// timer at most <see cref="SqliteDialect.DefaultFlushDelay"/> later) commits it with its own.
    /// Every later write sees it, since there is one writer connection; a crash before that commit
    /// loses it whole, as if it had never run.
    /// </summary>
    public Task<T> WriteDeferredAsync<T>(Func<WriteScope, Task<T>> write, CancellationToken ct) => EnqueueAsync(write, deferred: true, counted: true, ct);

    /// <summary>
    /// Commits deferred writes still left open; done at once when there are none. The flush itself
    /// is an empty write that is not counted in <see cref="Counters"/>, and neither is a commit that
    /// carries no counted write (another group got there first).
    /// </summary>
    public Task FlushAsync() => _hasUncommitted
        ? EnqueueAsync(static _ => Task.FromResult(0), deferred: false, counted: false, CancellationToken.None)
        : Task.CompletedTask;

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
            var connection = _groupConnection ??= await _dialect.OpenGroupConnectionAsync();
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
                _flushTimer.Start();
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
        if (commit && writes > 0) Counters.Add(writes);
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
}
