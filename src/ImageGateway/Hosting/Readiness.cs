using ImageGateway.Data;
using ImageGateway.RateLimits;
using ImageGateway.Storage;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.OpenApi;

namespace ImageGateway.Hosting;

/// <summary>One dependency's state in <c>/readyz</c>: <c>ok</c> or <c>failing</c>, with a short detail.</summary>
public sealed record ReadinessCheck(string Status, string Detail);

/// <summary>The <c>/readyz</c> body: <c>ok</c> only when every check is.</summary>
public sealed record ReadinessReport(string Status, Dictionary<string, ReadinessCheck> Checks);

/// <summary>
/// <c>/readyz</c> (DESIGN §1): unlike <c>/healthz</c>, which says the process is up, this says whether
/// it can serve. One health check per dependency makes one cheap round trip to it: the database,
/// the image store and, when the rate-limit counters live on a server, that server (Redis). A load
/// balancer takes a process out of rotation on 503. The endpoint is anonymous, so a failure's detail
/// names the kind of error, never a message that could hold a host name or a credential; the
/// health-check service logs the full exception.
/// </summary>
public static class Readiness
{
    private static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(5);

    public static IServiceCollection AddReadiness(this IServiceCollection services)
    {
        services.AddHealthChecks()
            .AddCheck<DatabaseCheck>("database", timeout: CheckTimeout)
            .AddCheck<StorageCheck>("storage", timeout: CheckTimeout);
        // Counters kept in this process have nothing to check, and are not reported. Decided from the
        // configuration, not the store: resolving the store here would connect to Redis while the
        // endpoints are mapped, before the options are validated.
        services.AddOptions<HealthCheckServiceOptions>().Configure<IConfiguration>((health, configuration) =>
        {
            if (configuration.GetSection(RateLimitOptions.Section).Get<RateLimitOptions>() is { IsRedis: true })
                health.Registrations.Add(new HealthCheckRegistration("redis",
                    services => new RateLimitStoreCheck(services.GetRequiredService<IRateLimitStore>()), null, null, CheckTimeout));
        });
        // The framework does not describe health-check endpoints in the OpenAPI document.
        services.Configure<OpenApiOptions>("v1", o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Paths["/readyz"] = Documented(document);
            return Task.CompletedTask;
        }));
        return services;
    }

    public static IEndpointRouteBuilder MapReadiness(this WebApplication app)
    {
        app.MapHealthChecks("/readyz", new HealthCheckOptions { ResponseWriter = WriteAsync })
            .WithMetadata(new HttpMethodMetadata([HttpMethods.Get])); // other methods get the usual JSON 405
        return app;
    }

    private static Task WriteAsync(HttpContext context, HealthReport health)
    {
        var checks = health.Entries.ToDictionary(e => e.Key, e => Describe(e.Value), StringComparer.Ordinal);
        var report = new ReadinessReport(health.Status == HealthStatus.Healthy ? "ok" : "failing", checks);
        return context.Response.WriteAsJsonAsync(report, Http.GatewayJson.Context.ReadinessReport, cancellationToken: context.RequestAborted);
    }

    private static ReadinessCheck Describe(HealthReportEntry entry) => entry.Status == HealthStatus.Healthy
        ? new ReadinessCheck("ok", entry.Description ?? "")
        : new ReadinessCheck("failing", entry.Exception is OperationCanceledException
            ? $"no answer within {CheckTimeout.TotalSeconds:0} s"
            : entry.Exception?.GetType().Name ?? "failing");

    private static OpenApiPathItem Documented(OpenApiDocument document) => new()
    {
        Operations = new()
        {
            [HttpMethod.Get] = new OpenApiOperation
            {
                Tags = new HashSet<OpenApiTagReference> { new(Http.ApiDocs.Tags.Health, document) },
                Summary = "Readiness",
                Description = "No key. Checks the database, the rate-limit store and the image store; 503 when one fails.",
                Responses = new OpenApiResponses
                {
                    ["200"] = new OpenApiResponse { Description = "OK" },
                    ["503"] = new OpenApiResponse { Description = "A dependency is failing" },
                },
            },
        },
    };

    // The probes wait at most the check's timeout even when the call underneath ignores the token.
    private sealed class DatabaseCheck(Database db) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct) =>
            HealthCheckResult.Healthy(await db.ProbeAsync(ct).WaitAsync(ct));
    }

    private sealed class StorageCheck(IImageStore store) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct) =>
            HealthCheckResult.Healthy(await store.ProbeAsync(ct).WaitAsync(ct));
    }

    private sealed class RateLimitStoreCheck(IRateLimitStore store) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct) =>
            HealthCheckResult.Healthy(await store.ProbeAsync(ct).WaitAsync(ct));
    }
}
