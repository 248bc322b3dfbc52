namespace ImageGateway.Billing;

public static class LedgerKind
{
    public const string Grant = "grant";
    public const string Purchase = "purchase";
    public const string Reserve = "reserve";
    public const string Settle = "settle";
    public const string Release = "release";
    public const string Adjustment = "adjustment";
    public const string ExpireHold = "expire_hold";
    /// <summary>What a settle could not charge (amount 0; the uncharged millicredits in <c>written_off_mc</c>).</summary>
    public const string WriteOff = "write_off";
}

public sealed record Reservation(string Id, string AccountId, Millicredits Amount);

public sealed record Balance(Millicredits Total, Millicredits Reserved)
{
    public Millicredits Available => Total - Reserved;
}

public enum ReserveRefusal { None, InsufficientCredits, MonthlyCap }

public sealed record ReserveOutcome(Reservation? Reservation, Balance Balance, ReserveRefusal Refusal = ReserveRefusal.None,
    Millicredits MonthSpent = default)
{
    public bool Succeeded => Reservation is not null;
}

/// <summary>A closed hold: <see cref="Charged"/> was taken; <see cref="WrittenOff"/> was owed beyond what the balance had.</summary>
public sealed record Settlement(string TransactionId, Millicredits Charged, Millicredits BalanceAfter, Millicredits WrittenOff = default);

public sealed record LedgerEntry(
    string Id, string Kind, Millicredits Amount, Millicredits Hold, Millicredits BalanceAfter,
    string? ReservationId, string? Description, DateTimeOffset CreatedAt, Millicredits WrittenOff = default);

public sealed class ReservationClosedException(string reservationId)
    : InvalidOperationException($"Reservation {reservationId} is no longer open.");
