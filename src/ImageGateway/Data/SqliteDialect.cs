using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace ImageGateway.Data;

/// <summary>
/// The embedded database: one file in the data folder, opened in WAL mode so readers never wait
/// for the writer. SQLite has one writer at a time, so writes are queued and committed in groups
/// (<see cref="SqliteGroupCommitter"/>) rather than one transaction per write.
/// </summary>
public sealed class SqliteDialect : IDbDialect, IAsyncDisposable
{
    private readonly string _connectionString;
    private readonly string _synchronous;
    private readonly int _pageSize;
    private bool _walEnabled; // used only by writers, which the committer runs one at a time
    private readonly SqliteGroupCommitter _committer;

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
        _committer = new SqliteGroupCommitter(this, flushDelay ?? DefaultFlushDelay);
    }

    public const int DefaultPageSize = 1024;

    public static SqliteDialect ForFile(string path, string synchronous = "NORMAL", int pageSize = DefaultPageSize) =>
        new(new SqliteConnectionStringBuilder { DataSource = path }.ToString(), synchronous, pageSize);

    public string Name => "sqlite";

    public IReadOnlyList<Migration> Migrations { get; } =
        Schema.Migrations(new SchemaTypes(Integer: "INTEGER", SerialKey: "INTEGER PRIMARY KEY AUTOINCREMENT"));

    public CommitCounters GroupCommits => _committer.Counters;

    public bool IsSingleProcess => true;

    public bool WritersRunInParallel => false;

    // BEGIN IMMEDIATE takes the file's write lock, which already serializes concurrent migrators.
    public string? MigrationLockSql => null;

    public DbConnection CreateConnection() => new SqliteConnection(_connectionString);

    public ValueTask<WriteScope> BeginWriteAsync(CancellationToken ct) => _committer.BeginWriteAsync(ct);

    /// <inheritdoc cref="SqliteGroupCommitter.WriteAsync{T}"/>
    public Task<T> WriteAsync<T>(Func<WriteScope, Task<T>> write, CancellationToken ct) => _committer.WriteAsync(write, ct);

    /// <inheritdoc cref="SqliteGroupCommitter.WriteDeferredAsync{T}"/>
    public Task<T> WriteDeferredAsync<T>(Func<WriteScope, Task<T>> write, CancellationToken ct) => _committer.WriteDeferredAsync(write, ct);

    public bool HasUncommittedWrites => _committer.HasUncommittedWrites;

    /// <inheritdoc cref="SqliteGroupCommitter.FlushAsync"/>
    public Task FlushAsync() => _committer.FlushAsync();

    /// <summary>Refuses new writes and waits for queued ones to commit.</summary>
    public ValueTask DisposeAsync() => _committer.DisposeAsync();

    /// <summary>
    /// The group committer's own connection, kept open between groups: no pool round trip per
    /// group, and a page cache big enough (64 MiB) to hold the hot index pages of a large ledger.
    /// </summary>
    internal async Task<SqliteConnection> OpenGroupConnectionAsync()
    {
        var connection = await OpenWriterAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA cache_size = -65536";
        await command.ExecuteNonQueryAsync();
        return connection;
    }

    internal async Task<SqliteConnection> OpenWriterAsync(CancellationToken ct)
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
}
