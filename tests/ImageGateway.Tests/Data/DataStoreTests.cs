using System.Security.Cryptography;
using Dapper;
using ImageGateway.Accounts;
using ImageGateway.Billing;
using ImageGateway.Byok;
using ImageGateway.Data;
using ImageGateway.Generation;
using ImageGateway.Tests.Support;
using ImageGateway.Usage;

namespace ImageGateway.Tests.Data;

public sealed class SqliteDataStoreTests : DataStoreTests
{
    protected override DbKind Kind => DbKind.Sqlite;
}

/// <summary>
/// Migrations and every store's SQL on each database kind: the callers' SQL is shared, so a column
/// type or parameter type one dialect maps differently shows up here as a failed round trip.
/// PostgresDataStoreTests (in ImageGateway.IntegrationTests) runs them on PostgreSQL.
/// </summary>
public abstract class DataStoreTests : DualDatabaseTests
{
    protected override bool Migrates => false; // the first tests are about migrating

    private Task<IReadOnlyList<long>> AppliedVersionsAsync() =>
        Db.Database.ReadAsync(async c =>
            (IReadOnlyList<long>)(await c.QueryAsync<long>("SELECT CAST(version AS BIGINT) FROM schema_migrations ORDER BY version")).ToArray());

    [SkippableFact]
    public async Task Migrate_applies_every_version_once_and_a_second_run_changes_nothing()
    {
        await Db.Database.MigrateAsync(Db.Time);
        var expected = Db.Dialect.Migrations.Select(m => (long)m.Version).Order().ToArray();
        Assert.Equal(Enumerable.Range(1, expected.Length).Select(v => (long)v), expected);
        Assert.Equal(expected, await AppliedVersionsAsync());

        Db.Time.Advance(TimeSpan.FromHours(1));
        await Db.Database.MigrateAsync(Db.Time);
        Assert.Equal(expected, await AppliedVersionsAsync());
        var appliedAt = await Db.Database.ReadAsync(c => c.QueryAsync<long>("SELECT applied_at FROM schema_migrations"));
        Assert.All(appliedAt, at => Assert.Equal(Db.Time.GetUtcNow().AddHours(-1).ToUnixTimeMilliseconds(), at));
    }

    [SkippableFact]
    public async Task Processes_starting_at_once_migrate_the_same_database_exactly_once()
    {
        // Each Database has its own dialect and connections, as separate gateway processes would.
        var processes = Enumerable.Range(0, 8).Select(_ => Db.OpenAnother()).ToArray();
        try
        {
            using var start = new ManualResetEventSlim();
            var runs = processes.Select(p => Task.Run(async () =>
            {
                start.Wait();
                await p.MigrateAsync(Db.Time);
            })).ToArray();
            start.Set();
            await Task.WhenAll(runs);
        }
        finally
        {
            foreach (var p in processes)
                if (p.Dialect is IAsyncDisposable d) await d.DisposeAsync();
        }

        Assert.Equal(Db.Dialect.Migrations.Select(m => (long)m.Version).Order(), await AppliedVersionsAsync());
        // The schema really is there and usable.
        var account = await new AccountStore(Db.Database, Db.Time).CreateAccountAsync("after race", "managed");
        Assert.NotNull(await new CreditLedger(Db.Database, Db.Time).GetBalanceAsync(account.Id));
    }

    [SkippableFact]
    public async Task Accounts_keys_and_limit_overrides_round_trip()
    {
        await Db.Database.MigrateAsync(Db.Time);
        var store = new AccountStore(Db.Database, Db.Time);
        Assert.False(await store.AnyAccountAsync());

        var account = await store.CreateAccountAsync("Ada", "managed");
        Assert.True(await store.AnyAccountAsync());
        Assert.Equal(account, await store.GetAccountAsync(account.Id));
        Assert.Null(await store.GetAccountAsync("usr_missing"));
        Assert.True(await store.SetTierAsync(account.Id, "professional"));
        Assert.False(await store.SetTierAsync("usr_missing", "professional"));

        var listed = Assert.Single((await store.ListAccountsAsync(10, 0)).Page);
        Assert.Equal(account.Id, listed.Account.Id);
        Assert.Equal("professional", listed.Account.Tier);
        Assert.Equal((0L, 0L), (listed.BalanceMc, listed.ReservedMc));

        var expires = Db.Time.GetUtcNow().AddDays(1);
        var (info, plain) = await store.CreateKeyAsync(account.Id, KeyScope.User, null, expires);
        var (status, caller) = await store.FindCallerAsync(plain);
        Assert.Equal(KeyLookupStatus.Found, status);
        Assert.Equal(new Caller(account.Id, info.Id, KeyScope.User, "professional"), caller);
        Assert.Equal(KeyLookupStatus.Unknown, (await store.FindCallerAsync(plain + "x")).Status);
        var key = Assert.Single(await store.ListKeysAsync(account.Id));
        Assert.Equal(info, key);
        Assert.Equal(expires.ToUnixTimeMilliseconds(), key.ExpiresAt!.Value.ToUnixTimeMilliseconds());
        Assert.Null(key.Name);

        var limits = new LimitOverrides(7, null, 300, null, 5_000_000_000L);
        await store.SetLimitsAsync(account.Id, limits);
        Assert.Equal(limits, await store.GetLimitsAsync(account.Id));
        Assert.Equal(limits, (await store.FindCallerAsync(plain)).Caller!.Limits);
        await store.SetLimitsAsync(account.Id, new LimitOverrides(null, null, null, null, null));
        Assert.Null(await store.GetLimitsAsync(account.Id));

        Db.Time.Advance(TimeSpan.FromDays(2));
        Assert.Equal(KeyLookupStatus.Expired, (await store.FindCallerAsync(plain)).Status);
        var (_, second) = await store.CreateKeyAsync(account.Id, KeyScope.Admin, "ops", null);
        Assert.True(await store.RevokeKeyAsync(account.Id, (await store.ListKeysAsync(account.Id))[1].Id));
        Assert.False(await store.RevokeKeyAsync("usr_other", info.Id));
        Assert.Equal(KeyLookupStatus.Revoked, (await store.FindCallerAsync(second)).Status);
    }

    [SkippableFact]
    public async Task Byok_keys_round_trip_with_flags_as_integers()
    {
        await Db.Database.MigrateAsync(Db.Time);
        var account = await new AccountStore(Db.Database, Db.Time).CreateAccountAsync("byok", "byok");
        var store = new ByokStore(Db.Database, new KeyVault(RandomNumberGenerator.GetBytes(32)), Db.Time);

        var created = await store.UpsertAsync(account.Id, "openai", "sk-test-000000000000abcd", "{\"org\":\"x\"}");
        Assert.True(created.Enabled);
        Assert.Equal("sk-…abcd", created.MaskedKey);
        Assert.Equal("{\"org\":\"x\"}", created.Metadata);
        await store.UpsertAsync(account.Id, "stability", "sk-stab-00000000000wxyz", null);
        Assert.Equal(["openai", "stability"], (await store.ListAsync(account.Id)).Select(k => k.Provider).ToArray());

        var disabled = await store.SetEnabledAsync(account.Id, "openai", false);
        Assert.False(disabled!.Enabled);
        var enabled = Assert.Single(await store.EnabledSecretsAsync(account.Id));
        Assert.Equal(new ByokSecret("stability", "sk-stab-00000000000wxyz"), enabled);
        Assert.Equal("sk-test-000000000000abcd", (await store.SecretAsync(account.Id, "openai"))!.ApiKey);

        // Upserting an existing provider keeps the row (same id) and re-enables it.
        Db.Time.Advance(TimeSpan.FromMinutes(1));
        var replaced = await store.UpsertAsync(account.Id, "openai", "sk-test-111111111111efgh", null);
        Assert.Equal(created.Id, replaced.Id);
        Assert.True(replaced.Enabled);
        Assert.Equal(Db.Time.GetUtcNow(), replaced.UpdatedAt);
        Assert.Equal(2, (await store.EnabledSecretsAsync(account.Id)).Count);

        Assert.True(await store.DeleteAsync(account.Id, "openai"));
        Assert.False(await store.DeleteAsync(account.Id, "openai"));
        Assert.Null(await store.GetAsync(account.Id, "openai"));
    }

    [SkippableFact]
    public async Task Usage_events_round_trip_newest_first()
    {
        await Db.Database.MigrateAsync(Db.Time);
        var account = await new AccountStore(Db.Database, Db.Time).CreateAccountAsync("usage", "managed");
        var store = new UsageStore(Db.Database, Db.Time);
        var first = new UsageEvent(account.Id, "key_1", "builtin-preview", "builtin", "managed", "256x256", "standard", 3, 3600,
            false, 200, null, 12);
        var second = first with { Model = "dall-e-3", Provider = null, Images = 1, CostMc = 0, Byok = true, Status = 502, EndUser = "u-1" };
        await store.RecordAsync(first);
        Db.Time.Advance(TimeSpan.FromSeconds(1));
        await store.RecordAsync(second);

        Assert.Equal([second, first], await store.RecentAsync(account.Id, 10));
        Assert.Equal([second], await store.RecentAsync(account.Id, 1));
        Assert.Empty(await store.RecentAsync("usr_other", 10));
    }

    [SkippableFact]
    public async Task Monthly_cap_counts_settled_spend_and_open_holds_and_resets_with_the_month()
    {
        await Db.Database.MigrateAsync(Db.Time);
        var account = await new AccountStore(Db.Database, Db.Time).CreateAccountAsync("capped", "managed");
        var ledger = new CreditLedger(Db.Database, Db.Time);
        await ledger.AdjustAsync(account.Id, Millicredits.FromCredits(100m), LedgerKind.Grant, null);
        var cap = Millicredits.FromCredits(10m);

        var first = await ledger.ReserveAsync(account.Id, Millicredits.FromCredits(6m), TimeSpan.FromMinutes(5), null, cap);
        Assert.True(first.Succeeded);
        await ledger.SettleAsync(first.Reservation!, Millicredits.FromCredits(6m), null);
        var hold = await ledger.ReserveAsync(account.Id, Millicredits.FromCredits(3m), TimeSpan.FromMinutes(5), null, cap);
        Assert.True(hold.Succeeded);

        var refused = await ledger.ReserveAsync(account.Id, Millicredits.FromCredits(1.001m), TimeSpan.FromMinutes(5), null, cap);
        Assert.False(refused.Succeeded);
        Assert.Equal(ReserveRefusal.MonthlyCap, refused.Refusal);
        Assert.Equal(Millicredits.FromCredits(6m), refused.MonthSpent);
        Assert.True((await ledger.ReserveAsync(account.Id, Millicredits.FromCredits(1m), TimeSpan.FromMinutes(5), null, cap)).Succeeded);
        Assert.Equal(ReserveRefusal.InsufficientCredits,
            (await ledger.ReserveAsync(account.Id, Millicredits.FromCredits(500m), TimeSpan.FromMinutes(5), null, null)).Refusal);

        // Next month the settled spend no longer counts; the open holds (4 credits) still do.
        Db.Time.SetUtcNow(new DateTimeOffset(2026, 12, 1, 0, 0, 1, TimeSpan.Zero));
        Assert.True((await ledger.ReserveAsync(account.Id, Millicredits.FromCredits(6m), TimeSpan.FromMinutes(5), null, cap)).Succeeded);
        Assert.False((await ledger.ReserveAsync(account.Id, Millicredits.FromCredits(0.001m), TimeSpan.FromMinutes(5), null, cap)).Succeeded);
        var problems = await ledger.VerifyAsync(account.Id);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [SkippableFact]
    public async Task Usage_aggregates_group_by_day_and_sort_a_missing_provider_first()
    {
        await Db.Database.MigrateAsync(Db.Time);
        var account = await new AccountStore(Db.Database, Db.Time).CreateAccountAsync("usage", "managed");
        var store = new UsageStore(Db.Database, Db.Time);
        var since = Db.Time.GetUtcNow();
        var builtin = new UsageEvent(account.Id, "key_1", "m", "builtin", "managed", "256x256", "standard", 2, 2400, false, 200, null, 5);
        await store.RecordAsync(builtin);
        await store.RecordAsync(builtin with { Provider = null, Images = 1, CostMc = 0, Status = 502 });
        await store.RecordAsync(builtin with { Images = 3, CostMc = 3600 });
        Db.Time.Advance(TimeSpan.FromDays(1));
        await store.RecordAsync(builtin with { Byok = true, CostMc = 0 });

        var rows = await store.AggregateAsync(since, account.Id);

        var day = DateOnly.FromDateTime(since.UtcDateTime);
        Assert.Equal(
        [
            new UsageAggregate(day, "m", null, "managed", false, 1, 1, new Millicredits(0)),
            new UsageAggregate(day, "m", "builtin", "managed", false, 2, 5, new Millicredits(6000)),
            new UsageAggregate(day.AddDays(1), "m", "builtin", "managed", true, 1, 2, new Millicredits(0)),
        ], rows);
        Assert.Empty(await store.AggregateAsync(since, "usr_other"));
    }

    [SkippableFact]
    public async Task Concurrent_claims_of_one_idempotency_key_give_exactly_one_winner_and_no_error()
    {
        await Db.Database.MigrateAsync(Db.Time);
        // Separate Database instances, as separate gateway processes would have.
        var processes = Enumerable.Range(0, 4).Select(_ => Db.OpenAnother()).ToArray();
        try
        {
            using var start = new ManualResetEventSlim();
            var claims = Enumerable.Range(0, 40).Select(i => Task.Run(async () =>
            {
                start.Wait();
                return await new IdempotencyStore(processes[i % processes.Length], Db.Time, Microsoft.Extensions.Options.Options.Create(new ImageGateway.Hosting.GatewayOptions())).ClaimAsync("usr_a", "key-1", "hash", CancellationToken.None);
            })).ToArray();
            start.Set();
            var results = await Task.WhenAll(claims);

            Assert.Equal(1, results.Count(r => r.State == ClaimState.Claimed));
            Assert.All(results.Where(r => r.State != ClaimState.Claimed), r => Assert.Equal(ClaimState.InUse, r.State)); // answered 409
        }
        finally
        {
            foreach (var p in processes)
                if (p.Dialect is IAsyncDisposable d) await d.DisposeAsync();
        }
    }
}

/// <summary>Both dialects describe the same schema history, so a database can move between them.</summary>
public sealed class DialectParityTests
{
    [Fact]
    public void Every_migration_exists_in_both_dialects_with_the_same_version_and_name()
    {
        var sqlite = new SqliteDialect("Data Source=:memory:").Migrations.Select(m => (m.Version, m.Name)).ToArray();
        using var postgres = new PostgresDialect("Host=127.0.0.1;Database=unused");
        Assert.Equal(sqlite, postgres.Migrations.Select(m => (m.Version, m.Name)).ToArray());
        Assert.Equal(sqlite.Select(m => m.Version).Order(), sqlite.Select(m => m.Version));
    }
}
