using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace ImageGateway.Data;

public sealed class SqliteDialect : IDbDialect
{
    // SQLite has one writer at a time. Queueing writers here instead of letting them collide on
    // SQLITE_BUSY avoids the driver's sleep-and-retry loop, which costs whole milliseconds.
    private readonly SemaphoreSlim _writer = new(1, 1);
    private readonly string _connectionString;

    public SqliteDialect(string connectionString)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString)
        {
            Pooling = true,
            DefaultTimeout = 30,
        };
        _connectionString = builder.ToString();
    }

    public static SqliteDialect ForFile(string path) =>
        new(new SqliteConnectionStringBuilder { DataSource = path }.ToString());

    public string Name => "sqlite";

    public bool IsSingleProcess => true;

    // BEGIN IMMEDIATE takes the file's write lock, which already serializes concurrent migrators.
    public string? MigrationLockSql => null;

    public DbConnection CreateConnection() => new SqliteConnection(_connectionString);

    public async ValueTask<WriteScope> BeginWriteAsync(CancellationToken ct)
    {
        await _writer.WaitAsync(ct);
        DbConnection? connection = null;
        try
        {
            connection = CreateConnection();
            await connection.OpenAsync(ct);
            // BEGIN IMMEDIATE: takes the write lock up front, so a read inside the transaction
            // cannot be invalidated by another process's write before our own.
            var transaction = ((SqliteConnection)connection).BeginTransaction(deferred: false);
            return new WriteScope(connection, transaction, () => _writer.Release());
        }
        catch
        {
            if (connection is not null) await connection.DisposeAsync();
            _writer.Release();
            throw;
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
    ];
}
