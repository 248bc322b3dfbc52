using Dapper;
using ImageGateway.Data;

namespace ImageGateway.Billing;

/// <summary>
/// The append-only credits ledger. Every movement is one entry carrying two deltas:
/// <c>amount</c> changes the balance, <c>hold</c> changes the reserved total. So for every account
/// <c>balance = Σ amount</c> and <c>reserved = Σ hold = Σ open reservations</c>, at all times.
/// Each operation is a single write transaction whose first statement is a conditional UPDATE,
/// so concurrent requests can never both pass a balance check (no read-then-write).
/// </summary>
public sealed class CreditLedger(Database db, TimeProvider time)
{
    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    public Task<ReserveOutcome> ReserveAsync(string accountId, Millicredits amount, TimeSpan holdTimeout,
        string? description, CancellationToken ct = default) =>
        ReserveAsync(accountId, amount, holdTimeout, description, monthlyCap: null, ct);

    /// <summary>
    /// Holds <paramref name="amount"/> if the available balance covers it and, when a cap is given,
    /// this month's settled spend plus every open hold plus this amount stays within the cap. Both
    /// conditions are in the one UPDATE, so concurrent requests cannot overspend either.
    /// The hold is a deferred write (<see cref="Database.WriteDeferredAsync{T}"/>): every later write
    /// and read sees it at once, and it is committed with the request's settle or release, or within
    /// 50 ms by itself (SQLite's flush timer), whichever comes first. A crash before that commit loses the hold
    /// whole, which is what the start-up sweep would have done with it anyway.
    /// </summary>
    public Task<ReserveOutcome> ReserveAsync(string accountId, Millicredits amount, TimeSpan holdTimeout,
        string? description, Millicredits? monthlyCap, CancellationToken ct = default)
    {
        if (amount.Value <= 0) throw new ArgumentOutOfRangeException(nameof(amount), "A reservation must be positive.");
        return db.WriteAsync(AccountRow(accountId), async scope =>
        {
            var now = Now;
            var month = MonthKey(now);
            var row = await scope.QueryFirstAsync(
                """
                UPDATE accounts SET reserved_mc = reserved_mc + @Amount
                WHERE id = @AccountId AND balance_mc - reserved_mc >= @Amount
                  AND (@Cap < 0 OR (CASE WHEN month_key = @Month THEN month_spent_mc ELSE 0 END) + reserved_mc + @Amount <= @Cap)
                RETURNING balance_mc, reserved_mc
                """, r => new BalanceRow(r.GetInt64(0), r.GetInt64(1)),
                ("@AccountId", accountId), ("@Amount", amount.Value), ("@Cap", monthlyCap?.Value ?? -1L), ("@Month", month));
            if (row is null)
            {
                var current = await ReadBalanceAsync(scope, accountId);
                if (current.Available < amount) return new ReserveOutcome(null, current, ReserveRefusal.InsufficientCredits);
                var spent = await scope.Connection.ExecuteScalarAsync<long>(
                    "SELECT CASE WHEN month_key = @month THEN month_spent_mc ELSE 0 END FROM accounts WHERE id = @accountId",
                    new { month, accountId }, scope.Transaction);
                return new ReserveOutcome(null, current, ReserveRefusal.MonthlyCap, new Millicredits(spent));
            }

            var reservation = new Reservation(Ids.Ordered("res", DateTimeOffset.FromUnixTimeMilliseconds(now)), accountId, amount);
            await scope.ExecuteAsync(
                """
                INSERT INTO reservations (id, account_id, amount_mc, state, created_at, expires_at)
                VALUES (@Id, @AccountId, @Amount, 'open', @Now, @ExpiresAt)
                """,
                ("@Id", reservation.Id), ("@AccountId", accountId), ("@Amount", amount.Value), ("@Now", now),
                ("@ExpiresAt", now + (long)holdTimeout.TotalMilliseconds));
            await AppendAsync(scope, accountId, LedgerKind.Reserve, 0, amount.Value, row.BalanceMc, reservation.Id, description, now);
            return new ReserveOutcome(reservation, row.ToBalance());
        }, deferred: true, ct);
    }

    /// <summary>
    /// Closes the reservation, charging <paramref name="actual"/> and freeing the rest of the hold.
    /// Settling zero is a release. An actual above the hold (a token-priced answer that used more
    /// than its bound) takes the excess from the available balance as far as it goes; the rest is a
    /// <c>write_off</c> entry, so the balance never goes below zero or below other holds. Throws
    /// <see cref="ReservationClosedException"/> when the reservation was already closed, so a hold
    /// can never be charged twice.
    /// </summary>
    public Task<Settlement> SettleAsync(Reservation reservation, Millicredits actual, string? description, CancellationToken ct = default) =>
        db.WriteAsync(AccountRow(reservation.AccountId), scope => SettleAsync(scope, reservation, actual, description), ct: ct);

    /// <summary>The key that queues one account's ledger writes (<see cref="Database.WriteAsync{T}(string, Func{WriteScope, Task{T}}, bool, CancellationToken)"/>).</summary>
    public static string AccountRow(string accountId) => "accounts:" + accountId;

    /// <summary>
    /// <see cref="SettleAsync(Reservation, Millicredits, string?, CancellationToken)"/> inside a write the
    /// caller runs, so whatever else it writes there commits or rolls back with the charge.
    /// </summary>
    public async Task<Settlement> SettleAsync(WriteScope scope, Reservation reservation, Millicredits actual, string? description)
    {
        if (actual.Value < 0) throw new ArgumentOutOfRangeException(nameof(actual), "Settled amount must not be negative.");
        var kind = actual.Value == 0 ? LedgerKind.Release : LedgerKind.Settle;
        var closed = await CloseAsync(scope, reservation.Id, actual.Value == 0 ? "released" : "settled", kind, actual.Value, description)
            ?? throw new ReservationClosedException(reservation.Id);
        return new Settlement(closed.TransactionId, actual - closed.WrittenOff, closed.Balance, closed.WrittenOff);
    }

    /// <summary>Frees a hold without charging. Returns false when it was already closed.</summary>
    public Task<bool> ReleaseAsync(Reservation reservation, string? reason, CancellationToken ct = default) =>
        db.WriteAsync(AccountRow(reservation.AccountId), async scope =>
            await CloseAsync(scope, reservation.Id, "released", LedgerKind.Release, 0, reason) is not null, ct: ct);

    /// <summary>Releases holds whose request must have died (crash, kill -9); <paramref name="all"/> releases every open hold.</summary>
    public async Task<int> ExpireStaleHoldsAsync(bool all = false, CancellationToken ct = default)
    {
        var stale = await db.ReadAsync(c => c.QueryAsync<string>(
            all ? "SELECT id FROM reservations WHERE state = 'open'"
                : "SELECT id FROM reservations WHERE state = 'open' AND expires_at < @Now",
            new { Now })) ;
        var released = 0;
        foreach (var id in stale)
        {
            var closed = await db.WriteAsync(scope =>
                CloseAsync(scope, id, "expired", LedgerKind.ExpireHold, 0, "hold expired: request did not finish"), ct);
            if (closed is not null) released++;
        }
        return released;
    }

    /// <summary>The largest balance an account may hold (a trillion credits), far from integer overflow.</summary>
    public static readonly Millicredits MaxBalance = new(1_000_000_000_000_000);

    /// <summary>
    /// Adds (or, when negative, removes) credits. Null when removal would take the balance below what
    /// is held, or an addition above <see cref="MaxBalance"/>.
    /// </summary>
    public Task<Balance?> AdjustAsync(string accountId, Millicredits amount, string kind, string? reason, CancellationToken ct = default) =>
        db.WriteAsync(AccountRow(accountId), async scope =>
        {
            var row = await scope.Connection.QuerySingleOrDefaultAsync<BalanceRow>(
                """
                UPDATE accounts SET balance_mc = balance_mc + @Amount
                WHERE id = @AccountId AND balance_mc + @Amount >= reserved_mc AND balance_mc <= @Max - @Amount
                RETURNING balance_mc AS BalanceMc, reserved_mc AS ReservedMc
                """, new { AccountId = accountId, Amount = amount.Value, Max = MaxBalance.Value }, scope.Transaction);
            if (row is null) return null;
            if (amount.Value != 0)
                await AppendAsync(scope, accountId, kind, amount.Value, 0, row.BalanceMc, null, reason, Now);
            return row.ToBalance();
        }, ct: ct);

    public Task<Balance?> GetBalanceAsync(string accountId, CancellationToken ct = default) =>
        db.ReadAsync(async c =>
        {
            var row = await c.QuerySingleOrDefaultAsync<BalanceRow>(
                "SELECT balance_mc AS BalanceMc, reserved_mc AS ReservedMc FROM accounts WHERE id = @accountId", new { accountId });
            return row?.ToBalance();
        }, ct);

    /// <summary>
    /// Credits charged this calendar month (UTC), kept on the account row by every settle, so
    /// reading it does not scan the ledger however long it grows.
    /// </summary>
    public Task<Millicredits> MonthSpentAsync(string accountId, CancellationToken ct = default) =>
        db.ReadAsync(async c => new Millicredits(await c.ExecuteScalarAsync<long?>(
            "SELECT CASE WHEN month_key = @month THEN month_spent_mc ELSE 0 END FROM accounts WHERE id = @accountId",
            new { accountId, month = MonthKey(Now) }) ?? 0), ct);

    /// <summary>Credits charged (settled) since <paramref name="since"/>.</summary>
    public Task<Millicredits> SpentSinceAsync(string accountId, DateTimeOffset since, CancellationToken ct = default) =>
        db.ReadAsync(async c => new Millicredits(-await c.ExecuteScalarAsync<long>(
            "SELECT CAST(COALESCE(SUM(amount_mc), 0) AS BIGINT) FROM ledger_entries WHERE account_id = @accountId AND kind = 'settle' AND created_at >= @since",
            new { accountId, since = since.ToUnixTimeMilliseconds() })), ct);

    public Task<(IReadOnlyList<LedgerEntry> Entries, long Total)> HistoryAsync(string accountId, int limit, int offset, CancellationToken ct = default) =>
        db.ReadAsync(async c =>
        {
            var total = await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM ledger_entries WHERE account_id = @accountId", new { accountId });
            var rows = await c.QueryAsync<EntryRow>(
                """
                SELECT id AS Id, kind AS Kind, amount_mc AS AmountMc, hold_mc AS HoldMc, balance_after_mc AS BalanceAfterMc,
                       reservation_id AS ReservationId, description AS Description, created_at AS CreatedAt, written_off_mc AS WrittenOffMc
                FROM ledger_entries WHERE account_id = @accountId ORDER BY seq DESC LIMIT @limit OFFSET @offset
                """, new { accountId, limit, offset });
            IReadOnlyList<LedgerEntry> entries = rows.Select(r => new LedgerEntry(r.Id, r.Kind, new(r.AmountMc), new(r.HoldMc),
                new(r.BalanceAfterMc), r.ReservationId, r.Description, DateTimeOffset.FromUnixTimeMilliseconds(r.CreatedAt), new(r.WrittenOffMc))).ToArray();
            return (entries, total);
        }, ct);

    /// <summary>Checks the ledger invariants for one account; returns the violations found (empty when sound).</summary>
    // SUMs are cast to BIGINT because PostgreSQL widens SUM(bigint) to numeric, which would not bind to long.
    public Task<IReadOnlyList<string>> VerifyAsync(string accountId, CancellationToken ct = default) =>
        db.ReadAsync(async c =>
        {
            var problems = new List<string>();
            var account = await c.QuerySingleAsync<BalanceRow>(
                "SELECT balance_mc AS BalanceMc, reserved_mc AS ReservedMc FROM accounts WHERE id = @accountId", new { accountId });
            var sums = await c.QuerySingleAsync<BalanceRow>(
                "SELECT CAST(COALESCE(SUM(amount_mc), 0) AS BIGINT) AS BalanceMc, CAST(COALESCE(SUM(hold_mc), 0) AS BIGINT) AS ReservedMc FROM ledger_entries WHERE account_id = @accountId",
                new { accountId });
            var open = await c.ExecuteScalarAsync<long>(
                "SELECT CAST(COALESCE(SUM(amount_mc), 0) AS BIGINT) FROM reservations WHERE account_id = @accountId AND state = 'open'", new { accountId });
            var closings = await c.QueryAsync<(string, long)>(
                """
                SELECT r.id, COUNT(e.id) FROM reservations r
                LEFT JOIN ledger_entries e ON e.reservation_id = r.id AND e.kind NOT IN ('reserve', 'write_off')
                WHERE r.account_id = @accountId GROUP BY r.id, r.state
                HAVING (r.state = 'open' AND COUNT(e.id) <> 0) OR (r.state <> 'open' AND COUNT(e.id) <> 1)
                """, new { accountId });
            if (account.BalanceMc != sums.BalanceMc) problems.Add($"balance {account.BalanceMc} != sum of entries {sums.BalanceMc}");
            if (account.ReservedMc != sums.ReservedMc) problems.Add($"reserved {account.ReservedMc} != sum of holds {sums.ReservedMc}");
            if (account.ReservedMc != open) problems.Add($"reserved {account.ReservedMc} != open reservations {open}");
            if (account.BalanceMc < 0) problems.Add($"balance {account.BalanceMc} is negative");
            foreach (var (id, count) in closings) problems.Add($"reservation {id} closed {count} times");
            return (IReadOnlyList<string>)problems;
        }, ct);

    private async Task<(string TransactionId, Millicredits Balance, Millicredits WrittenOff)?> CloseAsync(
        WriteScope scope, string reservationId, string state, string kind, long charge, string? description)
    {
        var now = Now;
        var held = await scope.QueryFirstAsync(
            """
            UPDATE reservations SET state = @state, closed_at = @now
            WHERE id = @reservationId AND state = 'open'
            RETURNING account_id, amount_mc
            """, r => new HeldRow(r.GetString(0), r.GetInt64(1)),
            ("@state", state), ("@now", now), ("@reservationId", reservationId));
        if (held is null) return null;
        var fromHold = Math.Min(charge, held.AmountMc);
        var account = await ChargeAsync(scope, held.AccountId, fromHold, -held.AmountMc, now);
        // Beyond the hold: this UPDATE locked the account row, so what is available cannot change before commit.
        var beyond = Math.Clamp(account.Available.Value, 0, charge - fromHold);
        if (beyond > 0) account = await ChargeAsync(scope, held.AccountId, beyond, 0, now);
        var writtenOff = charge - fromHold - beyond;
        var balance = account.Total.Value;
        var txn = await AppendAsync(scope, held.AccountId, kind, -(fromHold + beyond), -held.AmountMc, balance, reservationId, description, now);
        if (writtenOff > 0)
            await AppendAsync(scope, held.AccountId, LedgerKind.WriteOff, 0, 0, balance, reservationId,
                $"{new Millicredits(writtenOff)} credits above the hold and the available balance, not charged", now, writtenOff);
        return (txn, new Millicredits(balance), new Millicredits(writtenOff));
    }

    /// <summary>Takes <paramref name="charge"/> from the balance (counted as this month's spend) and moves the reserved total by <paramref name="holdDelta"/>.</summary>
    private static async Task<Balance> ChargeAsync(WriteScope scope, string accountId, long charge, long holdDelta, long now) =>
        (await scope.QueryFirstAsync(
            """
            UPDATE accounts SET balance_mc = balance_mc - @charge, reserved_mc = reserved_mc + @holdDelta,
                   month_spent_mc = (CASE WHEN month_key = @month THEN month_spent_mc ELSE 0 END) + @charge, month_key = @month
            WHERE id = @account RETURNING balance_mc, reserved_mc
            """, r => new BalanceRow(r.GetInt64(0), r.GetInt64(1)),
            ("@charge", charge), ("@holdDelta", holdDelta), ("@month", MonthKey(now)), ("@account", accountId)))!.ToBalance();

    /// <summary>yyyymm of a unix-millisecond instant (UTC): monthly caps run on calendar months.</summary>
    public static int MonthKey(long unixMs)
    {
        var t = DateTimeOffset.FromUnixTimeMilliseconds(unixMs);
        return t.Year * 100 + t.Month;
    }

    private static async Task<Balance> ReadBalanceAsync(WriteScope scope, string accountId)
    {
        var row = await scope.Connection.QuerySingleOrDefaultAsync<BalanceRow>(
            "SELECT balance_mc AS BalanceMc, reserved_mc AS ReservedMc FROM accounts WHERE id = @accountId",
            new { accountId }, scope.Transaction);
        return row?.ToBalance() ?? new Balance(Millicredits.Zero, Millicredits.Zero);
    }

    private static async Task<string> AppendAsync(WriteScope scope, string accountId, string kind, long amount, long hold,
        long balanceAfter, string? reservationId, string? description, long now, long writtenOff = 0)
    {
        var id = Ids.Ordered("txn", DateTimeOffset.FromUnixTimeMilliseconds(now));
        await scope.ExecuteAsync(
            """
            INSERT INTO ledger_entries (id, account_id, kind, amount_mc, hold_mc, balance_after_mc, reservation_id, description, created_at, written_off_mc)
            VALUES (@id, @accountId, @kind, @amount, @hold, @balanceAfter, @reservationId, @description, @now, @writtenOff)
            """,
            ("@id", id), ("@accountId", accountId), ("@kind", kind), ("@amount", amount), ("@hold", hold), ("@balanceAfter", balanceAfter),
            ("@reservationId", reservationId), ("@description", description), ("@now", now), ("@writtenOff", writtenOff));
        return id;
    }

    private sealed record BalanceRow(long BalanceMc, long ReservedMc)
    {
        public Balance ToBalance() => new(new Millicredits(BalanceMc), new Millicredits(ReservedMc));
    }

    private sealed record HeldRow(string AccountId, long AmountMc);

    private sealed record EntryRow(string Id, string Kind, long AmountMc, long HoldMc, long BalanceAfterMc,
        string? ReservationId, string? Description, long CreatedAt, long WrittenOffMc);
}
