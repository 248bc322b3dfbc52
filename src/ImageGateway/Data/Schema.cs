namespace ImageGateway.Data;

/// <summary>The column types the engines spell differently; everything else in <see cref="Schema"/> is shared.</summary>
/// <param name="Integer">A whole number that is not money or a time (those are BIGINT everywhere): counts, flags, statuses.</param>
/// <param name="SerialKey">An auto-incrementing 64-bit primary key, with its PRIMARY KEY clause.</param>
public sealed record SchemaTypes(string Integer, string SerialKey);

/// <summary>
/// The schema's history, one list for every engine: each dialect applies it with its own
/// <see cref="SchemaTypes"/>. A version is never changed once released, since databases record
/// the versions they have applied; a change to the schema is a new version at the end.
/// </summary>
public static class Schema
{
    public static IReadOnlyList<Migration> Migrations(SchemaTypes t) =>
    [
        new(1, "core schema", $"""
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
                seq              {t.SerialKey},
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
        new(2, "byok keys and usage", $"""
            CREATE TABLE byok_keys (
                id          TEXT PRIMARY KEY,
                account_id  TEXT NOT NULL REFERENCES accounts(id),
                provider    TEXT NOT NULL,
                secret      TEXT NOT NULL,
                masked_key  TEXT NOT NULL,
                enabled     {t.Integer} NOT NULL,
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
                images      {t.Integer} NOT NULL,
                cost_mc     BIGINT NOT NULL,
                byok        {t.Integer} NOT NULL,
                status      {t.Integer} NOT NULL,
                end_user    TEXT NULL,
                latency_ms  BIGINT NOT NULL,
                created_at  BIGINT NOT NULL
            );
            CREATE INDEX ix_usage_account_time ON usage_events(account_id, created_at);
            CREATE INDEX ix_usage_time ON usage_events(created_at);
            """),
        new(3, "monthly spend and per-account limit overrides", $"""
            ALTER TABLE accounts ADD COLUMN month_key {t.Integer} NOT NULL DEFAULT 0;
            ALTER TABLE accounts ADD COLUMN month_spent_mc BIGINT NOT NULL DEFAULT 0;
            CREATE TABLE account_limits (
                account_id      TEXT PRIMARY KEY REFERENCES accounts(id),
                per_minute      {t.Integer} NULL,
                per_hour        {t.Integer} NULL,
                per_day         {t.Integer} NULL,
                per_month       {t.Integer} NULL,
                monthly_cap_mc  BIGINT NULL
            );
            """),
        new(4, "idempotency keys", $"""
            CREATE TABLE idempotency_keys (
                account_id    TEXT NOT NULL,
                key           TEXT NOT NULL,
                request_hash  TEXT NOT NULL,
                state         TEXT NOT NULL,
                status        {t.Integer} NULL,
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
        // A token-priced charge can exceed its hold; what the balance could not cover is written off (DESIGN §12.4).
        new(7, "written-off amounts", """
            ALTER TABLE ledger_entries ADD COLUMN written_off_mc BIGINT NOT NULL DEFAULT 0;
            """),
        // What the upstream said a request cost (BFL's cost, a configured Replicate rate), in millionths of a dollar.
        new(8, "upstream cost", """
            ALTER TABLE usage_events ADD COLUMN upstream_cost_musd BIGINT NULL;
            """),
        // An operator can suspend an account: its keys are refused (403) until it is unsuspended.
        new(9, "suspended accounts", """
            ALTER TABLE accounts ADD COLUMN suspended_at BIGINT NULL;
            """),
        // The caller's own record of their requests (the console's history and activity). Apart from
        // usage_events, which is the billing record: a user may delete this one, never that one.
        new(10, "generation history", $"""
            CREATE TABLE generation_history (
                id            TEXT PRIMARY KEY,
                account_id    TEXT NOT NULL REFERENCES accounts(id),
                key_id        TEXT NOT NULL,
                operation     TEXT NOT NULL,
                model         TEXT NOT NULL,
                prompt        TEXT NULL,
                size          TEXT NOT NULL,
                quality       TEXT NOT NULL,
                n             {t.Integer} NOT NULL,
                seed          BIGINT NULL,
                request       TEXT NOT NULL,
                status        TEXT NOT NULL,
                http_status   {t.Integer} NOT NULL,
                error_code    TEXT NULL,
                error_message TEXT NULL,
                cost_mc       BIGINT NOT NULL,
                provider      TEXT NULL,
                byok          {t.Integer} NOT NULL,
                images        {t.Integer} NOT NULL,
                image_files   TEXT NULL,
                created_at    BIGINT NOT NULL
            );
            CREATE INDEX ix_history_account_time ON generation_history(account_id, created_at, id);
            CREATE INDEX ix_history_time ON generation_history(created_at);
            """),
    ];
}
