using System.Diagnostics;
using Dapper;
using ImageGateway.Accounts;
using ImageGateway.Billing;
using ImageGateway.Data;
using ImageGateway.Tests.Support;
using Microsoft.Data.Sqlite;

namespace ImageGateway.Tests.Data;

/// <summary>
/// SQLite group commit (<see cref="SqliteDialect.WriteAsync{T}"/>). Grouping is forced, not hoped
/// for: a first write holds the committer inside its transaction on a gate while the others queue
/// behind it, and the gate opens only once every other write is known to be queued.
/// </summary>
public sealed class GroupCommitTests : IAsyncLifetime
{
    private static readonly TimeSpan Hold = TimeSpan.FromMinutes(15);

    private TempDatabase _db = null!;

    public async Task InitializeAsync()
    {
        _db = await TempDatabase.CreateAsync(DbKind.Sqlite);
        await _db.Database.WriteAsync(async s =>
            await s.Connection.ExecuteAsync("CREATE TABLE items (id INTEGER PRIMARY KEY, v TEXT NOT NULL)", transaction: s.Transaction));
    }

    public async Task DisposeAsync()
    {
        if (_db is not null)
        {
            await ((SqliteDialect)_db.Dialect).DisposeAsync();
            await _db.DisposeAsync();
        }
    }

    private SqliteDialect Dialect => (SqliteDialect)_db.Dialect;

    private static Millicredits C(decimal credits) => Millicredits.FromCredits(credits);

    private Task<int> InsertAsync(long id, string v = "x", CancellationToken ct = default) =>
        _db.Database.WriteAsync(s => s.ExecuteAsync("INSERT INTO items (id, v) VALUES (@id, @v)", ("@id", id), ("@v", v)), ct);

    private async Task<long[]> ItemIdsAsync() =>
        (await _db.Database.ReadAsync(c => c.QueryAsync<long>("SELECT id FROM items ORDER BY id"))).ToArray();

    /// <summary>
    /// Starts a write that inserts <paramref name="id"/> and then waits for the returned gate, once
    /// the committer is running it inside its transaction: every write started after this queues.
    /// </summary>
    private async Task<(Task<int> Held, TaskCompletionSource Gate)> HoldCommitterAsync(long id)
    {
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = _db.Database.WriteAsync(async s =>
        {
            var n = await s.ExecuteAsync("INSERT INTO items (id, v) VALUES (@id, @v)", ("@id", id), ("@v", "gate"));
            entered.TrySetResult();
            await gate.Task;
            return n;
        });
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(30));
        return (held, gate);
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(30)) throw new TimeoutException($"timed out waiting for {what}");
            await Task.Delay(5);
        }
    }

    [Fact]
    public async Task Many_concurrent_writes_all_commit_in_fewer_groups_than_writes()
    {
        const int Writers = 200;
        var groupsBefore = Dialect.GroupCommits.Groups;
        var writesBefore = Dialect.GroupCommits.Writes;
        var (held, gate) = await HoldCommitterAsync(0);

        var queued = 0;
        var tasks = Enumerable.Range(1, Writers).Select(i => Task.Run(async () =>
        {
            // WriteAsync enqueues before it first yields, so the write is queued once the call returns.
            var write = InsertAsync(i, $"v{i}");
            Interlocked.Increment(ref queued);
            return await write;
        })).ToArray();
        await WaitUntilAsync(() => Volatile.Read(ref queued) == Writers, "every writer to queue");

        // Nothing is returned, or visible to a reader, before the commit.
        Assert.DoesNotContain(tasks, t => t.IsCompleted);
        Assert.False(held.IsCompleted);
        Assert.Empty(await ItemIdsAsync());

        gate.SetResult();
        Assert.Equal(1, await held);
        Assert.All(await Task.WhenAll(tasks), n => Assert.Equal(1, n));

        Assert.Equal(Enumerable.Range(0, Writers + 1).Select(i => (long)i), await ItemIdsAsync());
        var values = await _db.Database.ReadAsync(c => c.QueryAsync<(long Id, string V)>("SELECT id, v FROM items WHERE id > 0"));
        Assert.All(values, row => Assert.Equal($"v{row.Id}", row.V));

        var groups = Dialect.GroupCommits.Groups - groupsBefore;
        var writes = Dialect.GroupCommits.Writes - writesBefore;
        Assert.Equal(Writers + 1, writes);
        Assert.True(writes > groups, $"{writes} writes in {groups} groups: nothing was grouped");
        // The held write alone, then the 200 queued in as few groups as the group size allows.
        Assert.InRange(groups, 2, 10);
    }

    [Fact]
    public async Task A_write_that_throws_in_a_group_is_rolled_back_alone_and_its_caller_gets_the_exception()
    {
        var groupsBefore = Dialect.GroupCommits.Groups;
        var writesBefore = Dialect.GroupCommits.Writes;
        var (held, gate) = await HoldCommitterAsync(0);

        var boom = new InvalidOperationException("boom");
        var first = InsertAsync(1);
        var throws = _db.Database.WriteAsync<int>(async s =>
        {
            await s.ExecuteAsync("INSERT INTO items (id, v) VALUES (@id, @v)", ("@id", 2L), ("@v", "x"));
            await s.ExecuteAsync("INSERT INTO items (id, v) VALUES (@id, @v)", ("@id", 3L), ("@v", "x"));
            throw boom;
        });
        // Sees row 1 written just before it in the same transaction, so violates the primary key.
        var duplicate = _db.Database.WriteAsync(async s =>
        {
            await s.ExecuteAsync("INSERT INTO items (id, v) VALUES (@id, @v)", ("@id", 4L), ("@v", "x"));
            return await s.ExecuteAsync("INSERT INTO items (id, v) VALUES (@id, @v)", ("@id", 1L), ("@v", "again"));
        });
        var last = InsertAsync(5);
        Assert.False(first.IsCompleted || throws.IsCompleted || duplicate.IsCompleted || last.IsCompleted);

        gate.SetResult();
        await held;
        Assert.Equal(1, await first);
        Assert.Same(boom, await Assert.ThrowsAsync<InvalidOperationException>(() => throws));
        var constraint = await Assert.ThrowsAsync<SqliteException>(() => duplicate);
        Assert.Equal(19, constraint.SqliteErrorCode); // SQLITE_CONSTRAINT
        Assert.Equal(1, await last);

        Assert.Equal(new long[] { 0, 1, 5 }, await ItemIdsAsync());
        Assert.Equal("x", await _db.Database.ReadAsync(c => c.QuerySingleAsync<string>("SELECT v FROM items WHERE id = 1")));
        // The held write's group, then one group of the four queued writes with two of them committed.
        Assert.Equal(2, Dialect.GroupCommits.Groups - groupsBefore);
        Assert.Equal(3, Dialect.GroupCommits.Writes - writesBefore);

        // The writer connection is fine afterwards.
        Assert.Equal(1, await InsertAsync(6));
        Assert.Equal(new long[] { 0, 1, 5, 6 }, await ItemIdsAsync());
    }

    [Fact]
    public async Task A_lone_write_that_throws_leaves_nothing_and_the_next_write_commits()
    {
        var writesBefore = Dialect.GroupCommits.Writes;
        var boom = new InvalidOperationException("alone");
        var thrown = await Assert.ThrowsAsync<InvalidOperationException>(() => _db.Database.WriteAsync<int>(async s =>
        {
            await s.ExecuteAsync("INSERT INTO items (id, v) VALUES (@id, @v)", ("@id", 1L), ("@v", "x"));
            throw boom;
        }));
        Assert.Same(boom, thrown);
        Assert.Empty(await ItemIdsAsync());
        Assert.Equal(writesBefore, Dialect.GroupCommits.Writes);

        Assert.Equal(1, await InsertAsync(1));
        Assert.Equal(new long[] { 1 }, await ItemIdsAsync());
    }

    [Fact]
    public async Task A_queued_write_canceled_before_its_group_starts_never_runs()
    {
        var (held, gate) = await HoldCommitterAsync(0);
        using var cts = new CancellationTokenSource();
        var ran = false;
        var canceled = _db.Database.WriteAsync(async s =>
        {
            ran = true;
            return await s.ExecuteAsync("INSERT INTO items (id, v) VALUES (@id, @v)", ("@id", 1L), ("@v", "x"));
        }, cts.Token);
        var other = InsertAsync(2);
        cts.Cancel();

        gate.SetResult();
        await held;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => canceled);
        Assert.Equal(1, await other);
        Assert.False(ran);
        Assert.Equal(new long[] { 0, 2 }, await ItemIdsAsync());
    }

    [Fact]
    public async Task Concurrent_grouped_reserves_and_settles_keep_the_ledger_sound()
    {
        var accounts = new AccountStore(_db.Database, _db.Time);
        var ledger = new CreditLedger(_db.Database, _db.Time);
        var id = (await accounts.CreateAccountAsync("grouped", "managed")).Id;
        Assert.NotNull(await ledger.AdjustAsync(id, C(37m), LedgerKind.Grant, "initial grant"));

        // 100 reserves of 1 credit on 37, all in groups behind a held write.
        var groupsBefore = Dialect.GroupCommits.Groups;
        var writesBefore = Dialect.GroupCommits.Writes;
        var (held, gate) = await HoldCommitterAsync(0);
        var queued = 0;
        var reserves = Enumerable.Range(0, 100).Select(_ => Task.Run(async () =>
        {
            var reserve = ledger.ReserveAsync(id, C(1m), Hold, "grouped");
            Interlocked.Increment(ref queued);
            return await reserve;
        })).ToArray();
        await WaitUntilAsync(() => Volatile.Read(ref queued) == 100, "every reserve to queue");
        gate.SetResult();
        await held;
        var outcomes = await Task.WhenAll(reserves);

        Assert.Equal(37, outcomes.Count(o => o.Succeeded));
        Assert.All(outcomes.Where(o => !o.Succeeded), o => Assert.Equal(ReserveRefusal.InsufficientCredits, o.Refusal));
        Assert.Equal(37, outcomes.Where(o => o.Succeeded).Select(o => o.Reservation!.Id).Distinct().Count());
        Assert.Equal(new Balance(C(37m), C(37m)), await ledger.GetBalanceAsync(id));
        Assert.True(Dialect.GroupCommits.Groups - groupsBefore < Dialect.GroupCommits.Writes - writesBefore, "the reserves were not grouped");
        Assert.Empty(await ledger.VerifyAsync(id));

        // Settle every hold twice in the same groups: the first of each pair charges (or releases),
        // the second fails with ReservationClosedException and is rolled back alone.
        var held2 = await HoldCommitterAsync(-1);
        var reservations = outcomes.Where(o => o.Succeeded).Select(o => o.Reservation!).ToArray();
        queued = 0;
        var settles = reservations.SelectMany((r, i) => new[] { i, i }.Select(_ => Task.Run(async () =>
        {
            // Every third hold is released (settled at zero), the others charged half.
            var settle = ledger.SettleAsync(r, i % 3 == 0 ? Millicredits.Zero : C(0.5m), "grouped");
            Interlocked.Increment(ref queued);
            try
            {
                return (Settled: true, Charged: (await settle).Charged);
            }
            catch (ReservationClosedException)
            {
                return (Settled: false, Charged: Millicredits.Zero);
            }
        }))).ToArray();
        await WaitUntilAsync(() => Volatile.Read(ref queued) == 2 * reservations.Length, "every settle to queue");
        held2.Gate.SetResult();
        await held2.Held;
        var results = await Task.WhenAll(settles);

        Assert.Equal(37, results.Count(r => r.Settled));
        Assert.Equal(37, results.Count(r => !r.Settled));
        var released = Enumerable.Range(0, 37).Count(i => i % 3 == 0);
        var charged = C(0.5m * (37 - released));
        Assert.Equal(charged, results.Aggregate(Millicredits.Zero, (sum, r) => sum + r.Charged));
        Assert.Equal(new Balance(C(37m) - charged, Millicredits.Zero), await ledger.GetBalanceAsync(id));
        Assert.Equal(charged, await ledger.MonthSpentAsync(id));
        Assert.Equal(1 + 37 + 37, (await ledger.HistoryAsync(id, 1, 0)).Total);
        Assert.Empty(await ledger.VerifyAsync(id));
    }

    [Fact]
    public async Task The_file_is_in_wal_mode_after_the_first_write_and_writes_use_the_configured_synchronous()
    {
        await using var fresh = await TempDatabase.CreateAsync(DbKind.Sqlite, migrate: false);
        var freshDialect = (SqliteDialect)fresh.Dialect;
        try
        {
            Assert.Equal("delete", await fresh.Database.ReadAsync(c => c.ExecuteScalarAsync<string>("PRAGMA journal_mode")));

            var synchronous = await fresh.Database.WriteAsync(async s =>
            {
                await s.Connection.ExecuteAsync("CREATE TABLE t (id INTEGER PRIMARY KEY)", transaction: s.Transaction);
                return await s.Connection.ExecuteScalarAsync<long>("PRAGMA synchronous", transaction: s.Transaction);
            });

            Assert.Equal(1, synchronous); // NORMAL
            Assert.Equal("wal", await fresh.Database.ReadAsync(c => c.ExecuteScalarAsync<string>("PRAGMA journal_mode")));
            // Persistent in the file: another process opening it sees WAL too.
            var other = fresh.OpenAnother();
            Assert.Equal("wal", await other.ReadAsync(c => c.ExecuteScalarAsync<string>("PRAGMA journal_mode")));
            await ((SqliteDialect)other.Dialect).DisposeAsync();
        }
        finally
        {
            await freshDialect.DisposeAsync();
        }
    }

    [Fact]
    public async Task Synchronous_full_applies_to_writes_and_an_unknown_value_is_refused()
    {
        var directory = Path.Combine(Path.GetTempPath(), "igw-db-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var dialect = SqliteDialect.ForFile(Path.Combine(directory, "full.db"), "full");
        try
        {
            var db = new Database(dialect);
            Assert.Equal(2, await db.WriteAsync(s => s.Connection.ExecuteScalarAsync<long>("PRAGMA synchronous", transaction: s.Transaction)));
        }
        finally
        {
            await dialect.DisposeAsync();
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
        }
        Assert.Throws<ArgumentException>(() => SqliteDialect.ForFile(Path.Combine(directory, "x.db"), "sometimes"));
    }

    [Fact]
    public async Task A_new_file_gets_the_configured_page_size_and_an_existing_file_keeps_its_own()
    {
        var directory = Path.Combine(Path.GetTempPath(), "igw-db-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "pages.db");
        try
        {
            Assert.Equal(1024, await PageSizeAfterAWriteAsync(SqliteDialect.ForFile(path)));
            // Asking for another size later changes nothing: the file has tables and is in WAL mode.
            Assert.Equal(1024, await PageSizeAfterAWriteAsync(SqliteDialect.ForFile(path, pageSize: 8192)));
            Assert.Equal(4096, await PageSizeAfterAWriteAsync(SqliteDialect.ForFile(Path.Combine(directory, "big.db"), pageSize: 4096)));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
        }
        Assert.Throws<ArgumentException>(() => SqliteDialect.ForFile(path, pageSize: 1000));
        Assert.Throws<ArgumentException>(() => SqliteDialect.ForFile(path, pageSize: 256));

        static async Task<long> PageSizeAfterAWriteAsync(SqliteDialect dialect)
        {
            try
            {
                var db = new Database(dialect);
                await db.WriteAsync(s => s.Connection.ExecuteAsync("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY)", transaction: s.Transaction));
                return await db.ReadAsync(c => c.ExecuteScalarAsync<long>("PRAGMA page_size"));
            }
            finally
            {
                await dialect.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Only_open_reservations_are_in_the_state_index_and_the_sweeper_query_uses_it()
    {
        await using var migrated = await TempDatabase.CreateAsync(DbKind.Sqlite);
        var ledger = new CreditLedger(migrated.Database, TimeProvider.System);
        var id = (await new AccountStore(migrated.Database, TimeProvider.System).CreateAccountAsync("idx", "managed")).Id;
        await ledger.AdjustAsync(id, C(100), LedgerKind.Grant, null);
        var settled = (await ledger.ReserveAsync(id, C(10), Hold, null)).Reservation!;
        await ledger.SettleAsync(settled, C(10), null);
        var open = (await ledger.ReserveAsync(id, C(5), Hold, null)).Reservation!;

        var plan = await migrated.Database.ReadAsync(async c => (await c.QueryAsync(
            "EXPLAIN QUERY PLAN SELECT id FROM reservations WHERE state = 'open' AND expires_at < 1")).Select(row => (string)row.detail).ToArray());
        Assert.Contains(plan, d => d.Contains("ix_reservations_open", StringComparison.Ordinal));
        var indexed = await migrated.Database.ReadAsync(c => c.QueryAsync<string>(
            "SELECT id FROM reservations INDEXED BY ix_reservations_open WHERE state = 'open' AND expires_at > 0"));
        Assert.Equal([open.Id], indexed);
        await ((SqliteDialect)migrated.Dialect).DisposeAsync();
    }

    /// <summary>
    /// A dialect on its own file with an <c>items</c> table, whose deferred writes wait
    /// <paramref name="flushDelay"/> for another commit, and a plain connection on the same file
    /// that sees only what is committed (as a second process would).
    /// </summary>
    private static async Task<DeferredFixture> DeferredAsync(TimeSpan flushDelay)
    {
        var directory = Path.Combine(Path.GetTempPath(), "igw-db-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "deferred.db");
        var dialect = new SqliteDialect(new SqliteConnectionStringBuilder { DataSource = path }.ToString(), flushDelay: flushDelay);
        var database = new Database(dialect);
        await database.WriteAsync(s =>
            s.Connection.ExecuteAsync("CREATE TABLE items (id INTEGER PRIMARY KEY, v TEXT NOT NULL)", transaction: s.Transaction));
        return new DeferredFixture(directory, path, dialect, database);
    }

    private sealed record DeferredFixture(string Directory, string Path, SqliteDialect Dialect, Database Database) : IAsyncDisposable
    {
        public Task<int> InsertDeferredAsync(long id) =>
            Database.WriteDeferredAsync(s => s.ExecuteAsync("INSERT INTO items (id, v) VALUES (@id, @v)", ("@id", id), ("@v", "deferred")));

        /// <summary>The committer's counters: groups committed, and the writes in them.</summary>
        public (long Groups, long Writes) Counters => (Dialect.GroupCommits.Groups, Dialect.GroupCommits.Writes);

        public Task<int> InsertAsync(long id) =>
            Database.WriteAsync(s => s.ExecuteAsync("INSERT INTO items (id, v) VALUES (@id, @v)", ("@id", id), ("@v", "x")));

        /// <summary>What another process sees: committed rows only.</summary>
        public async Task<long[]> CommittedIdsAsync()
        {
            await using var connection = new SqliteConnection($"Data Source={Path};Pooling=False");
            await connection.OpenAsync();
            return (await connection.QueryAsync<long>("SELECT id FROM items ORDER BY id")).ToArray();
        }

        public async ValueTask DisposeAsync()
        {
            await Dialect.DisposeAsync();
            SqliteConnection.ClearAllPools();
            try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task A_deferred_write_returns_before_its_commit_and_the_next_committing_write_commits_both_at_once()
    {
        await using var f = await DeferredAsync(TimeSpan.FromMinutes(10));
        var groupsBefore = f.Dialect.GroupCommits.Groups;
        var writesBefore = f.Dialect.GroupCommits.Writes;

        Assert.Equal(1, await f.InsertDeferredAsync(1));
        Assert.Equal(1, await f.InsertDeferredAsync(2));
        Assert.True(f.Dialect.HasUncommittedWrites);
        Assert.Empty(await f.CommittedIdsAsync());
        Assert.Equal(groupsBefore, f.Dialect.GroupCommits.Groups);

        // A later write sees them (one writer connection): this one fails on their primary key.
        var duplicate = await Assert.ThrowsAsync<SqliteException>(() => f.InsertAsync(2));
        Assert.Equal(19, duplicate.SqliteErrorCode);
        // Rolled back to its savepoint alone: the deferred writes are still there, still uncommitted.
        Assert.True(f.Dialect.HasUncommittedWrites);
        Assert.Empty(await f.CommittedIdsAsync());

        Assert.Equal(1, await f.InsertAsync(3));
        Assert.False(f.Dialect.HasUncommittedWrites);
        Assert.Equal(new long[] { 1, 2, 3 }, await f.CommittedIdsAsync());
        Assert.Equal(groupsBefore + 1, f.Dialect.GroupCommits.Groups);
        Assert.Equal(writesBefore + 3, f.Dialect.GroupCommits.Writes);
    }

    [Fact]
    public async Task A_read_through_the_database_sees_a_deferred_write_by_committing_it_first()
    {
        await using var f = await DeferredAsync(TimeSpan.FromMinutes(10));
        await f.InsertDeferredAsync(7);
        Assert.Empty(await f.CommittedIdsAsync());

        Assert.Equal(new long[] { 7 }, await f.Database.ReadAsync(c => c.QueryAsync<long>("SELECT id FROM items")));
        Assert.False(f.Dialect.HasUncommittedWrites);
        Assert.Equal(new long[] { 7 }, await f.CommittedIdsAsync());
    }

    [Fact]
    public async Task A_deferred_write_with_nothing_after_it_is_committed_by_the_timer()
    {
        await using var f = await DeferredAsync(TimeSpan.FromMilliseconds(20));
        var groupsBefore = f.Dialect.GroupCommits.Groups;
        await f.InsertDeferredAsync(1);
        await WaitUntilAsync(() => !f.Dialect.HasUncommittedWrites, "the timer to commit the deferred write");
        Assert.Equal(new long[] { 1 }, await f.CommittedIdsAsync());
        Assert.Equal(groupsBefore + 1, f.Dialect.GroupCommits.Groups);
    }

    [Fact]
    public async Task A_flush_counts_the_deferred_writes_it_commits_and_not_itself()
    {
        await using var f = await DeferredAsync(TimeSpan.FromMinutes(10));
        var before = f.Counters;
        await f.InsertDeferredAsync(1);
        await f.InsertDeferredAsync(2);

        await f.Dialect.FlushAsync();
        Assert.Equal(new long[] { 1, 2 }, await f.CommittedIdsAsync());
        Assert.Equal((before.Groups + 1, before.Writes + 2), f.Counters);
    }

    [Fact]
    public async Task A_flush_that_finds_its_writes_already_committed_by_another_group_counts_nothing()
    {
        await using var f = await DeferredAsync(TimeSpan.FromMinutes(10));
        await f.InsertDeferredAsync(1);
        var before = f.Counters;

        // A committing write holds the committer while the flush queues up behind it.
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var committing = f.Database.WriteAsync(async s =>
        {
            await gate.Task;
            return await s.ExecuteAsync("INSERT INTO items (id, v) VALUES (@id, @v)", ("@id", 2L), ("@v", "x"));
        });
        Assert.True(f.Dialect.HasUncommittedWrites);
        var flush = f.Dialect.FlushAsync();
        Assert.False(flush.IsCompleted);
        gate.SetResult();
        await committing;
        await flush;

        // The committing write's group carried the deferred write; the flush then committed nothing.
        Assert.Equal(new long[] { 1, 2 }, await f.CommittedIdsAsync());
        Assert.Equal((before.Groups + 1, before.Writes + 2), f.Counters);
    }

    [Fact]
    public async Task A_lone_deferred_write_that_throws_leaves_nothing_and_earlier_deferred_writes_survive_a_later_one_that_throws()
    {
        await using var f = await DeferredAsync(TimeSpan.FromMinutes(10));
        var boom = new InvalidOperationException("boom");
        Task<int> Throwing(long id) => f.Database.WriteDeferredAsync<int>(async s =>
        {
            await s.ExecuteAsync("INSERT INTO items (id, v) VALUES (@id, @v)", ("@id", id), ("@v", "x"));
            throw boom;
        });

        Assert.Same(boom, await Assert.ThrowsAsync<InvalidOperationException>(() => Throwing(1)));
        Assert.False(f.Dialect.HasUncommittedWrites);
        await f.InsertDeferredAsync(2);
        Assert.Same(boom, await Assert.ThrowsAsync<InvalidOperationException>(() => Throwing(3)));
        await f.Dialect.FlushAsync();
        Assert.Equal(new long[] { 2 }, await f.CommittedIdsAsync());
    }

    [Fact]
    public async Task A_write_transaction_of_its_own_commits_the_deferred_writes_first_instead_of_waiting_on_their_lock()
    {
        await using var f = await DeferredAsync(TimeSpan.FromMinutes(10));
        await f.InsertDeferredAsync(1);
        // BeginWriteAsync opens a second connection (migrations); the open transaction would hold
        // the file's write lock against it until SQLite's 30 s busy timeout.
        var began = f.Dialect.BeginWriteAsync(CancellationToken.None).AsTask();
        await using (var scope = await began.WaitAsync(TimeSpan.FromSeconds(10)))
        {
            await scope.Connection.ExecuteAsync("INSERT INTO items (id, v) VALUES (2, 'own')", transaction: scope.Transaction);
            await scope.CommitAsync();
        }
        Assert.Equal(new long[] { 1, 2 }, await f.CommittedIdsAsync());
    }

    [Fact]
    public async Task Disposing_the_dialect_commits_deferred_writes()
    {
        var f = await DeferredAsync(TimeSpan.FromMinutes(10));
        await using (f)
        {
            await f.InsertDeferredAsync(1);
            await f.Dialect.DisposeAsync();
            Assert.Equal(new long[] { 1 }, await f.CommittedIdsAsync());
        }
    }
}
