using ImageGateway.Data;

namespace ImageGateway.Billing;

/// <summary>
/// The credits one request holds while its images are made. A hold that is disposed without being
/// settled gives them back; <see cref="None"/> holds nothing (a free model, a BYOK call).
/// </summary>
public sealed class CreditHold : IAsyncDisposable
{
    public static readonly CreditHold None = new(null, null, null);

    private readonly CreditLedger? _ledger;
    private readonly Database? _db;
    private bool _open;

    public CreditHold(CreditLedger? ledger, Database? db, Reservation? reservation)
    {
        (_ledger, _db, Reservation) = (ledger, db, reservation);
        _open = reservation is not null;
    }

    public Reservation? Reservation { get; }

    /// <summary>
    /// Charges <paramref name="charged"/> and gives back the rest, in one write with whatever
    /// <paramref name="alongside"/> writes (the usage event, told what was really charged), so the
    /// two commit together.
    /// </summary>
    public async Task<Settlement> SettleAsync(Millicredits charged, string description, Func<WriteScope, Settlement, Task> alongside)
    {
        try
        {
            var settlement = await _db!.WriteAsync(CreditLedger.AccountRow(Reservation!.AccountId), async scope =>
            {
                var settled = await _ledger!.SettleAsync(scope, Reservation!, charged, description);
                await alongside(scope, settled);
                return settled;
            }, ct: CancellationToken.None);
            _open = false;
            return settlement;
        }
        catch (ReservationClosedException)
        {
            _open = false; // the sweeper already released it
            throw;
        }
    }

    public async Task ReleaseAsync(string reason)
    {
        if (!_open) return;
        _open = false;
        await _ledger!.ReleaseAsync(Reservation!, reason, CancellationToken.None);
    }

    public ValueTask DisposeAsync() => new(ReleaseAsync("generation failed"));
}
