using ImageGateway.Hosting;
using Microsoft.Extensions.Options;
using System.Collections.Concurrent;
using Dapper;
using ImageGateway.Data;

namespace ImageGateway.Byok;

public sealed record ByokKey(string Id, string Provider, string MaskedKey, bool Enabled, string? Metadata, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

/// <summary>A caller's own provider key, decrypted for one request. ToString never shows it.</summary>
public sealed record ByokSecret(string Provider, string ApiKey)
{
    public override string ToString() => $"ByokSecret {{ Provider = {Provider} }}";
}

/// <summary>BYOK keys at rest: one row per account and provider, the key only ever as AES-GCM ciphertext.</summary>
/// <param name="noKeysCacheTtl">
/// How long "this account has no enabled key" is remembered (Gateway:AuthCacheSeconds), so a
/// platform-billed request does not read the table every time. Only that answer is cached, never a
/// key. Changes through this process take effect at once; a key added through another process
/// sharing the database is used here within this time. Zero turns it off.
/// </param>
public sealed class ByokStore(Database db, KeyVault vault, TimeProvider time, IOptions<GatewayOptions>? options = null)
{
    private readonly TimeSpan noKeysCacheTtl = TimeSpan.FromSeconds(Math.Max(0, options?.Value.AuthCacheSeconds ?? 0));

    private const int MaxCachedAccounts = 100_000;
    private static readonly IReadOnlyList<ByokSecret> None = [];

    private readonly ConcurrentDictionary<string, long> _withoutKeysUntil = new(StringComparer.Ordinal);

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    public async Task<ByokKey> UpsertAsync(string accountId, string provider, string apiKey, string? metadata, CancellationToken ct = default)
    {
        var key = await db.WriteAsync(async scope =>
        {
            var now = Now;
            var existing = await scope.Connection.QuerySingleOrDefaultAsync<string>(
                "SELECT id FROM byok_keys WHERE account_id = @accountId AND provider = @provider", new { accountId, provider }, scope.Transaction);
            var id = existing ?? Ids.New("byok", 16);
            var parameters = new
            {
                id, accountId, provider, secret = vault.Encrypt(apiKey, accountId, provider), masked = Mask(apiKey), metadata, now,
            };
            await scope.Connection.ExecuteAsync(existing is null
                ? """
                  INSERT INTO byok_keys (id, account_id, provider, secret, masked_key, enabled, metadata, created_at, updated_at)
                  VALUES (@id, @accountId, @provider, @secret, @masked, 1, @metadata, @now, @now)
                  """
                : """
                  UPDATE byok_keys SET secret = @secret, masked_key = @masked, enabled = 1, metadata = @metadata, updated_at = @now
                  WHERE id = @id
                  """, parameters, scope.Transaction);
            return (await GetAsync(scope.Connection, scope.Transaction, accountId, provider))!;
        }, ct);
        _withoutKeysUntil.TryRemove(accountId, out _);
        return key;
    }

    public Task<IReadOnlyList<ByokKey>> ListAsync(string accountId, CancellationToken ct = default) =>
        db.ReadAsync(async c => (IReadOnlyList<ByokKey>)(await c.QueryAsync<Row>($"{Row.Select} WHERE account_id = @accountId ORDER BY provider",
            new { accountId })).Select(r => r.ToKey()).ToArray(), ct);

    public Task<ByokKey?> GetAsync(string accountId, string provider, CancellationToken ct = default) =>
        db.ReadAsync(c => GetAsync(c, null, accountId, provider), ct);

    public async Task<bool> DeleteAsync(string accountId, string provider, CancellationToken ct = default)
    {
        var deleted = await db.WriteAsync(async scope => await scope.Connection.ExecuteAsync(
            "DELETE FROM byok_keys WHERE account_id = @accountId AND provider = @provider", new { accountId, provider }, scope.Transaction) == 1, ct);
        _withoutKeysUntil.TryRemove(accountId, out _);
        return deleted;
    }

    public async Task<ByokKey?> SetEnabledAsync(string accountId, string provider, bool enabled, CancellationToken ct = default)
    {
        var key = await db.WriteAsync(async scope =>
        {
            await scope.Connection.ExecuteAsync(
                "UPDATE byok_keys SET enabled = @enabled, updated_at = @now WHERE account_id = @accountId AND provider = @provider",
                new { accountId, provider, enabled = enabled ? 1 : 0, now = Now }, scope.Transaction);
            return await GetAsync(scope.Connection, scope.Transaction, accountId, provider);
        }, ct);
        _withoutKeysUntil.TryRemove(accountId, out _);
        return key;
    }

    /// <summary>The caller's enabled keys, decrypted. A key that cannot be decrypted throws rather than being skipped.</summary>
    public async Task<IReadOnlyList<ByokSecret>> EnabledSecretsAsync(string accountId, CancellationToken ct = default)
    {
        var now = time.GetTimestamp();
        if (_withoutKeysUntil.TryGetValue(accountId, out var until) && until >= now) return None;
        var rows = await db.ReadAsync(c => c.QueryAsync<(string Provider, string Secret)>(
            "SELECT provider, secret FROM byok_keys WHERE account_id = @accountId AND enabled = 1", new { accountId }), ct);
        var secrets = rows.Select(r => new ByokSecret(r.Provider, vault.Decrypt(r.Secret, accountId, r.Provider))).ToArray();
        if (secrets.Length == 0 && noKeysCacheTtl > TimeSpan.Zero)
        {
            if (_withoutKeysUntil.Count >= MaxCachedAccounts) _withoutKeysUntil.Clear();
            _withoutKeysUntil[accountId] = now + (long)(noKeysCacheTtl.TotalSeconds * time.TimestampFrequency);
        }
        return secrets;
    }

    public Task<ByokSecret?> SecretAsync(string accountId, string provider, CancellationToken ct = default) =>
        db.ReadAsync(async c =>
        {
            var secret = await c.QuerySingleOrDefaultAsync<string>(
                "SELECT secret FROM byok_keys WHERE account_id = @accountId AND provider = @provider", new { accountId, provider });
            return secret is null ? null : new ByokSecret(provider, vault.Decrypt(secret, accountId, provider));
        }, ct);

    /// <summary><c>sk-…abcd</c>: the key's type prefix and last four characters, nothing else.</summary>
    public static string Mask(string apiKey)
    {
        var prefixEnd = apiKey.StartsWith("sk-or-", StringComparison.Ordinal) ? 6 : apiKey.StartsWith("sk-", StringComparison.Ordinal) ? 3 : 0;
        var tail = apiKey.Length >= 12 ? apiKey[^4..] : "";
        return $"{apiKey[..prefixEnd]}…{tail}";
    }

    private static async Task<ByokKey?> GetAsync(System.Data.Common.DbConnection c, System.Data.Common.DbTransaction? tx, string accountId, string provider) =>
        (await c.QuerySingleOrDefaultAsync<Row>($"{Row.Select} WHERE account_id = @accountId AND provider = @provider",
            new { accountId, provider }, tx))?.ToKey();

    private sealed record Row(string Id, string Provider, string MaskedKey, long Enabled, string? Metadata, long CreatedAt, long UpdatedAt)
    {
        public const string Select =
            "SELECT id AS Id, provider AS Provider, masked_key AS MaskedKey, enabled AS Enabled, metadata AS Metadata, created_at AS CreatedAt, updated_at AS UpdatedAt FROM byok_keys";

        public ByokKey ToKey() => new(Id, Provider, MaskedKey, Enabled != 0, Metadata,
            DateTimeOffset.FromUnixTimeMilliseconds(CreatedAt), DateTimeOffset.FromUnixTimeMilliseconds(UpdatedAt));
    }
}
