namespace ImageGateway.Tests.Support;

/// <summary>
/// The base of test classes written once and run on each database kind: an abstract class of tests
/// derives from this one, and two sealed classes pick the kind. The <c>Sqlite…</c> class lives next
/// to the tests in this (fast) project; the <c>Postgres…</c> class lives in
/// ImageGateway.IntegrationTests, which runs against the PostgreSQL server scripts/test.sh starts.
/// Each test gets a fresh <see cref="Db"/> of <see cref="Kind"/>, or, for tests of the whole
/// gateway, puts a <see cref="GatewayFactory"/> on its own database of that kind with
/// <see cref="UseKindAsync"/>.
/// </summary>
public abstract class DualDatabaseTests : IAsyncLifetime
{
    private TempDatabase? _db;

    protected abstract DbKind Kind { get; }

    /// <summary>False for classes that run the whole gateway (<see cref="UseKindAsync"/>) and need no bare database.</summary>
    protected virtual bool CreatesDatabase => true;

    /// <summary>False to get <see cref="Db"/> before any migration has run.</summary>
    protected virtual bool Migrates => true;

    /// <summary>This test's database of <see cref="Kind"/>, created before the test and dropped after it.</summary>
    protected TempDatabase Db => _db ?? throw new InvalidOperationException($"{GetType().Name} has no database (not created yet, or {nameof(CreatesDatabase)} is false).");

    /// <summary>Whether <see cref="Db"/> was created (a skipped or failed set-up leaves none).</summary>
    protected bool HasDb => _db is not null;

    public virtual async Task InitializeAsync()
    {
        if (CreatesDatabase) _db = await TempDatabase.CreateAsync(Kind, Migrates);
    }

    public virtual async Task DisposeAsync()
    {
        if (_db is not null) await _db.DisposeAsync();
    }

    /// <summary>Runs <paramref name="gateway"/> on a fresh database of <see cref="Kind"/>; call before its first client.</summary>
    protected async Task UseKindAsync(GatewayFactory gateway)
    {
        if (Kind == DbKind.Postgres) await gateway.UsePostgresAsync();
        else gateway.Settings["Gateway:Database:Provider"] = "sqlite";
    }
}
