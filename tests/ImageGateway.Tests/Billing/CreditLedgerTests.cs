using ImageGateway.Accounts;
using ImageGateway.Billing;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Billing;

/// <summary>DESIGN §3: the ledger on a real (temporary) SQLite file.</summary>
public sealed class SqliteCreditLedgerTests : CreditLedgerTests
{
    protected override DbKind Kind => DbKind.Sqlite;
}

/// <summary>
/// DESIGN §3: the ledger against a real (temporary) database of each kind; PostgresCreditLedgerTests
/// (in ImageGateway.IntegrationTests) runs these on a fresh PostgreSQL database.
/// </summary>
public abstract class CreditLedgerTests : DualDatabaseTests
{
    private static readonly TimeSpan Hold = TimeSpan.FromMinutes(15);

    private AccountStore _accounts = null!;
    private CreditLedger _ledger = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _accounts = new AccountStore(Db.Database, Db.Time);
        _ledger = new CreditLedger(Db.Database, Db.Time);
    }

    private static Millicredits C(decimal credits) => Millicredits.FromCredits(credits);

    private async Task<string> AccountWithAsync(decimal credits)
    {
        var account = await _accounts.CreateAccountAsync("test", "managed");
        if (credits != 0)
        {
            var granted = await _ledger.AdjustAsync(account.Id, C(credits), LedgerKind.Grant, "initial grant");
            Assert.NotNull(granted);
            Assert.Equal(C(credits), granted!.Total);
        }
        return account.Id;
    }

    private async Task<Balance> BalanceAsync(string accountId) =>
        await _ledger.GetBalanceAsync(accountId) ?? throw new InvalidOperationException("no account");

    private async Task<long> EntryCountAsync(string accountId) => (await _ledger.HistoryAsync(accountId, 1, 0)).Total;

    private async Task<IReadOnlyList<LedgerEntry>> AllEntriesAsync(string accountId) =>
        (await _ledger.HistoryAsync(accountId, 100_000, 0)).Entries;

    private async Task AssertSoundAsync(string accountId)
    {
        var problems = await _ledger.VerifyAsync(accountId);
        Assert.True(problems.Count == 0, "ledger problems:\n" + string.Join("\n", problems));
    }

    private async Task<Reservation> ReserveOkAsync(string accountId, decimal credits, TimeSpan? timeout = null)
    {
        var outcome = await _ledger.ReserveAsync(accountId, C(credits), timeout ?? Hold, "test hold");
        Assert.True(outcome.Succeeded, $"reserve of {credits} failed: {outcome.Balance}");
        Assert.Equal(C(credits), outcome.Reservation!.Amount);
        Assert.Equal(accountId, outcome.Reservation.AccountId);
        return outcome.Reservation;
    }

    // --- grant ---

    [SkippableFact]
    public async Task Grant_adds_to_balance_and_writes_a_grant_entry()
    {
        var id = await AccountWithAsync(100m);
        var balance = await BalanceAsync(id);
        Assert.Equal(C(100m), balance.Total);
        Assert.Equal(Millicredits.Zero, balance.Reserved);

        var entries = await AllEntriesAsync(id);
        var grant = Assert.Single(entries);
        Assert.Equal(LedgerKind.Grant, grant.Kind);
        Assert.Equal(C(100m), grant.Amount);
        Assert.Equal(Millicredits.Zero, grant.Hold);
        Assert.Equal(C(100m), grant.BalanceAfter);
        Assert.Equal("initial grant", grant.Description);
        Assert.Equal(Db.Time.GetUtcNow(), grant.CreatedAt);
        await AssertSoundAsync(id);
    }

    // --- reserve ---

    [SkippableFact]
    public async Task Reserve_holds_the_amount_without_changing_the_balance()
    {
        var id = await AccountWithAsync(100m);
        var outcome = await _ledger.ReserveAsync(id, C(48m), Hold, "dall-e-3");
        Assert.True(outcome.Succeeded);
        Assert.Equal(C(100m), outcome.Balance.Total);
        Assert.Equal(C(48m), outcome.Balance.Reserved);
        Assert.Equal(C(52m), outcome.Balance.Available);
        Assert.Equal(outcome.Balance, await BalanceAsync(id));

        var reserve = (await AllEntriesAsync(id))[0];
        Assert.Equal(LedgerKind.Reserve, reserve.Kind);
        Assert.Equal(Millicredits.Zero, reserve.Amount);
        Assert.Equal(C(48m), reserve.Hold);
        Assert.Equal(outcome.Reservation!.Id, reserve.ReservationId);
        await AssertSoundAsync(id);
    }

    [SkippableFact]
    public async Task Reserve_fails_when_open_holds_exhaust_balance()
    {
        var id = await AccountWithAsync(100m);
        await ReserveOkAsync(id, 60m);
        await ReserveOkAsync(id, 40m);
        var entriesBefore = await EntryCountAsync(id);

        var outcome = await _ledger.ReserveAsync(id, C(0.001m), Hold, "one too many");

        Assert.False(outcome.Succeeded);
        Assert.Null(outcome.Reservation);
        Assert.Equal(C(100m), outcome.Balance.Total);
        Assert.Equal(C(100m), outcome.Balance.Reserved);
        Assert.Equal(Millicredits.Zero, outcome.Balance.Available);
        Assert.Equal(entriesBefore, await EntryCountAsync(id));
        Assert.Equal(C(100m), (await BalanceAsync(id)).Reserved);
        await AssertSoundAsync(id);
    }

    [SkippableFact]
    public async Task Reserve_fails_when_the_cost_exceeds_what_open_holds_leave_and_succeeds_at_exactly_the_rest()
    {
        var id = await AccountWithAsync(100m);
        await ReserveOkAsync(id, 60m);
        var entriesBefore = await EntryCountAsync(id);

        var tooMuch = await _ledger.ReserveAsync(id, C(40.001m), Hold, null);
        Assert.False(tooMuch.Succeeded);
        Assert.Equal(C(40m), tooMuch.Balance.Available);
        Assert.Equal(entriesBefore, await EntryCountAsync(id));

        var exact = await _ledger.ReserveAsync(id, C(40m), Hold, null);
        Assert.True(exact.Succeeded);
        Assert.Equal(Millicredits.Zero, exact.Balance.Available);
        await AssertSoundAsync(id);
    }

    [SkippableFact]
    public async Task Reserve_on_an_empty_account_fails_and_writes_nothing()
    {
        var id = await AccountWithAsync(0m);
        var outcome = await _ledger.ReserveAsync(id, C(1m), Hold, null);
        Assert.False(outcome.Succeeded);
        Assert.Equal(0, await EntryCountAsync(id));
        await AssertSoundAsync(id);
    }

    [SkippableFact]
    public async Task Reserve_on_an_unknown_account_fails()
    {
        var outcome = await _ledger.ReserveAsync("usr_does_not_exist", C(1m), Hold, null);
        Assert.False(outcome.Succeeded);
        Assert.Equal(Millicredits.Zero, outcome.Balance.Total);
        Assert.Equal(0, await EntryCountAsync("usr_does_not_exist"));
    }

    [SkippableTheory]
    [InlineData(0)]
    [InlineData(-1000)]
    public async Task Reserve_of_a_non_positive_amount_is_refused(long millicredits)
    {
        var id = await AccountWithAsync(10m);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            _ledger.ReserveAsync(id, new Millicredits(millicredits), Hold, null));
        Assert.Equal(C(10m), (await BalanceAsync(id)).Available);
    }

    // --- settle ---

    [SkippableFact]
    public async Task Settle_of_fewer_images_charges_less_and_frees_the_rest()
    {
        var id = await AccountWithAsync(1000m);
        var reservation = await ReserveOkAsync(id, 4 * 48m); // 4 images reserved

        var settlement = await _ledger.SettleAsync(reservation, C(3 * 48m), "3 of 4 images");

        Assert.Equal(C(144m), settlement.Charged);
        Assert.Equal(C(856m), settlement.BalanceAfter);
        var balance = await BalanceAsync(id);
        Assert.Equal(C(856m), balance.Total);
        Assert.Equal(Millicredits.Zero, balance.Reserved);
        Assert.Equal(C(856m), balance.Available);

        var settle = (await AllEntriesAsync(id))[0];
        Assert.Equal(settlement.TransactionId, settle.Id);
        Assert.Equal(LedgerKind.Settle, settle.Kind);
        Assert.Equal(C(-144m), settle.Amount);
        Assert.Equal(C(-192m), settle.Hold);
        Assert.Equal(C(856m), settle.BalanceAfter);
        Assert.Equal(reservation.Id, settle.ReservationId);
        Assert.Equal("3 of 4 images", settle.Description);
        await AssertSoundAsync(id);
    }

    [SkippableFact]
    public async Task Settle_of_the_full_amount_charges_all_of_it()
    {
        var id = await AccountWithAsync(100m);
        var reservation = await ReserveOkAsync(id, 21.6m);
        var settlement = await _ledger.SettleAsync(reservation, C(21.6m), null);
        Assert.Equal(C(78.4m), settlement.BalanceAfter);
        Assert.Equal(new Balance(C(78.4m), Millicredits.Zero), await BalanceAsync(id));
        await AssertSoundAsync(id);
    }

    [SkippableFact]
    public async Task Settle_of_zero_is_a_release()
    {
        var id = await AccountWithAsync(100m);
        var reservation = await ReserveOkAsync(id, 48m);
        var settlement = await _ledger.SettleAsync(reservation, Millicredits.Zero, "nothing generated");
        Assert.Equal(C(100m), settlement.BalanceAfter);
        var entry = (await AllEntriesAsync(id))[0];
        Assert.Equal(LedgerKind.Release, entry.Kind);
        Assert.Equal(Millicredits.Zero, entry.Amount);
        Assert.Equal(C(-48m), entry.Hold);
        Assert.Equal(new Balance(C(100m), Millicredits.Zero), await BalanceAsync(id));
        await AssertSoundAsync(id);
    }

    [SkippableFact]
    public async Task A_negative_settle_is_refused_and_leaves_the_hold_open()
    {
        var id = await AccountWithAsync(100m);
        var reservation = await ReserveOkAsync(id, 48m);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            _ledger.SettleAsync(reservation, new Millicredits(-1), null));
        Assert.Equal(new Balance(C(100m), C(48m)), await BalanceAsync(id));
        await _ledger.SettleAsync(reservation, C(48m), null);
        await AssertSoundAsync(id);
    }

    // --- actual above the hold (token-priced answers, DESIGN §12.4) ---

    [SkippableFact]
    public async Task Settle_above_the_hold_takes_the_excess_from_the_available_balance()
    {
        var id = await AccountWithAsync(100m);
        var reservation = await ReserveOkAsync(id, 48m);

        var settlement = await _ledger.SettleAsync(reservation, C(60.5m), "over the hold");

        Assert.Equal((C(60.5m), C(39.5m), Millicredits.Zero), (settlement.Charged, settlement.BalanceAfter, settlement.WrittenOff));
        Assert.Equal(new Balance(C(39.5m), Millicredits.Zero), await BalanceAsync(id));
        var entries = await AllEntriesAsync(id);
        Assert.Equal(LedgerKind.Settle, entries[0].Kind);
        Assert.Equal((C(-60.5m), C(-48m)), (entries[0].Amount, entries[0].Hold));
        Assert.DoesNotContain(entries, e => e.Kind == LedgerKind.WriteOff);
        Assert.Equal(C(60.5m), await _ledger.MonthSpentAsync(id));
        await AssertSoundAsync(id);
    }

    [SkippableFact]
    public async Task Excess_beyond_the_available_balance_is_a_write_off_and_other_holds_stay_covered()
    {
        var id = await AccountWithAsync(100m);
        var other = await ReserveOkAsync(id, 30m);
        var reservation = await ReserveOkAsync(id, 50m);

        // 20 credits are free besides the two holds: 50 + 20 are charged, 25 of the 95 are written off.
        var settlement = await _ledger.SettleAsync(reservation, C(95m), "far over the hold");

        Assert.Equal((C(70m), C(30m), C(25m)), (settlement.Charged, settlement.BalanceAfter, settlement.WrittenOff));
        Assert.Equal(new Balance(C(30m), C(30m)), await BalanceAsync(id)); // the other hold is still whole
        var entries = await AllEntriesAsync(id);
        Assert.Equal(LedgerKind.WriteOff, entries[0].Kind);
        Assert.Equal((Millicredits.Zero, Millicredits.Zero, C(25m), C(30m)), (entries[0].Amount, entries[0].Hold, entries[0].WrittenOff, entries[0].BalanceAfter));
        Assert.Equal(reservation.Id, entries[0].ReservationId);
        Assert.Equal(LedgerKind.Settle, entries[1].Kind);
        Assert.Equal(C(-70m), entries[1].Amount);
        Assert.Equal(C(70m), await _ledger.MonthSpentAsync(id));
        await AssertSoundAsync(id);

        await _ledger.SettleAsync(other, C(30m), null);
        Assert.Equal(new Balance(Millicredits.Zero, Millicredits.Zero), await BalanceAsync(id));
        await AssertSoundAsync(id);
    }

    [SkippableFact]
    public async Task A_write_off_on_an_empty_balance_charges_only_the_hold_and_never_goes_negative()
    {
        var id = await AccountWithAsync(10m);
        var reservation = await ReserveOkAsync(id, 10m);

        var settlement = await _ledger.SettleAsync(reservation, C(12.345m), null);

        Assert.Equal((C(10m), Millicredits.Zero, C(2.345m)), (settlement.Charged, settlement.BalanceAfter, settlement.WrittenOff));
        Assert.Equal(new Balance(Millicredits.Zero, Millicredits.Zero), await BalanceAsync(id));
        await AssertSoundAsync(id);
    }

    [SkippableFact]
    public async Task Settle_shows_up_in_spent_since()
    {
        var start = Db.Time.GetUtcNow();
        var id = await AccountWithAsync(100m);
        await _ledger.SettleAsync(await ReserveOkAsync(id, 10m), C(7.5m), null);
        await _ledger.ReleaseAsync(await ReserveOkAsync(id, 10m), null);
        Assert.Equal(C(7.5m), await _ledger.SpentSinceAsync(id, start));
        Assert.Equal(Millicredits.Zero, await _ledger.SpentSinceAsync(id, start.AddSeconds(1)));
    }

    // --- release ---

    [SkippableFact]
    public async Task Release_on_failure_restores_availability_with_balance_unchanged()
    {
        var id = await AccountWithAsync(100m);
        var reservation = await ReserveOkAsync(id, 96m);
        Assert.Equal(C(4m), (await BalanceAsync(id)).Available);

        Assert.True(await _ledger.ReleaseAsync(reservation, "upstream failed"));

        var balance = await BalanceAsync(id);
        Assert.Equal(C(100m), balance.Total);
        Assert.Equal(Millicredits.Zero, balance.Reserved);
        Assert.Equal(C(100m), balance.Available);
        var entry = (await AllEntriesAsync(id))[0];
        Assert.Equal(LedgerKind.Release, entry.Kind);
        Assert.Equal(Millicredits.Zero, entry.Amount);
        Assert.Equal(C(-96m), entry.Hold);
        Assert.Equal(C(100m), entry.BalanceAfter);
        Assert.Equal("upstream failed", entry.Description);

        // The freed credits can be reserved again.
        await ReserveOkAsync(id, 100m);
        await AssertSoundAsync(id);
    }

    // --- exactly once ---

    [SkippableFact]
    public async Task Reservation_cannot_be_settled_twice()
    {
        var id = await AccountWithAsync(100m);
        var reservation = await ReserveOkAsync(id, 48m);
        await _ledger.SettleAsync(reservation, C(48m), null);
        var entries = await EntryCountAsync(id);

        var e = await Assert.ThrowsAsync<ReservationClosedException>(() => _ledger.SettleAsync(reservation, C(48m), null));
        Assert.Contains(reservation.Id, e.Message);

        Assert.Equal(new Balance(C(52m), Millicredits.Zero), await BalanceAsync(id));
        Assert.Equal(entries, await EntryCountAsync(id));
        await AssertSoundAsync(id);
    }

    [SkippableFact]
    public async Task Reservation_cannot_be_released_after_settle()
    {
        var id = await AccountWithAsync(100m);
        var reservation = await ReserveOkAsync(id, 48m);
        await _ledger.SettleAsync(reservation, C(24m), null);
        var entries = await EntryCountAsync(id);

        Assert.False(await _ledger.ReleaseAsync(reservation, "late failure"));

        Assert.Equal(new Balance(C(76m), Millicredits.Zero), await BalanceAsync(id));
        Assert.Equal(entries, await EntryCountAsync(id));
        await AssertSoundAsync(id);
    }

    [SkippableFact]
    public async Task Reservation_cannot_be_settled_after_release_nor_released_twice()
    {
        var id = await AccountWithAsync(100m);
        var reservation = await ReserveOkAsync(id, 48m);
        Assert.True(await _ledger.ReleaseAsync(reservation, null));
        Assert.False(await _ledger.ReleaseAsync(reservation, null));
        await Assert.ThrowsAsync<ReservationClosedException>(() => _ledger.SettleAsync(reservation, C(48m), null));
        Assert.Equal(new Balance(C(100m), Millicredits.Zero), await BalanceAsync(id));
        Assert.Equal(3, await EntryCountAsync(id)); // grant, reserve, release
        await AssertSoundAsync(id);
    }

    [SkippableFact]
    public async Task Concurrent_settles_of_one_reservation_charge_exactly_once()
    {
        var id = await AccountWithAsync(100m);
        var reservation = await ReserveOkAsync(id, 48m);

        var attempts = Enumerable.Range(0, 20).Select(i => Task.Run(async () =>
        {
            try
            {
                if (i % 2 == 0) { await _ledger.SettleAsync(reservation, C(48m), null); return true; }
                return await _ledger.ReleaseAsync(reservation, null);
            }
            catch (ReservationClosedException)
            {
                return false;
            }
        })).ToArray();
        var results = await Task.WhenAll(attempts);

        Assert.Equal(1, results.Count(r => r));
        var balance = await BalanceAsync(id);
        Assert.Equal(Millicredits.Zero, balance.Reserved);
        Assert.True(balance.Total == C(52m) || balance.Total == C(100m), $"balance {balance.Total}");
        Assert.Equal(3, await EntryCountAsync(id));
        await AssertSoundAsync(id);
    }

    // --- sweeper ---

    [SkippableFact]
    public async Task ExpireStaleHolds_releases_only_holds_past_their_timeout()
    {
        var id = await AccountWithAsync(100m);
        var shortHold = await ReserveOkAsync(id, 10m, TimeSpan.FromSeconds(60));
        var longHold = await ReserveOkAsync(id, 20m, TimeSpan.FromSeconds(600));
        var settled = await ReserveOkAsync(id, 5m, TimeSpan.FromSeconds(1));
        await _ledger.SettleAsync(settled, C(5m), null);

        Assert.Equal(0, await _ledger.ExpireStaleHoldsAsync());
        Db.Time.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(0, await _ledger.ExpireStaleHoldsAsync());
        Assert.Equal(C(30m), (await BalanceAsync(id)).Reserved);

        Db.Time.Advance(TimeSpan.FromSeconds(2)); // 61 s: past the 60 s hold only
        Assert.Equal(1, await _ledger.ExpireStaleHoldsAsync());

        var balance = await BalanceAsync(id);
        Assert.Equal(C(95m), balance.Total);
        Assert.Equal(C(20m), balance.Reserved);
        var expired = (await AllEntriesAsync(id))[0];
        Assert.Equal(LedgerKind.ExpireHold, expired.Kind);
        Assert.Equal(shortHold.Id, expired.ReservationId);
        Assert.Equal(Millicredits.Zero, expired.Amount);
        Assert.Equal(C(-10m), expired.Hold);
        Assert.Equal(Db.Time.GetUtcNow(), expired.CreatedAt);

        // An expired hold is closed: the late request can neither settle nor release it.
        await Assert.ThrowsAsync<ReservationClosedException>(() => _ledger.SettleAsync(shortHold, C(10m), null));
        Assert.False(await _ledger.ReleaseAsync(shortHold, null));
        Assert.Equal(0, await _ledger.ExpireStaleHoldsAsync());

        // The long hold is still open and can be settled.
        await _ledger.SettleAsync(longHold, C(20m), null);
        Assert.Equal(new Balance(C(75m), Millicredits.Zero), await BalanceAsync(id));
        await AssertSoundAsync(id);
    }

    [SkippableFact]
    public async Task ExpireStaleHolds_writes_one_expire_hold_entry_per_stale_hold()
    {
        var id = await AccountWithAsync(100m);
        var holds = new List<Reservation>();
        for (var i = 1; i <= 5; i++) holds.Add(await ReserveOkAsync(id, i, TimeSpan.FromSeconds(10)));
        Db.Time.Advance(TimeSpan.FromSeconds(11));

        Assert.Equal(5, await _ledger.ExpireStaleHoldsAsync());
        Assert.Equal(0, await _ledger.ExpireStaleHoldsAsync());

        var expired = (await AllEntriesAsync(id)).Where(e => e.Kind == LedgerKind.ExpireHold).ToArray();
        Assert.Equal(5, expired.Length);
        Assert.Equal(holds.Select(h => h.Id).Order(), expired.Select(e => e.ReservationId!).Order());
        Assert.Equal(new Balance(C(100m), Millicredits.Zero), await BalanceAsync(id));
        await AssertSoundAsync(id);
    }

    [SkippableFact]
    public async Task ExpireStaleHolds_with_all_releases_every_open_hold_regardless_of_age()
    {
        var id = await AccountWithAsync(100m);
        await ReserveOkAsync(id, 10m, TimeSpan.FromHours(1));
        await ReserveOkAsync(id, 20m, TimeSpan.FromDays(1));
        Assert.Equal(0, await _ledger.ExpireStaleHoldsAsync());
        Assert.Equal(2, await _ledger.ExpireStaleHoldsAsync(all: true));
        Assert.Equal(new Balance(C(100m), Millicredits.Zero), await BalanceAsync(id));
        await AssertSoundAsync(id);
    }

    // --- adjustments ---

    [SkippableFact]
    public async Task Negative_adjustment_cannot_go_below_zero()
    {
        var id = await AccountWithAsync(10m);
        var entries = await EntryCountAsync(id);

        Assert.Null(await _ledger.AdjustAsync(id, C(-10.001m), LedgerKind.Adjustment, "too much"));
        Assert.Equal(C(10m), (await BalanceAsync(id)).Total);
        Assert.Equal(entries, await EntryCountAsync(id));

        var down = await _ledger.AdjustAsync(id, C(-10m), LedgerKind.Adjustment, "to zero");
        Assert.NotNull(down);
        Assert.Equal(Millicredits.Zero, down!.Total);
        var entry = (await AllEntriesAsync(id))[0];
        Assert.Equal(LedgerKind.Adjustment, entry.Kind);
        Assert.Equal(C(-10m), entry.Amount);
        Assert.Equal(Millicredits.Zero, entry.BalanceAfter);

        Assert.Null(await _ledger.AdjustAsync(id, new Millicredits(-1), LedgerKind.Adjustment, null));
        await AssertSoundAsync(id);
    }

    [SkippableFact]
    public async Task Negative_adjustment_cannot_go_below_reserved()
    {
        var id = await AccountWithAsync(100m);
        await ReserveOkAsync(id, 70m);
        var entries = await EntryCountAsync(id);

        Assert.Null(await _ledger.AdjustAsync(id, C(-30.001m), LedgerKind.Adjustment, null));
        Assert.Equal(new Balance(C(100m), C(70m)), await BalanceAsync(id));
        Assert.Equal(entries, await EntryCountAsync(id));

        var down = await _ledger.AdjustAsync(id, C(-30m), LedgerKind.Adjustment, null);
        Assert.Equal(new Balance(C(70m), C(70m)), down);
        await AssertSoundAsync(id);
    }

    [SkippableFact]
    public async Task Adjustment_of_an_unknown_account_returns_null()
    {
        Assert.Null(await _ledger.AdjustAsync("usr_missing", C(10m), LedgerKind.Grant, null));
        Assert.Null(await _ledger.GetBalanceAsync("usr_missing"));
    }

    [SkippableFact]
    public async Task Zero_adjustment_writes_no_entry()
    {
        var id = await AccountWithAsync(10m);
        var result = await _ledger.AdjustAsync(id, Millicredits.Zero, LedgerKind.Adjustment, null);
        Assert.Equal(new Balance(C(10m), Millicredits.Zero), result);
        Assert.Equal(1, await EntryCountAsync(id));
    }

    // --- history ---

    [SkippableFact]
    public async Task History_is_newest_first_and_paginated_with_correct_total()
    {
        var id = await AccountWithAsync(1000m);
        var expectedOldestFirst = new List<string> { "initial grant" };
        for (var i = 0; i < 6; i++)
        {
            Db.Time.Advance(TimeSpan.FromSeconds(1));
            var r = (await _ledger.ReserveAsync(id, C(10m), Hold, $"reserve {i}")).Reservation!;
            expectedOldestFirst.Add($"reserve {i}");
            Db.Time.Advance(TimeSpan.FromSeconds(1));
            await _ledger.SettleAsync(r, C(i), $"settle {i}");
            expectedOldestFirst.Add($"settle {i}");
        }
        // An account whose entries must not show up.
        var other = await AccountWithAsync(5m);
        await _ledger.AdjustAsync(other, C(1m), LedgerKind.Purchase, "other account");

        var newestFirst = Enumerable.Reverse(expectedOldestFirst).ToArray();
        Assert.Equal(13, newestFirst.Length);

        var collected = new List<LedgerEntry>();
        for (var offset = 0; offset < 13; offset += 5)
        {
            var (page, total) = await _ledger.HistoryAsync(id, 5, offset);
            Assert.Equal(13, total);
            Assert.Equal(Math.Min(5, 13 - offset), page.Count);
            collected.AddRange(page);
        }
        Assert.Equal(newestFirst, collected.Select(e => e.Description).ToArray());
        Assert.Equal(collected.Count, collected.Select(e => e.Id).Distinct().Count());

        // Timestamps never increase going down the list; balance_after walks back to the grant.
        for (var i = 1; i < collected.Count; i++)
            Assert.True(collected[i].CreatedAt <= collected[i - 1].CreatedAt);
        Assert.Equal(C(1000m - (0 + 1 + 2 + 3 + 4 + 5)), collected[0].BalanceAfter);
        Assert.Equal(C(1000m), collected[^1].BalanceAfter);

        var (beyond, beyondTotal) = await _ledger.HistoryAsync(id, 5, 100);
        Assert.Empty(beyond);
        Assert.Equal(13, beyondTotal);

        var (otherPage, otherTotal) = await _ledger.HistoryAsync(other, 50, 0);
        Assert.Equal(2, otherTotal);
        Assert.Equal(new string?[] { "other account", "initial grant" }, otherPage.Select(e => e.Description).ToArray());
    }

    // --- concurrency ---

    [SkippableFact]
    public async Task Concurrent_reserves_succeed_exactly_as_many_times_as_the_balance_allows()
    {
        var id = await AccountWithAsync(37m);
        using var start = new ManualResetEventSlim();
        var tasks = Enumerable.Range(0, 100).Select(_ => Task.Run(async () =>
        {
            start.Wait();
            return await _ledger.ReserveAsync(id, C(1m), Hold, "parallel");
        })).ToArray();
        start.Set();
        var outcomes = await Task.WhenAll(tasks);

        Assert.Equal(37, outcomes.Count(o => o.Succeeded));
        Assert.Equal(63, outcomes.Count(o => !o.Succeeded));
        Assert.Equal(37, outcomes.Where(o => o.Succeeded).Select(o => o.Reservation!.Id).Distinct().Count());
        Assert.Equal(new Balance(C(37m), C(37m)), await BalanceAsync(id));
        Assert.Equal(1 + 37, await EntryCountAsync(id));
        await AssertSoundAsync(id);
    }

    [SkippableFact]
    public async Task Concurrent_reserves_settles_and_grants_keep_the_ledger_sound()
    {
        var id = await AccountWithAsync(50m);
        var tasks = Enumerable.Range(0, 60).Select(i => Task.Run(async () =>
        {
            if (i % 10 == 0)
            {
                await _ledger.AdjustAsync(id, C(5m), LedgerKind.Grant, "top-up");
                return 0m;
            }
            var outcome = await _ledger.ReserveAsync(id, C(3m), Hold, null);
            if (!outcome.Succeeded) return 0m;
            if (i % 3 == 0) { await _ledger.ReleaseAsync(outcome.Reservation!, null); return 0m; }
            await _ledger.SettleAsync(outcome.Reservation!, C(2m), null);
            return 2m;
        })).ToArray();
        var charged = (await Task.WhenAll(tasks)).Sum();

        var balance = await BalanceAsync(id);
        Assert.Equal(C(50m + 6 * 5m - charged), balance.Total);
        Assert.Equal(Millicredits.Zero, balance.Reserved);
        await AssertSoundAsync(id);
    }

    // --- property-style: random operation sequences against an independent model ---

    [SkippableTheory]
    [InlineData(20261123, 2000)]
    [InlineData(1, 400)]
    [InlineData(42, 400)]
    [InlineData(987654321, 400)]
    public async Task Random_operation_sequence_keeps_the_ledger_sound_and_matches_a_model(int seed, int operations)
    {
        var random = new Random(seed);
        var id = await AccountWithAsync(0m);
        var other = await AccountWithAsync(1m); // a neighbour that must stay untouched

        long balance = 0, reserved = 0, entries = 0;
        var open = new List<(Reservation Reservation, long ExpiresAt)>();
        var closed = new List<Reservation>();
        long NowMs() => Db.Time.GetUtcNow().ToUnixTimeMilliseconds();

        void AssertModel(Balance actual, string step)
        {
            Assert.True(actual.Total.Value == balance && actual.Reserved.Value == reserved,
                $"seed {seed} {step}: ledger ({actual.Total.Value},{actual.Reserved.Value}) != model ({balance},{reserved})");
        }

        for (var step = 0; step < operations; step++)
        {
            var roll = random.Next(100);
            string what;
            if (roll < 10)
            {
                var amount = random.NextInt64(1, 200_000);
                what = $"grant {amount}";
                var result = await _ledger.AdjustAsync(id, new Millicredits(amount), LedgerKind.Grant, what);
                Assert.NotNull(result);
                balance += amount;
                entries++;
                AssertModel(result!, what);
            }
            else if (roll < 45)
            {
                var amount = random.NextInt64(1, 60_000);
                var timeout = TimeSpan.FromMilliseconds(random.Next(1_000, 120_000));
                what = $"reserve {amount}";
                var outcome = await _ledger.ReserveAsync(id, new Millicredits(amount), timeout, what);
                var shouldSucceed = balance - reserved >= amount;
                Assert.True(shouldSucceed == outcome.Succeeded, $"seed {seed} step {step}: {what} succeeded={outcome.Succeeded}, model says {shouldSucceed}");
                if (outcome.Succeeded)
                {
                    reserved += amount;
                    entries++;
                    open.Add((outcome.Reservation!, NowMs() + (long)timeout.TotalMilliseconds));
                }
                AssertModel(outcome.Balance, what);
            }
            else if (roll < 65)
            {
                if (open.Count == 0) continue;
                var index = random.Next(open.Count);
                var (reservation, _) = open[index];
                // Partial settles: any amount from 0 (a release) to the whole hold.
                var actual = random.Next(4) switch
                {
                    0 => reservation.Amount.Value,
                    1 => 0,
                    _ => random.NextInt64(0, reservation.Amount.Value + 1),
                };
                what = $"settle {actual} of {reservation.Amount.Value}";
                var settlement = await _ledger.SettleAsync(reservation, new Millicredits(actual), what);
                balance -= actual;
                reserved -= reservation.Amount.Value;
                entries++;
                open.RemoveAt(index);
                closed.Add(reservation);
                Assert.Equal(balance, settlement.BalanceAfter.Value);
                Assert.Equal(actual, settlement.Charged.Value);
            }
            else if (roll < 75)
            {
                if (open.Count == 0) continue;
                var index = random.Next(open.Count);
                var (reservation, _) = open[index];
                what = $"release {reservation.Amount.Value}";
                Assert.True(await _ledger.ReleaseAsync(reservation, what));
                reserved -= reservation.Amount.Value;
                entries++;
                open.RemoveAt(index);
                closed.Add(reservation);
            }
            else if (roll < 83)
            {
                Db.Time.Advance(TimeSpan.FromMilliseconds(random.Next(0, 60_000)));
                var now = NowMs();
                var stale = open.Where(o => o.ExpiresAt < now).ToList();
                what = $"expire ({stale.Count} stale)";
                var released = await _ledger.ExpireStaleHoldsAsync();
                Assert.True(stale.Count == released, $"seed {seed} step {step}: expired {released}, model says {stale.Count}");
                foreach (var s in stale)
                {
                    reserved -= s.Reservation.Amount.Value;
                    entries++;
                    open.Remove(s);
                    closed.Add(s.Reservation);
                }
            }
            else if (roll < 93)
            {
                var amount = random.NextInt64(-150_000, 100_000);
                what = $"adjust {amount}";
                var result = await _ledger.AdjustAsync(id, new Millicredits(amount), LedgerKind.Adjustment, what);
                var shouldSucceed = balance + amount >= reserved;
                Assert.True(shouldSucceed == (result is not null), $"seed {seed} step {step}: {what} result={result}, model says {shouldSucceed}");
                if (result is not null)
                {
                    balance += amount;
                    if (amount != 0) entries++;
                    AssertModel(result, what);
                }
            }
            else
            {
                // A late or duplicate close of an already closed reservation must change nothing.
                if (closed.Count == 0) continue;
                var reservation = closed[random.Next(closed.Count)];
                what = $"late close of {reservation.Id}";
                if (random.Next(2) == 0)
                    await Assert.ThrowsAsync<ReservationClosedException>(() => _ledger.SettleAsync(reservation, reservation.Amount, what));
                else
                    Assert.False(await _ledger.ReleaseAsync(reservation, what));
            }

            Assert.True(balance >= 0 && reserved >= 0 && reserved <= balance, $"seed {seed} step {step}: model broke ({balance},{reserved})");
            if (step % 100 == 0)
            {
                AssertModel(await BalanceAsync(id), $"step {step} ({what})");
                await AssertSoundAsync(id);
            }
        }

        AssertModel(await BalanceAsync(id), "end");
        Assert.Equal(open.Sum(o => o.Reservation.Amount.Value), reserved);
        await AssertSoundAsync(id);

        var (all, total) = await _ledger.HistoryAsync(id, int.MaxValue, 0);
        Assert.Equal(entries, total);
        Assert.Equal(total, all.Count);
        Assert.Equal(balance, all.Sum(e => e.Amount.Value));
        Assert.Equal(reserved, all.Sum(e => e.Hold.Value));
        if (all.Count > 0) Assert.Equal(balance, all[0].BalanceAfter.Value);

        // Closing every remaining hold leaves nothing reserved and the balance untouched.
        Assert.Equal(open.Count, await _ledger.ExpireStaleHoldsAsync(all: true));
        Assert.Equal(new Balance(new Millicredits(balance), Millicredits.Zero), await BalanceAsync(id));
        await AssertSoundAsync(id);

        Assert.Equal(new Balance(C(1m), Millicredits.Zero), await BalanceAsync(other));
        await AssertSoundAsync(other);
    }
}
