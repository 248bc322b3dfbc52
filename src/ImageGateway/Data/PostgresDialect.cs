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

    public string? MigrationLockSql => $"SELECT pg_advisory_xact_lock({MigrationLockKey})";

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

    // The same versions as SqliteDialect. Every integer column is BIGINT, even those SQLite declares
    // INTEGER: SQLite hands all of them back as Int64, and Dapper maps rows onto records whose
    // constructors take long, so an int4 column here would not bind. Flags stay integers (0/1),
    // not BOOLEAN, so callers write `enabled = 1` on both.
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
                seq              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
                enabled     BIGINT NOT NULL,
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
                images      BIGINT NOT NULL,
                cost_mc     BIGINT NOT NULL,
                byok        BIGINT NOT NULL,
                status      BIGINT NOT NULL,
                end_user    TEXT NULL,
                latency_ms  BIGINT NOT NULL,
                created_at  BIGINT NOT NULL
            );
            CREATE INDEX ix_usage_account_time ON usage_events(account_id, created_at);
            CREATE INDEX ix_usage_time ON usage_events(created_at);
            """),
        new(3, "monthly spend and per-account limit overrides", """
            ALTER TABLE accounts ADD COLUMN month_key BIGINT NOT NULL DEFAULT 0;
            ALTER TABLE accounts ADD COLUMN month_spent_mc BIGINT NOT NULL DEFAULT 0;
            CREATE TABLE account_limits (
                account_id      TEXT PRIMARY KEY REFERENCES accounts(id),
                per_minute      BIGINT NULL,
                per_hour        BIGINT NULL,
                per_day         BIGINT NULL,
                per_month       BIGINT NULL,
                monthly_cap_mc  BIGINT NULL
            );
            """),
        new(4, "idempotency keys", """
            CREATE TABLE idempotency_keys (
                account_id    TEXT NOT NULL,
                key           TEXT NOT NULL,
                request_hash  TEXT NOT NULL,
                state         TEXT NOT NULL,
                status        BIGINT NULL,
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
        new(6, "index open reservations only", """
            DROP INDEX IF EXISTS ix_reservations_open;
            CREATE INDEX ix_reservations_open ON reservations(expires_at) WHERE state = 'open';
            """),
    ];
}
