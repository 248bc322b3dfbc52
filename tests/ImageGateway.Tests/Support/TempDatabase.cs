using ImageGateway.Data;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace ImageGateway.Tests.Support;

/// <summary>The databases the data layer runs on; data-layer tests run against each.</summary>
public enum DbKind { Sqlite, Postgres }

/// <summary>
/// A migrated database of the given kind, for data-layer tests without HTTP: SQLite in its own
/// temporary file, or PostgreSQL in a fresh database on the shared test server (skipped without it).
/// </summary>
public sealed class TempDatabase : IAsyncDisposable
{
    private readonly string? _directory;
    private readonly PostgresTestDatabase? _postgres;

    private TempDatabase(IDbDialect dialect, string? directory, PostgresTestDatabase? postgres)
    {
        _directory = directory;
        _postgres = postgres;
        Dialect = dialect;
        Database = new Database(dialect);
    }

    public DbKind Kind => _postgres is null ? DbKind.Sqlite : DbKind.Postgres;
    public IDbDialect Dialect { get; }
    public Database Database { get; }
    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero));

    /// <summary>A second, independent <see cref="ImageGateway.Data.Database"/> on the same data, as another process would open it.</summary>
    public Database OpenAnother() => new(_postgres is not null
        ? new PostgresDialect(_postgres.ConnectionString)
        : SqliteDialect.ForFile(Path.Combine(_directory!, "gateway.db")));

    public static async Task<TempDatabase> CreateAsync(DbKind kind = DbKind.Sqlite, bool migrate = true)
    {
        TempDatabase db;
        if (kind == DbKind.Postgres)
        {
            var postgres = await PostgresTestDatabase.CreateAsync();
            db = new TempDatabase(new PostgresDialect(postgres.ConnectionString), null, postgres);
        }
        else
        {
            var directory = Path.Combine(Path.GetTempPath(), "igw-db-tests", Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(directory);
            db = new TempDatabase(SqliteDialect.ForFile(Path.Combine(directory, "gateway.db")), directory, null);
        }
        if (migrate) await db.Database.MigrateAsync(db.Time);
        return db;
    }

    public async ValueTask DisposeAsync()
    {
        if (_postgres is not null)
        {
            if (Dialect is IAsyncDisposable disposable) await disposable.DisposeAsync();
            await _postgres.DisposeAsync();
            return;
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_directory!, recursive: true); } catch (IOException) { }
    }
}

/// <summary>
/// A fresh, uniquely named database on the PostgreSQL server of <see cref="TestServices.Postgres"/>
/// (other test runs share the server), dropped on dispose. Skips the test when the server is absent.
/// </summary>
public sealed class PostgresTestDatabase : IAsyncDisposable
{
    private readonly string _serverConnectionString;

    private PostgresTestDatabase(string serverConnectionString, string name)
    {
        _serverConnectionString = serverConnectionString;
        Name = name;
        ConnectionString = new NpgsqlConnectionStringBuilder(serverConnectionString) { Database = name }.ToString();
    }

    public string Name { get; }

    /// <summary>Connects to this database only.</summary>
    public string ConnectionString { get; }

    public static async Task<PostgresTestDatabase> CreateAsync()
    {
        var server = TestServices.Postgres;
        var name = "igw_test_" + Guid.NewGuid().ToString("N");
        await using (var connection = new NpgsqlConnection(server))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await create.ExecuteNonQueryAsync();
        }
        return new PostgresTestDatabase(server, name);
    }

    public async ValueTask DisposeAsync()
    {
        // A pooled connection left open to the database would block DROP DATABASE; FORCE ends it.
        await using var connection = new NpgsqlConnection(_serverConnectionString);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{Name}\" WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync();
    }
}
