using ImageGateway.Accounts;
using ImageGateway.Billing;
using ImageGateway.Catalog;
using ImageGateway.Data;
using ImageGateway.RateLimits;
using ImageGateway.Storage;
using Microsoft.Extensions.Options;

namespace ImageGateway.Hosting;

/// <summary>
/// Runs before the server accepts requests: schema migrations, release of holds and
/// Idempotency-Keys orphaned by a crash, and the first admin key on an empty database.
/// </summary>
public sealed class StartupTasks(
    Database db, CreditLedger ledger, Generation.IdempotencyStore idempotency, Secrets secrets, AccountStore accounts, ModelCatalog catalog, IRateLimitStore rateLimits,
    Usage.UsageStore usage, IConfiguration configuration,
    IImageStore images, IOptions<GatewayOptions> options, IOptions<Providers.ProvidersOptions> providers, TimeProvider time,
    ILogger<StartupTasks> logger) : IHostedLifecycleService
{
    public const string AdminKeyFileName = "admin-key.txt";

    public async Task StartingAsync(CancellationToken ct)
    {
        // Resolved with this service, after the options were validated and before the server listens: the
        // key files are generated on first start, and a Redis or bucket that cannot be reached is a
        // start-up error naming its setting, not a failure of the first request.
        _ = (secrets, rateLimits, images);
        await db.MigrateAsync(time, ct);
        var released = await ledger.ExpireStaleHoldsAsync(all: db.Dialect.IsSingleProcess, ct);
        if (released > 0) logger.LogWarning("Released {Count} credit holds left open by a previous run", released);
        // The only process: every running Idempotency-Key belongs to a request that died uncharged.
        // With several processes the sweeper releases them once their holds have expired.
        if (db.Dialect.IsSingleProcess && await idempotency.ReleaseDeadAsync(olderThan: null, ct) is > 0 and var keys)
            logger.LogWarning("Released {Count} Idempotency-Keys of requests a previous run did not finish", keys);
        await BootstrapAdminAsync(ct);
        await RestoreRateLimitWindowsAsync(ct);
        WarnAboutSettings();
    }

    /// <summary>
    /// The in-process counters start empty; without this a restart would hand every account fresh
    /// windows (6 images a minute for a free user across two restarts). Redis keeps its own.
    /// </summary>
    private async Task RestoreRateLimitWindowsAsync(CancellationToken ct)
    {
        if (rateLimits is not MemoryRateLimitStore memory) return;
        var now = time.GetUtcNow();
        WindowKind[] kinds = [WindowKind.Minute, WindowKind.Hour, WindowKind.Day, WindowKind.Month];
        var windows = kinds.Select(k => WindowLimit.For(k, 0, now)).ToArray();
        var rows = await usage.ImagesSinceAsync(windows.Select(w => w.Start).ToArray(), ct);
        foreach (var (accountId, images) in rows)
            for (var i = 0; i < windows.Length; i++)
                if (images[i] > 0) memory.Restore(accountId, windows[i], (int)Math.Min(images[i], int.MaxValue));
        if (rows.Count > 0) logger.LogInformation("Restored this month's rate-limit windows of {Count} accounts", rows.Count);
    }

    /// <summary>Settings that start fine but are probably a mistake: a price that loses money, a route that is never used.</summary>
    private void WarnAboutSettings()
    {
        if (string.IsNullOrWhiteSpace(options.Value.PublicBaseUrl) && Extensions.AllowedHosts(configuration).Length == 0)
            logger.LogWarning("Image URLs take their host from each request's Host header, which any client can set: set "
                + "Gateway__PublicBaseUrl to the gateway's public origin, or AllowedHosts to its host names");
        foreach (var warning in catalog.PriceWarnings()) logger.LogWarning("{Warning}", warning);
        foreach (var model in catalog.Models.Where(m => m.Successor is not null && providers.Value.Routes.ContainsKey(m.Id)))
            logger.LogWarning("Gateway:Routes:{Model} is not used: {Model} is retired and served by {Successor}'s route. "
                + "To serve it as itself, set Gateway:Models:{Model}:Successor:Model to empty.", model.Id, model.Id, model.Successor!.Model, model.Id);
    }

    private async Task BootstrapAdminAsync(CancellationToken ct)
    {
        if (await accounts.AnyAccountAsync(ct)) return;

        // An empty value (as compose files often pass) means "not set".
        var configured = string.IsNullOrWhiteSpace(options.Value.Bootstrap.AdminKey) ? null : options.Value.Bootstrap.AdminKey.Trim();
        // Its shape was checked at start (GatewayOptionsValidator).

        var tier = catalog.TryGetTier("vip_founder", out var vip) ? vip : catalog.Tiers.First();
        var key = configured ?? ApiKeys.Generate();
        if (!await accounts.TryCreateBootstrapAdminAsync(tier.Name, key, ct)) return; // another process got there first
        if (configured is not null)
        {
            logger.LogInformation("Created the admin account {AccountId} with the key from Gateway:Bootstrap:AdminKey", AccountStore.BootstrapAccountId);
            return;
        }

        var path = Path.Combine(options.Value.ResolveDataDirectory(), AdminKeyFileName);
        if (File.Exists(path)) File.Delete(path);
        OwnerOnlyFile.WriteAllText(path, key + "\n");
        // Printed once to the console, deliberately not through the logger, so log sinks never hold it.
        Console.WriteLine($"""

            ==========================================================================
             ImageGateway created an admin API key (shown only this once):
               {key}
             It is also saved, readable only by you, in {path}
            ==========================================================================

            """);
    }

    public Task StartAsync(CancellationToken ct) => Task.CompletedTask;
    public Task StartedAsync(CancellationToken ct) => Task.CompletedTask;
    public Task StoppingAsync(CancellationToken ct) => Task.CompletedTask;
    public Task StopAsync(CancellationToken ct) => Task.CompletedTask;
    public Task StoppedAsync(CancellationToken ct) => Task.CompletedTask;
}
