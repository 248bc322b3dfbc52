using ImageGateway.Data;
using Microsoft.Extensions.Time.Testing;

namespace ImageGateway.Tests.Support;

/// <summary>A migrated SQLite database in its own temporary file, for data-layer tests without HTTP.</summary>
public sealed class TempDatabase : IAsyncDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "igw-db-tests", Guid.NewGuid().ToString("N"));

    private TempDatabase(FakeTimeProvider time)
    {
        Directory.CreateDirectory(_directory);
        Time = time;
        Database = new Database(SqliteDialect.ForFile(Path.Combine(_directory, "gateway.db")));
    }

    public Database Database { get; }
    public FakeTimeProvider Time { get; }

    public static async Task<TempDatabase> CreateAsync()
    {
        var db = new TempDatabase(new FakeTimeProvider(new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero)));
        await db.Database.MigrateAsync(db.Time);
        return db;
    }

    public ValueTask DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
        return ValueTask.CompletedTask;
    }
}
