using System.Data;
using System.Data.Common;
using Npgsql;

namespace ImageGateway.Data;

/// <summary>
/// A PostgreSQL server shared by every gateway process. Writers run at READ COMMITTED: each ledger
/// operation starts with one conditional <c>UPDATE ... WHERE &lt;check&gt; RETURNING</c>, and
/// PostgreSQL takes the row lock and, if a concurrent writer changed the row meanwhile, re-checks
/// the WHERE clause against the committed row before updating. So two writers can never both pass
/// a balance check, without the serialization failures and retries SERIALIZABLE would bring.
/// </summary>
public sealed class PostgresDialect : IDbDialect, IDisposable, IAsyncDisposable
{
    // Any fixed 64-bit number: every gateway process migrating the same database takes this
    // transaction-scoped advisory lock, so concurrent starts apply each migration exactly once.
    private const long MigrationLockKey = 0x49_47_57_5F_4D_49_47; // "IGW_MIG"

    private readonly NpgsqlDataSource _source;

    public PostgresDialect(string connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
            throw new ArgumentException("A PostgreSQL connection string is required.", nameof(connectionString));
        _source = NpgsqlDataSource.Create(connectionString);
    }

    public string Name => "postgres";

    /// <summary>Other processes share the database, so an open hold at start-up may belong to a live one.</summary>
    public bool IsSingleProcess => false;

    public bool WritersRunInParallel => true;

    public string? MigrationLockSql => $"SELECT pg_advisory_xact_lock({MigrationLockKey})";

    /// <summary>None: each write is its own transaction, and concurrent ones commit in parallel on the server.</summary>
    public CommitCounters? GroupCommits => null;

    public DbConnection CreateConnection() => _source.CreateConnection();

    public async ValueTask<WriteScope> BeginWriteAsync(CancellationToken ct)
    {
        var connection = await _source.OpenConnectionAsync(ct);
        try
        {
            var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, ct);
            return new WriteScope(connection, transaction, null);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>One transaction per write: concurrent writers on other rows commit in parallel on the server.</summary>
    public async Task<T> WriteAsync<T>(Func<WriteScope, Task<T>> write, CancellationToken ct)
    {
        await using var scope = await BeginWriteAsync(ct);
        var result = await write(scope);
        await scope.CommitAsync(CancellationToken.None);
        return result;
    }

    public Task<T> WriteDeferredAsync<T>(Func<WriteScope, Task<T>> write, CancellationToken ct) => WriteAsync(write, ct);

    public Task FlushAsync() => Task.CompletedTask;

    public void Dispose() => _source.Dispose();

    public ValueTask DisposeAsync() => _source.DisposeAsync();

    // Every integer column is BIGINT, even those SQLite declares INTEGER: SQLite hands all of them
    // back as Int64, and Dapper maps rows onto records whose constructors take long, so an int4
    // column here would not bind. Flags stay integers (0/1), not BOOLEAN, so callers write
    // `enabled = 1` on both.
    public IReadOnlyList<Migration> Migrations { get; } =
        Schema.Migrations(new SchemaTypes(Integer: "BIGINT", SerialKey: "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"));
}
