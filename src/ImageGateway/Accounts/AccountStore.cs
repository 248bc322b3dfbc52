using ImageGateway.Hosting;
using Microsoft.Extensions.Options;
using System.Collections.Concurrent;
using Dapper;
using ImageGateway.Data;

namespace ImageGateway.Accounts;

public sealed record Account(string Id, string Name, string Tier, DateTimeOffset CreatedAt, DateTimeOffset? SuspendedAt = null);

public sealed record ApiKeyInfo(string Id, string AccountId, string Prefix, string? Name, string Scope,
    DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt);

/// <summary>A user's limits set by an admin instead of the tier's. Null fields fall back to the tier; a cap of 0 means none.</summary>
public sealed record LimitOverrides(int? PerMinute, int? PerHour, int? PerDay, int? PerMonth, long? MonthlyCapMc)
{
    public bool IsEmpty => PerMinute is null && PerHour is null && PerDay is null && PerMonth is null && MonthlyCapMc is null;
}

/// <summary>Who is calling: resolved from the bearer key once per request, with any limit overrides of the account.</summary>
public sealed record Caller(string AccountId, string KeyId, string Scope, string Tier, LimitOverrides? Limits = null)
{
    public bool IsAdmin => Scope == KeyScope.Admin;

    internal const string ItemKey = "ImageGateway.Caller";

    /// <summary>Lets endpoints take a <see cref="Caller"/> parameter; the authentication middleware has already set it.</summary>
    public static ValueTask<Caller?> BindAsync(HttpContext context) =>
        ValueTask.FromResult(context.Items[ItemKey] as Caller);
}

public enum KeyLookupStatus { Found, Unknown, Revoked, Expired, Suspended }

/// <param name="keyCacheTtl">
/// How long a resolved key is kept in memory (Gateway:AuthCacheSeconds). Every generate request
/// authenticates, and this turns that lookup into a dictionary hit. Changes made through this
/// process (revoke, tier, limits) clear it at once; one made by another process sharing the
/// database takes effect here within this time. Zero turns the cache off.
/// </param>
public sealed class AccountStore(Database db, TimeProvider time, IOptions<GatewayOptions>? options = null)
{
    private readonly TimeSpan keyCacheTtl = TimeSpan.FromSeconds(Math.Max(0, options?.Value.AuthCacheSeconds ?? 0));

    /// <summary>More distinct keys than this in the cache and it starts afresh (bounds memory).</summary>
    private const int MaxCachedKeys = 100_000;

    private readonly ConcurrentDictionary<string, (CallerRow Row, long Until)> _callers = new(StringComparer.Ordinal);

    /// <summary>Bumped by every change made through this store, before it empties the cache.</summary>
    private long _generation;

    /// <summary>Test seam: runs between reading a key's row and caching it, where a change can race the lookup.</summary>
    internal Func<Task>? BeforeCaching { get; set; }

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    public Task<Account> CreateAccountAsync(string name, string tier, CancellationToken ct = default) =>
        db.WriteAsync(async scope =>
        {
            var account = new Account(Ids.New("usr", 16), name, tier, time.GetUtcNow());
            await scope.Connection.ExecuteAsync(
                "INSERT INTO accounts (id, name, tier, balance_mc, reserved_mc, created_at) VALUES (@Id, @Name, @Tier, 0, 0, @Now)",
                new { account.Id, account.Name, account.Tier, Now }, scope.Transaction);
            return account;
        }, ct);

    public const string BootstrapAccountId = "usr_admin";

    /// <summary>
    /// Creates the first admin account and its key unless another process already did: fixed ids
    /// and ON CONFLICT DO NOTHING make concurrent first starts safe. True when this call created them.
    /// </summary>
    public Task<bool> TryCreateBootstrapAdminAsync(string tier, string plainKey, CancellationToken ct = default) =>
        db.WriteAsync(async scope =>
        {
            var created = await scope.Connection.ExecuteAsync(
                """
                INSERT INTO accounts (id, name, tier, balance_mc, reserved_mc, created_at) VALUES (@id, 'admin', @tier, 0, 0, @Now)
                ON CONFLICT (id) DO NOTHING
                """, new { id = BootstrapAccountId, tier, Now }, scope.Transaction) == 1;
            if (created)
                await scope.Connection.ExecuteAsync(
                    """
                    INSERT INTO api_keys (id, account_id, key_hash, prefix, name, scope, created_at)
                    VALUES ('key_bootstrap', @id, @hash, @prefix, 'bootstrap admin', @scope, @Now)
                    """, new { id = BootstrapAccountId, hash = ApiKeys.Hash(plainKey), prefix = ApiKeys.Display(plainKey), scope = KeyScope.Admin, Now },
                    scope.Transaction);
            return created;
        }, ct);

    public Task<bool> AnyAccountAsync(CancellationToken ct = default) =>
        db.ReadAsync(async c => await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM accounts") > 0, ct);

    public Task<Account?> GetAccountAsync(string id, CancellationToken ct = default) =>
        db.ReadAsync(async c => (await c.QuerySingleOrDefaultAsync<AccountRow>(
            "SELECT id AS Id, name AS Name, tier AS Tier, created_at AS CreatedAt, suspended_at AS SuspendedAt FROM accounts WHERE id = @id", new { id }))?.ToAccount(), ct);

    /// <summary>A page of accounts, oldest first, and how many match. <paramref name="search"/> matches name or id, case-insensitively.</summary>
    public Task<(IReadOnlyList<(Account Account, long BalanceMc, long ReservedMc)> Page, long Total)> ListAccountsAsync(int limit, int offset,
        string? search = null, CancellationToken ct = default) =>
        db.ReadAsync(async c =>
        {
            // LOWER on both sides: SQLite's LIKE ignores ASCII case, PostgreSQL's does not. % and _ in the search are literal.
            var where = string.IsNullOrEmpty(search) ? "" : @"WHERE LOWER(name) LIKE @pattern ESCAPE '\' OR LOWER(id) LIKE @pattern ESCAPE '\'";
            var pattern = "%" + (search ?? "").ToLowerInvariant().Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_") + "%";
            var rows = await c.QueryAsync<AccountBalanceRow>(
                $"""
                SELECT id AS Id, name AS Name, tier AS Tier, created_at AS CreatedAt, suspended_at AS SuspendedAt, balance_mc AS BalanceMc, reserved_mc AS ReservedMc
                FROM accounts {where} ORDER BY created_at, id LIMIT @limit OFFSET @offset
                """, new { limit, offset, pattern });
            var total = await c.ExecuteScalarAsync<long>($"SELECT COUNT(*) FROM accounts {where}", new { pattern });
            return ((IReadOnlyList<(Account, long, long)>)rows.Select(r =>
                (new AccountRow(r.Id, r.Name, r.Tier, r.CreatedAt, r.SuspendedAt).ToAccount(), r.BalanceMc, r.ReservedMc)).ToArray(), total);
        }, ct);

    /// <summary>Suspends or reinstates an account; its keys are refused while suspended. False when there is no such account.</summary>
    public async Task<bool> SetSuspendedAsync(string id, bool suspended, CancellationToken ct = default)
    {
        var changed = await db.WriteAsync(async scope => await scope.Connection.ExecuteAsync(
            "UPDATE accounts SET suspended_at = CASE WHEN @suspended THEN COALESCE(suspended_at, @Now) ELSE NULL END WHERE id = @id",
            new { id, suspended, Now }, scope.Transaction) == 1, ct);
        Invalidate();
        return changed;
    }

    public async Task<bool> SetTierAsync(string id, string tier, CancellationToken ct = default)
    {
        var changed = await db.WriteAsync(async scope => await scope.Connection.ExecuteAsync(
            "UPDATE accounts SET tier = @tier WHERE id = @id", new { id, tier }, scope.Transaction) == 1, ct);
        Invalidate();
        return changed;
    }

    /// <summary>Issues a key. The plain key is returned once and never stored.</summary>
    public Task<(ApiKeyInfo Info, string PlainKey)> CreateKeyAsync(string accountId, string scope, string? name,
        DateTimeOffset? expiresAt, CancellationToken ct = default) =>
        CreateKeyAsync(accountId, scope, name, expiresAt, ApiKeys.Generate(), ct);

    /// <summary>Registers a key chosen by the operator (bootstrap admin key).</summary>
    public Task<(ApiKeyInfo Info, string PlainKey)> CreateKeyAsync(string accountId, string scope, string? name,
        DateTimeOffset? expiresAt, string plainKey, CancellationToken ct = default) =>
        db.WriteAsync(async s =>
        {
            var info = new ApiKeyInfo(Ids.New("key", 16), accountId, ApiKeys.Display(plainKey), name, scope, time.GetUtcNow(), expiresAt, null);
            await s.Connection.ExecuteAsync(
                """
                INSERT INTO api_keys (id, account_id, key_hash, prefix, name, scope, created_at, expires_at)
                VALUES (@Id, @AccountId, @Hash, @Prefix, @Name, @Scope, @Now, @ExpiresAt)
                """,
                new { info.Id, info.AccountId, Hash = ApiKeys.Hash(plainKey), info.Prefix, info.Name, info.Scope, Now,
                      ExpiresAt = expiresAt?.ToUnixTimeMilliseconds() }, s.Transaction);
            return (info, plainKey);
        }, ct);

    public Task<IReadOnlyList<ApiKeyInfo>> ListKeysAsync(string accountId, CancellationToken ct = default) =>
        db.ReadAsync(async c => (IReadOnlyList<ApiKeyInfo>)(await c.QueryAsync<KeyRow>(
            $"{KeyRow.Select} WHERE account_id = @accountId ORDER BY created_at, id", new { accountId })).Select(r => r.ToInfo()).ToArray(), ct);

    /// <summary>Revokes one of the account's keys. False when the account has no such key.</summary>
    public async Task<bool> RevokeKeyAsync(string accountId, string keyId, CancellationToken ct = default)
    {
        var revoked = await db.WriteAsync(async scope => await scope.Connection.ExecuteAsync(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, @Now) WHERE id = @keyId AND account_id = @accountId",
            new { keyId, accountId, Now }, scope.Transaction) == 1, ct);
        Invalidate();
        return revoked;
    }

    public async Task<(KeyLookupStatus Status, Caller? Caller)> FindCallerAsync(string presentedKey, CancellationToken ct = default)
    {
        var hash = ApiKeys.Hash(presentedKey);
        var nowTicks = time.GetTimestamp();
        if (!_callers.TryGetValue(hash, out var cached) || cached.Until < nowTicks)
        {
            var generation = Interlocked.Read(ref _generation);
            // Only keys that exist are cached: a key created by another process must work at once.
            var row = await ReadCallerAsync(hash, ct);
            if (row is null) return (KeyLookupStatus.Unknown, null);
            cached = (row, nowTicks + (long)(keyCacheTtl.TotalSeconds * time.TimestampFrequency));
            if (keyCacheTtl > TimeSpan.Zero)
            {
                if (BeforeCaching is { } beforeCaching) await beforeCaching();
                if (_callers.Count >= MaxCachedKeys) _callers.Clear();
                _callers[hash] = cached;
                // A change made since the read may have emptied the cache before this entry went in:
                // take it out again, so a key revoked here is never served from a row read before.
                if (Interlocked.Read(ref _generation) != generation) _callers.TryRemove(new KeyValuePair<string, (CallerRow, long)>(hash, cached));
            }
        }
        return ToCaller(cached.Row);
    }

    /// <summary>After a change through this store: later lookups read the database again.</summary>
    private void Invalidate()
    {
        Interlocked.Increment(ref _generation);
        _callers.Clear();
    }

    private (KeyLookupStatus Status, Caller? Caller) ToCaller(CallerRow row)
    {
        if (row.RevokedAt is not null) return (KeyLookupStatus.Revoked, null);
        if (row.SuspendedAt is not null) return (KeyLookupStatus.Suspended, null);
        if (row.ExpiresAt is { } exp && exp <= Now) return (KeyLookupStatus.Expired, null);
        var limits = row.LimitsOf is null ? null
            : new LimitOverrides(ToInt(row.PerMinute), ToInt(row.PerHour), ToInt(row.PerDay), ToInt(row.PerMonth), row.MonthlyCapMc);
        return (KeyLookupStatus.Found, new Caller(row.AccountId, row.KeyId, row.Scope, row.Tier, limits));
    }

    private Task<CallerRow?> ReadCallerAsync(string hash, CancellationToken ct) =>
        db.ReadAsync(c =>
            c.QuerySingleOrDefaultAsync<CallerRow>(
                """
                SELECT k.id AS KeyId, k.account_id AS AccountId, k.scope AS Scope, a.tier AS Tier,
                       k.expires_at AS ExpiresAt, k.revoked_at AS RevokedAt, l.account_id AS LimitsOf,
                       l.per_minute AS PerMinute, l.per_hour AS PerHour, l.per_day AS PerDay, l.per_month AS PerMonth,
                       l.monthly_cap_mc AS MonthlyCapMc, a.suspended_at AS SuspendedAt
                FROM api_keys k JOIN accounts a ON a.id = k.account_id
                LEFT JOIN account_limits l ON l.account_id = k.account_id
                WHERE k.key_hash = @hash
                """, new { hash }), ct);

    private sealed record AccountRow(string Id, string Name, string Tier, long CreatedAt, long? SuspendedAt)
    {
        public Account ToAccount() => new(Id, Name, Tier, DateTimeOffset.FromUnixTimeMilliseconds(CreatedAt),
            SuspendedAt is { } at ? DateTimeOffset.FromUnixTimeMilliseconds(at) : null);
    }

    private sealed record AccountBalanceRow(string Id, string Name, string Tier, long CreatedAt, long? SuspendedAt, long BalanceMc, long ReservedMc);

    public Task<LimitOverrides?> GetLimitsAsync(string accountId, CancellationToken ct = default) =>
        db.ReadAsync(async c =>
        {
            var row = await c.QuerySingleOrDefaultAsync<LimitRow>(
                """
                SELECT per_minute AS PerMinute, per_hour AS PerHour, per_day AS PerDay, per_month AS PerMonth, monthly_cap_mc AS MonthlyCapMc
                FROM account_limits WHERE account_id = @accountId
                """, new { accountId });
            return row is null ? null : new LimitOverrides(ToInt(row.PerMinute), ToInt(row.PerHour), ToInt(row.PerDay), ToInt(row.PerMonth), row.MonthlyCapMc);
        }, ct);

    /// <summary>Replaces the account's overrides; all-null removes them (back to the tier's limits).</summary>
    public async Task SetLimitsAsync(string accountId, LimitOverrides limits, CancellationToken ct = default)
    {
        await db.WriteAsync(async scope =>
        {
            await scope.Connection.ExecuteAsync("DELETE FROM account_limits WHERE account_id = @accountId", new { accountId }, scope.Transaction);
            if (!limits.IsEmpty)
                await scope.Connection.ExecuteAsync(
                    """
                    INSERT INTO account_limits (account_id, per_minute, per_hour, per_day, per_month, monthly_cap_mc)
                    VALUES (@accountId, @PerMinute, @PerHour, @PerDay, @PerMonth, @MonthlyCapMc)
                    """, new { accountId, limits.PerMinute, limits.PerHour, limits.PerDay, limits.PerMonth, limits.MonthlyCapMc }, scope.Transaction);
            return 0;
        }, ct);
        Invalidate();
    }

    private static int? ToInt(long? value) => value is null ? null : (int)value.Value;

    private sealed record LimitRow(long? PerMinute, long? PerHour, long? PerDay, long? PerMonth, long? MonthlyCapMc);

    private sealed record CallerRow(string KeyId, string AccountId, string Scope, string Tier, long? ExpiresAt, long? RevokedAt,
        string? LimitsOf, long? PerMinute, long? PerHour, long? PerDay, long? PerMonth, long? MonthlyCapMc, long? SuspendedAt);

    private sealed record KeyRow(string Id, string AccountId, string Prefix, string? Name, string Scope, long CreatedAt, long? ExpiresAt, long? RevokedAt)
    {
        public const string Select =
            "SELECT id AS Id, account_id AS AccountId, prefix AS Prefix, name AS Name, scope AS Scope, created_at AS CreatedAt, expires_at AS ExpiresAt, revoked_at AS RevokedAt FROM api_keys";

        public ApiKeyInfo ToInfo() => new(Id, AccountId, Prefix, Name, Scope, DateTimeOffset.FromUnixTimeMilliseconds(CreatedAt),
            ExpiresAt is { } e ? DateTimeOffset.FromUnixTimeMilliseconds(e) : null,
            RevokedAt is { } r ? DateTimeOffset.FromUnixTimeMilliseconds(r) : null);
    }
}
