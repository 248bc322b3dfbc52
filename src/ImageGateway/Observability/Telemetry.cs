using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using ImageGateway.Http;
using Scalar.AspNetCore;

namespace ImageGateway.Observability;

/// <summary>Metrics (/metrics, Prometheus), traces (OTLP, only when configured), the OpenAPI document and its reference page.</summary>
public static class Telemetry
{
    public static WebApplicationBuilder AddGatewayTelemetry(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<GatewayMetrics>();
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService("image-gateway"))
            .WithMetrics(m => m
                .AddMeter(GatewayMetrics.MeterName)
                // .NET's own runtime meter: GC collections, pause time and allocated bytes, heap
                // size, thread pool and lock contention. Read at scrape time, nothing per request.
                .AddMeter("System.Runtime")
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                // Recorded on every request (or every buffer rent) and of little use for a gateway:
                // not subscribed, so the framework skips them. Durations, errors and ours stay.
                .AddView("aspnetcore.memory_pool.*", MetricStreamConfiguration.Drop)
                .AddView("aspnetcore.routing.match_attempts", MetricStreamConfiguration.Drop)
                .AddView("http.server.active_requests", MetricStreamConfiguration.Drop)
                .AddView("http.client.active_requests", MetricStreamConfiguration.Drop)
                .AddView("http.client.request.time_in_queue", MetricStreamConfiguration.Drop)
                .AddPrometheusExporter());
        // Traces cost something per request: only when an OTLP endpoint is configured (standard env var).
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
            otel.WithTracing(t => t
                .AddSource(GatewayMetrics.MeterName)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddOtlpExporter());
        builder.Services.AddOutputCache();
        builder.Services.AddOpenApi(o => o.AddGatewayDocs());
        return builder;
    }

    public static WebApplication MapGatewayTelemetry(this WebApplication app)
    {
        var token = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Hosting.GatewayOptions>>().Value.MetricsToken;
        app.MapPrometheusScrapingEndpoint("/metrics", meterProvider: null,
            configureBranchedPipeline: string.IsNullOrWhiteSpace(token) ? null : branch => branch.Use(RequireToken(token.Trim())), optionsName: null);
        // The document only changes with the code, and building it takes a few hundred milliseconds.
        app.MapOpenApi("/openapi/{documentName}.json").CacheOutput(p => p.Expire(TimeSpan.FromHours(24)));
        // Everything from this origin: Scalar's bundled script (not its CDN) and the system fonts (not Google's).
        app.MapScalarApiReference("/docs", o => o.WithTitle("ImageGateway API reference").WithOpenApiRoutePattern("/openapi/{documentName}.json").DisableDefaultFonts()
            .AddPreferredSecuritySchemes("bearer"));
        return app;
    }

    /// <summary>The scrape needs the bearer token, compared in constant time; anything else is a 401.</summary>
    private static Func<HttpContext, RequestDelegate, Task> RequireToken(string token)
    {
        var expected = System.Text.Encoding.UTF8.GetBytes("Bearer " + token);
        return (context, next) =>
        {
            var sent = System.Text.Encoding.UTF8.GetBytes(context.Request.Headers.Authorization.ToString());
            if (System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(sent, expected)) return next(context);
            context.Response.Headers.WWWAuthenticate = "Bearer";
            return new Http.ApiError(401, "authentication_error", "invalid_metrics_token",
                "/metrics needs 'Authorization: Bearer <Gateway:MetricsToken>'.").ExecuteAsync(context);
        };
    }
}
