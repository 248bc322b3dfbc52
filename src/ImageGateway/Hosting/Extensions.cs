using ImageGateway.Accounts;
using ImageGateway.Billing;
using ImageGateway.Byok;
using ImageGateway.Usage;
using ImageGateway.Catalog;
using ImageGateway.Data;
using ImageGateway.Generation;
using ImageGateway.Http;
using ImageGateway.Observability;
using ImageGateway.Providers;
using ImageGateway.Providers.Builtin;
using ImageGateway.Providers.OpenAi;
using ImageGateway.RateLimits;
using ImageGateway.Providers.OpenRouter;
using ImageGateway.Providers.Automatic1111;
using ImageGateway.Providers.Stability;
using ImageGateway.Storage;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Options;

namespace ImageGateway.Hosting;

/// <summary>DI wiring and the HTTP pipeline, so Program.cs stays a page.</summary>
public static class Extensions
{
    public const string DefaultUrl = "http://localhost:8080";

    public static WebApplicationBuilder AddGateway(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        LoadDefaultsFromAppFolder(builder);
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["http_ports"])
            && string.IsNullOrEmpty(builder.Configuration["https_ports"]))
            builder.WebHost.UseUrls(DefaultUrl);
        // Read before the container exists: Kestrel's limit and CORS are set up from configuration directly.
        var gateway = builder.Configuration.GetSection(GatewayOptions.Section).Get<GatewayOptions>() ?? new GatewayOptions();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = gateway.MaxRequestBodyBytes;
            k.ConfigureEndpointDefaults(listen => listen.UseJsonRejections());
        });

        services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.TypeInfoResolverChain.Insert(0, GatewayJson.Context);
            json.SerializerOptions.Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
            json.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower;
        });
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        // AllowedHosts is enforced by UseAllowedHosts (after forwarded headers, with the JSON error
        // body); the built-in filter would answer in HTML and check only the Host before forwarding.
        services.PostConfigure<Microsoft.AspNetCore.HostFiltering.HostFilteringOptions>(o => o.AllowedHosts = ["*"]);

        // Each folder binds its own section; every validator runs once at start and reports all its errors.
        services.AddValidatedOptions<GatewayOptions, GatewayOptionsValidator>(GatewayOptions.Section);
        services.AddValidatedOptions<CatalogOptions, CatalogOptionsValidator>(CatalogOptions.Section);
        services.AddValidatedOptions<ProvidersOptions, ProvidersOptionsValidator>(ProvidersOptions.Section);
        services.AddValidatedOptions<BillingOptions, BillingOptionsValidator>(BillingOptions.Section);
        services.AddOptions<ByokOptions>().BindConfiguration(ByokOptions.Section);
        services.AddValidatedOptions<History.HistoryOptions, History.HistoryOptionsValidator>(History.HistoryOptions.Section);

        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<Secrets>();
        services.AddGatewayDatabase();
        services.AddImageStorage();
        services.AddImageRateLimits();
        services.AddSingleton<AccountStore>();
        services.AddSingleton<CreditLedger>();
        services.AddSingleton<UsageStore>();
        services.AddSingleton<History.HistoryStore>();
        services.AddSingleton<IdempotencyStore>();
        services.AddSingleton<KeyVault>();
        services.AddSingleton<ByokStore>();
        services.AddSingleton<ByokRouter>();
        services.AddSingleton<ModelCatalog>();

        services.AddSingleton<IImageProvider, BuiltinProvider>();
        services.AddSingleton<IImageProvider, OpenAiProvider>();
        services.AddSingleton<IImageProvider, OpenRouterProvider>();
        services.AddSingleton<IImageProvider, StabilityProvider>();
        services.AddSingleton<IImageProvider, Automatic1111Provider>();
        services.AddSingleton<IImageProvider, Providers.Google.GoogleProvider>();
        services.AddSingleton<IImageProvider, Providers.Bfl.BflProvider>();
        services.AddSingleton<IImageProvider, Providers.Replicate.ReplicateProvider>();
        services.AddSingleton<IImageProvider, Providers.Azure.AzureOpenAiProvider>();
        services.AddSingleton<ProviderRegistry>();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<GatewayOptions>>().Value.BodyBudgetBytes is > 0 and var budget
            ? new BodyBudget(budget) : new BodyBudget(long.MaxValue));
        services.AddSingleton<ProviderRouter>();

        services.AddSingleton<ImageDelivery>();
        services.AddSingleton<ImageUrlFetcher>();
        services.AddSingleton<GenerationRequests>();
        services.AddSingleton<RoutePlanner>();
        services.AddSingleton<LimitsReport>();
        services.AddSingleton<GenerationPipeline>();

        builder.AddGatewayTelemetry();
        services.AddReadiness();

        services.AddHostedService<StartupTasks>();
        services.AddSingleton<Housekeeping>();
        services.AddHostedService(sp => sp.GetRequiredService<Housekeeping>());

        if (!string.IsNullOrWhiteSpace(gateway.Cors.AllowedOrigins))
            services.AddCors(cors => cors.AddDefaultPolicy(p => p
                .WithOrigins(gateway.Cors.AllowedOrigins.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                .AllowAnyHeader().AllowAnyMethod()
                .WithExposedHeaders("x-request-id", "Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")));
        return builder;
    }

    /// <summary>
    /// The defaults (models, prices, tiers, routes) ship in appsettings.json next to the DLL. The host
    /// reads it from the working folder, which under systemd or in a container is often another one:
    /// then the copy beside the DLL is added beneath every other source, so anything set still wins.
    /// </summary>
    private static void LoadDefaultsFromAppFolder(WebApplicationBuilder builder)
    {
        var appFolder = AppContext.BaseDirectory;
        if (File.Exists(Path.Combine(builder.Environment.ContentRootPath, "appsettings.json"))) return;
        var sources = builder.Configuration.Sources;
        var files = new PhysicalFileProvider(appFolder);
        sources.Insert(0, new JsonConfigurationSource { FileProvider = files, Path = "appsettings.json", Optional = true, ReloadOnChange = false });
        sources.Insert(1, new JsonConfigurationSource
        {
            FileProvider = files, Path = $"appsettings.{builder.Environment.EnvironmentName}.json", Optional = true, ReloadOnChange = false,
        });
    }

    /// <summary>
    /// The hosts in <c>AllowedHosts</c> (semicolon-separated, as ASP.NET Core's host filtering reads
    /// them); empty when it allows any host (<c>*</c> or unset). Image URLs take their host from the
    /// request only when it passed this list or when PublicBaseUrl is unset.
    /// </summary>
    public static string[] AllowedHosts(IConfiguration configuration)
    {
        var hosts = (configuration["AllowedHosts"] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return hosts.Contains("*") ? [] : hosts;
    }

    /// <summary>
    /// Image requests read their upstream answers into pooled arrays (<see cref="BodyBuffers"/>),
    /// returned after the answer has been written (the HttpContext's disposal). The lambda is async
    /// so the scope flows into this request's calls and no further.
    /// </summary>
    private static void UseBodyBuffers(this WebApplication app) => app.Use(async (context, next) =>
    {
        var path = context.Request.Path.Value ?? "";
        if (HttpMethods.IsPost(context.Request.Method) && (path.EndsWith("/images/generations", StringComparison.OrdinalIgnoreCase)
            || path.EndsWith("/images/edits", StringComparison.OrdinalIgnoreCase) || path.EndsWith("/images/variations", StringComparison.OrdinalIgnoreCase)))
            context.Response.RegisterForDispose(BodyBuffers.Begin(context.RequestServices.GetRequiredService<BodyBudget>(), context.RequestAborted));
        await next(context);
    });

    public static WebApplication MapGateway(this WebApplication app)
    {
        OptionsValidation.ValidateAll(app.Services);
        var options = app.Services.GetRequiredService<IOptions<GatewayOptions>>().Value;
        var allowedHosts = AllowedHosts(app.Configuration);
        if (options.TrustForwardedHeaders)
        {
            var forwarded = new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.All };
            forwarded.KnownIPNetworks.Clear();
            forwarded.KnownProxies.Clear();
            // Host filtering checks the Host header before this runs: an X-Forwarded-Host must pass the same list.
            foreach (var host in allowedHosts) forwarded.AllowedHosts.Add(host);
            app.UseForwardedHeaders(forwarded);
        }
        app.UseRequestIds();
        app.UseApiErrors();
        if (allowedHosts.Length > 0) app.UseAllowedHosts(allowedHosts);
        app.UseExactChunkedBodyLimit(options.MaxRequestBodyBytes);
        app.UseBodyBuffers();
        app.UseSlashCollapsing();
        app.UseRouting();
        if (!string.IsNullOrWhiteSpace(options.Cors.AllowedOrigins)) app.UseCors();
        app.UseGatewayAuthentication();
        app.UseDocsContentSecurity();
        // Only endpoints that ask for it are cached: the OpenAPI document (see Telemetry).
        app.UseOutputCache();

        // The OpenAI-shaped API under both base URLs the SDKs may be given.
        foreach (var prefix in new[] { "/api/v1/llm", "/v1" })
        {
            var llm = app.MapGroup(prefix);
            llm.MapGenerationApi();
            llm.MapCatalogApi();
            llm.MapCreditsApi();
            llm.MapFilesApi();
            llm.MapByokApi();
            llm.MapUsageApi();
            llm.MapDailyUsageApi();
        }
        app.MapMeApi();
        app.MapKeysApi();
        app.MapLimitsApi();
        History.HistoryApi.MapHistoryApi(app);
        app.MapAdminApi();
        app.MapProvidersApi();
        app.MapAdminUsageApi();
        app.MapGet("/healthz", () => TypedResults.Text("ok")).WithTags(ApiDocs.Tags.Health)
            .WithSummary("Liveness").WithDescription("No key. Answers `ok` while the process runs; `/readyz` checks its dependencies.");
        app.MapGatewayTelemetry();
        app.MapReadiness();
        // The web console (wwwroot). Registered after routing and authentication on purpose: the
        // static-file middleware only answers when no endpoint matched, so it never shadows an API
        // route, needs no key, and unknown /api/* and /v1/* paths still get the JSON 404. When the
        // DLL is started from another folder, the copy next to the DLL is used.
        var consoleRoot = app.Environment.WebRootPath is { Length: > 0 } webRoot && Directory.Exists(webRoot)
            ? app.Environment.WebRootFileProvider
            : Directory.Exists(Path.Combine(AppContext.BaseDirectory, "wwwroot"))
                ? new Microsoft.Extensions.FileProviders.PhysicalFileProvider(Path.Combine(AppContext.BaseDirectory, "wwwroot"))
                : null;
        if (consoleRoot is not null)
        {
            app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = consoleRoot });
            app.UseStaticFiles(new StaticFileOptions
            {
                FileProvider = consoleRoot,
                // A new gateway version must not run against a cached older console.
                OnPrepareResponse = c =>
                {
                    c.Context.Response.Headers.CacheControl = "no-cache";
                    c.Context.Response.Headers.XContentTypeOptions = "nosniff";
                    c.Context.Response.Headers.ContentSecurityPolicy = ContentSecurity.Console;
                },
            });
        }
        return app;
    }
}
