using System.Security.Cryptography;
using ImageGateway.Accounts;
using ImageGateway.Byok;
using ImageGateway.Data;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Accounts;

public sealed class SqliteKeyCacheTests : KeyCacheTests
{
    protected override DbKind Kind => DbKind.Sqlite;
}

/// <summary>
/// The API-key and "no BYOK key" caches with two gateway processes on the same data: store A on the
/// fixture's database, store B on <see cref="TempDatabase.OpenAnother"/>, both on one fake clock.
/// A change through a store is seen by that store at once, and by the other within the TTL.
/// PostgresKeyCacheTests (in ImageGateway.IntegrationTests) runs them on PostgreSQL.
/// </summary>
public abstract class KeyCacheTests : DualDatabaseTests
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(5);

    private Database _other = null!;
    private readonly KeyVault _vault = new(RandomNumberGenerator.GetBytes(32));

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _other = Db.OpenAnother();
    }

    public override async Task DisposeAsync()
    {
        if (_other?.Dialect is IAsyncDisposable other) await other.DisposeAsync();
        if (HasDb && Db.Kind == DbKind.Sqlite && Db.Dialect is IAsyncDisposable mine) await mine.DisposeAsync();
        await base.DisposeAsync();
    }

    private AccountStore StoreA(TimeSpan? ttl = null) => new(Db.Database, Db.Time, CacheFor(ttl ?? Ttl));
    private AccountStore StoreB(TimeSpan? ttl = null) => new(_other, Db.Time, CacheFor(ttl ?? Ttl));
    private ByokStore ByokA(TimeSpan? ttl = null) => new(Db.Database, _vault, Db.Time, CacheFor(ttl ?? Ttl));
    private ByokStore ByokB(TimeSpan? ttl = null) => new(_other, _vault, Db.Time, CacheFor(ttl ?? Ttl));

    /// <summary>Gateway:AuthCacheSeconds, as the stores read it.</summary>
    private static Microsoft.Extensions.Options.IOptions<ImageGateway.Hosting.GatewayOptions> CacheFor(TimeSpan ttl) =>
        Microsoft.Extensions.Options.Options.Create(new ImageGateway.Hosting.GatewayOptions { AuthCacheSeconds = ttl.TotalSeconds });

    private async Task<(string AccountId, string KeyId, string Key)> KeyAsync(AccountStore store, string tier = "managed")
    {
        var account = await store.CreateAccountAsync("cache", tier);
        var (info, key) = await store.CreateKeyAsync(account.Id, KeyScope.User, "k", null);
        return (account.Id, info.Id, key);
    }

    private static async Task<KeyLookupStatus> StatusAsync(AccountStore store, string key) => (await store.FindCallerAsync(key)).Status;

    // --- API keys ---

    [SkippableFact]
    public async Task A_key_revoked_by_another_process_is_accepted_from_the_cache_until_the_ttl_passes()
    {
        var a = StoreA();
        var b = StoreB();
        var (accountId, keyId, key) = await KeyAsync(b);
        Assert.Equal(KeyLookupStatus.Found, await StatusAsync(a, key)); // now cached in A

        Assert.True(await b.RevokeKeyAsync(accountId, keyId));
        Assert.Equal(KeyLookupStatus.Revoked, await StatusAsync(b, key));
        Assert.Equal(KeyLookupStatus.Found, await StatusAsync(a, key));

        Db.Time.Advance(TimeSpan.FromSeconds(4.9));
        var (status, caller) = await a.FindCallerAsync(key);
        Assert.Equal(KeyLookupStatus.Found, status);
        Assert.Equal(keyId, caller!.KeyId);

        Db.Time.Advance(TimeSpan.FromSeconds(0.2));
        Assert.Equal(KeyLookupStatus.Revoked, await StatusAsync(a, key));
        // Not re-cached as found afterwards.
        Assert.Equal(KeyLookupStatus.Revoked, await StatusAsync(a, key));
    }

    [SkippableFact]
    public async Task A_key_revoked_through_the_same_store_is_refused_at_once()
    {
        var a = StoreA();
        var (accountId, keyId, key) = await KeyAsync(a);
        Assert.Equal(KeyLookupStatus.Found, await StatusAsync(a, key));

        Assert.True(await a.RevokeKeyAsync(accountId, keyId));
        Assert.Equal(KeyLookupStatus.Revoked, await StatusAsync(a, key));
    }

    [SkippableFact]
    public async Task A_revocation_that_lands_between_a_lookups_read_and_its_caching_is_not_undone_by_it()
    {
        var a = StoreA();
        var (accountId, keyId, key) = await KeyAsync(a);
        var revokes = 0;
        // The lookup has read the row (not yet revoked); the revocation commits and empties the
        // cache before the lookup stores what it read.
        a.BeforeCaching = async () =>
        {
            if (revokes++ == 0) Assert.True(await a.RevokeKeyAsync(accountId, keyId));
        };

        Assert.Equal(KeyLookupStatus.Found, await StatusAsync(a, key)); // answered from the row it read before
        Assert.Equal(1, revokes);
        Assert.Equal(KeyLookupStatus.Revoked, await StatusAsync(a, key)); // not from a stale cache entry
        Assert.Equal(KeyLookupStatus.Revoked, await StatusAsync(a, key));
    }

    [SkippableFact]
    public async Task A_key_created_by_another_process_works_at_once_because_unknown_keys_are_not_cached()
    {
        var a = StoreA();
        var b = StoreB();
        var account = await b.CreateAccountAsync("cache", "managed");
        var key = ApiKeys.Generate();
        Assert.Equal(KeyLookupStatus.Unknown, await StatusAsync(a, key));

        var (info, _) = await b.CreateKeyAsync(account.Id, KeyScope.User, "later", null, key);

        var (status, caller) = await a.FindCallerAsync(key);
        Assert.Equal(KeyLookupStatus.Found, status);
        Assert.Equal(info.Id, caller!.KeyId);
        Assert.Equal(account.Id, caller.AccountId);
    }

    [SkippableFact]
    public async Task With_a_zero_ttl_a_revocation_by_another_process_is_seen_at_once()
    {
        var a = StoreA(TimeSpan.Zero);
        var b = StoreB();
        var (accountId, keyId, key) = await KeyAsync(b);
        Assert.Equal(KeyLookupStatus.Found, await StatusAsync(a, key));

        Assert.True(await b.RevokeKeyAsync(accountId, keyId));
        Assert.Equal(KeyLookupStatus.Revoked, await StatusAsync(a, key));
    }

    [SkippableFact]
    public async Task Tier_and_limit_changes_through_the_same_store_apply_at_once_and_through_another_after_the_ttl()
    {
        var a = StoreA();
        var b = StoreB();
        var (accountId, _, key) = await KeyAsync(a, tier: "managed");
        Assert.Equal("managed", (await a.FindCallerAsync(key)).Caller!.Tier);

        // Through B: A keeps its cached caller until the TTL passes.
        Assert.True(await b.SetTierAsync(accountId, "pro"));
        Assert.Equal("managed", (await a.FindCallerAsync(key)).Caller!.Tier);
        Db.Time.Advance(TimeSpan.FromSeconds(5.1));
        Assert.Equal("pro", (await a.FindCallerAsync(key)).Caller!.Tier);

        // Through A itself: at once.
        Assert.True(await a.SetTierAsync(accountId, "enterprise"));
        Assert.Equal("enterprise", (await a.FindCallerAsync(key)).Caller!.Tier);

        Assert.Null((await a.FindCallerAsync(key)).Caller!.Limits);
        await a.SetLimitsAsync(accountId, new LimitOverrides(7, null, null, null, null));
        var limits = (await a.FindCallerAsync(key)).Caller!.Limits;
        Assert.NotNull(limits);
        Assert.Equal(7, limits!.PerMinute);
    }

    // --- BYOK "no key" cache ---

    [SkippableFact]
    public async Task A_byok_key_added_by_another_process_is_used_after_the_ttl()
    {
        var a = ByokA();
        var b = ByokB();
        var account = await StoreA().CreateAccountAsync("byok", "managed");
        Assert.Empty(await a.EnabledSecretsAsync(account.Id)); // A now caches "no key"

        await b.UpsertAsync(account.Id, "openai", "sk-added-by-b-0123456789abcdef", null);
        Assert.Single(await b.EnabledSecretsAsync(account.Id));
        Assert.Empty(await a.EnabledSecretsAsync(account.Id));

        Db.Time.Advance(TimeSpan.FromSeconds(4.9));
        Assert.Empty(await a.EnabledSecretsAsync(account.Id));

        Db.Time.Advance(TimeSpan.FromSeconds(0.2));
        var secret = Assert.Single(await a.EnabledSecretsAsync(account.Id));
        Assert.Equal(new ByokSecret("openai", "sk-added-by-b-0123456789abcdef"), secret);
    }

    [SkippableFact]
    public async Task A_byok_key_added_through_the_same_store_is_used_at_once()
    {
        var a = ByokA();
        var account = await StoreA().CreateAccountAsync("byok", "managed");
        Assert.Empty(await a.EnabledSecretsAsync(account.Id));

        await a.UpsertAsync(account.Id, "openai", "sk-added-by-a-0123456789abcdef", null);
        var secret = Assert.Single(await a.EnabledSecretsAsync(account.Id));
        Assert.Equal("sk-added-by-a-0123456789abcdef", secret.ApiKey);
    }

    [SkippableFact]
    public async Task A_byok_key_disabled_or_deleted_by_another_process_stops_being_used_at_once()
    {
        // Only "no key" is cached, never a key.
        var a = ByokA();
        var b = ByokB();
        var account = await StoreA().CreateAccountAsync("byok", "managed");
        await a.UpsertAsync(account.Id, "openai", "sk-owned-0123456789abcdef", null);
        Assert.Single(await a.EnabledSecretsAsync(account.Id));

        Assert.NotNull(await b.SetEnabledAsync(account.Id, "openai", false));
        Assert.Empty(await a.EnabledSecretsAsync(account.Id));

        // A now caches "no key"; enabling it again through A clears that at once.
        Assert.NotNull(await a.SetEnabledAsync(account.Id, "openai", true));
        Assert.Single(await a.EnabledSecretsAsync(account.Id));

        Assert.True(await b.DeleteAsync(account.Id, "openai"));
        Assert.Empty(await a.EnabledSecretsAsync(account.Id));
    }

    [SkippableFact]
    public async Task With_a_zero_ttl_a_byok_key_added_by_another_process_is_used_at_once()
    {
        var a = ByokA(TimeSpan.Zero);
        var b = ByokB();
        var account = await StoreA().CreateAccountAsync("byok", "managed");
        Assert.Empty(await a.EnabledSecretsAsync(account.Id));

        await b.UpsertAsync(account.Id, "openai", "sk-added-by-b-0123456789abcdef", null);
        Assert.Single(await a.EnabledSecretsAsync(account.Id));
    }
}
