using ImageGateway.Billing;
using ImageGateway.Storage;
using Microsoft.Extensions.Options;

namespace ImageGateway.Hosting;

/// <summary>Periodic sweeps: expired images are deleted, holds and Idempotency-Keys of requests that died are released.</summary>
public sealed class Housekeeping(IImageStore store, CreditLedger ledger, IOptions<StorageOptions> options, IOptions<BillingOptions> billing,
    TimeProvider time, Observability.GatewayMetrics metrics, Generation.IdempotencyStore idempotency, History.HistoryStore history,
    ILogger<Housekeeping> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(1, options.Value.SweepIntervalSeconds)), time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogError(e, "Housekeeping sweep failed; will retry");
            }
        }
    }

    public async Task RunOnceAsync(CancellationToken ct)
    {
        var images = await store.SweepExpiredAsync(time.GetUtcNow(), ct);
        metrics.StorageSwept(images);
        var holds = await ledger.ExpireStaleHoldsAsync(all: false, ct);
        await idempotency.SweepAsync(ct);
        // A request older than the hold timeout has lost its hold and can no longer charge: its
        // running key is dead (a crashed process), so retries with it may run again.
        await idempotency.ReleaseDeadAsync(TimeSpan.FromSeconds(billing.Value.HoldTimeoutSeconds), ct);
        await history.PruneAsync(ct); // entries older than Gateway:History:KeepDays
        if (images > 0 || holds > 0)
            logger.LogInformation("Swept {Images} expired images and released {Holds} stale holds", images, holds);
    }
}
