using System.Diagnostics;
using Dapper;
using ImageGateway.Data;
using ImageGateway.RateLimits;
using ImageGateway.Storage;

namespace ImageGateway.Hosting;

/// <summary>One dependency's state in <c>/readyz</c>: <c>ok</c> or <c>failing</c>, with a short detail.</summary>
public sealed record ReadinessCheck(string Status, string Detail);

/// <summary>The <c>/readyz</c> body: <c>ok</c> only when every check is.</summary>
public sealed record ReadinessReport(string Status, Dictionary<string, ReadinessCheck> Checks);

/// <summary>
/// <c>/readyz</c> (DESIGN §1): unlike <c>/healthz</c>, which says the process is up, this says whether
/// it can serve, by making one cheap round trip to each dependency: the database, the image store
/// and, when configured, Redis. A load balancer takes a process out of rotation on 503. The endpoint
/// is anonymous, so a failure's detail names the kind of error, never a message that could hold a
/// host name or a credential; the full exception goes to the log.
/// </summary>
public static class Readiness
{
    private static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(5);

    public static IEndpointRouteBuilder MapReadiness(this WebApplication app)
    {
        // Resolving the stores here, before the server listens, turns a misconfigured Redis or bucket
        // into a start-up error that names the setting, not a failure of the first request.
        _ = app.Services.GetRequiredService<IRateLimitStore>();
        _ = app.Services.GetRequiredService<IImageStore>();
        app.MapGet("/readyz", CheckAsync);
        return app;
    }

    public static async Task<IResult> CheckAsync(Database db, IImageStore store, IRateLimitStore rateLimits, ILoggerFactory loggers, CancellationToken ct)
    {
        var logger = loggers.CreateLogger(typeof(Readiness));
        var checks = new List<(string Name, Task<ReadinessCheck> Check)>
        {
            ("database", RunAsync("database", logger, async token =>
            {
                // A real table, not "SELECT 1": SQLite answers that without reading the file at all.
                await db.ReadAsync(c => c.ExecuteScalarAsync<long>(new CommandDefinition("SELECT COUNT(*) FROM schema_migrations", cancellationToken: token)), token);
                return db.Dialect.Name;
            }, ct)),
            ("storage", RunAsync("storage", logger, async token =>
            {
                if (store is S3ImageStore s3)
                {
                    await s3.CheckAsync(token);
                    return $"s3 bucket {s3.Bucket}";
                }
                // A name that cannot exist: the store must answer "not there", not fail.
                await using var probe = await store.OpenReadAsync(StoredImageName.New(DateTimeOffset.UnixEpoch, "png"), token);
                return "filesystem";
            }, ct)),
        };
        if (rateLimits is RedisRateLimitStore redis)
            checks.Add(("redis", RunAsync("redis", logger, async token =>
            {
                var rtt = await redis.PingAsync().WaitAsync(token);
                return $"ping {rtt.TotalMilliseconds:0.#} ms";
            }, ct)));

        var results = new Dictionary<string, ReadinessCheck>(StringComparer.Ordinal);
        foreach (var (name, check) in checks) results[name] = await check;
        var ok = results.Values.All(r => r.Status == "ok");
        return TypedResults.Json(new ReadinessReport(ok ? "ok" : "failing", results), GatewayJson(),
            statusCode: ok ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    private static System.Text.Json.Serialization.Metadata.JsonTypeInfo<ReadinessReport> GatewayJson() =>
        Http.GatewayJson.Context.ReadinessReport;

    private static async Task<ReadinessCheck> RunAsync(string name, ILogger logger, Func<CancellationToken, Task<string>> check, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(CheckTimeout);
        var watch = Stopwatch.StartNew();
        try
        {
            var detail = await check(timeout.Token).WaitAsync(timeout.Token);
            return new ReadinessCheck("ok", detail);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            logger.LogWarning(e, "Readiness check {Check} failed after {Ms} ms", name, watch.ElapsedMilliseconds);
            var what = e is OperationCanceledException ? $"no answer within {CheckTimeout.TotalSeconds:0} s" : e.GetType().Name;
            return new ReadinessCheck("failing", what);
        }
    }
}
