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
using Microsoft.Extensions.Options;

namespace ImageGateway.Hosting;

/// <summary>DI wiring and the HTTP pipeline, so Program.cs stays a page.</summary>
public static class Extensions
{
    public const string DefaultUrl = "http://localhost:8080";

    public static WebApplicationBuilder AddGateway(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        var section = builder.Configuration.GetSection(GatewayOptions.Section);
        services.Configure<GatewayOptions>(section);
        var options = section.Get<GatewayOptions>() ?? new GatewayOptions();

        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["http_ports"])
            && string.IsNullOrEmpty(builder.Configuration["https_ports"]))
            builder.WebHost.UseUrls(DefaultUrl);
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes);

        services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.TypeInfoResolverChain.Insert(0, GatewayJson.Context);
            json.SerializerOptions.Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
            json.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower;
        });
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);

        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp => Secrets.Load(sp.GetRequiredService<IOptions<GatewayOptions>>().Value));

        services.AddSingleton<IDbDialect>(sp => CreateDialect(sp.GetRequiredService<IOptions<GatewayOptions>>().Value));
        services.AddSingleton<Database>();
        services.AddSingleton(sp => new AccountStore(sp.GetRequiredService<Database>(), sp.GetRequiredService<TimeProvider>(),
            AuthCache(sp)));
        services.AddSingleton<CreditLedger>();
        services.AddSingleton<UsageStore>();
        services.AddSingleton<IdempotencyStore>();
        services.AddSingleton(sp => new KeyVault(sp.GetRequiredService<Secrets>().EncryptionKey));
        services.AddSingleton(sp => new ByokStore(sp.GetRequiredService<Database>(), sp.GetRequiredService<KeyVault>(),
            sp.GetRequiredService<TimeProvider>(), AuthCache(sp)));
        services.AddSingleton(sp => new ModelCatalog(sp.GetRequiredService<IOptions<GatewayOptions>>().Value));

        services.AddSingleton<IImageProvider, BuiltinProvider>();
        services.AddSingleton<IImageProvider, OpenAiProvider>();
        services.AddSingleton<IImageProvider, OpenRouterProvider>();
        services.AddSingleton<IImageProvider, StabilityProvider>();
        services.AddSingleton<IImageProvider, Automatic1111Provider>();
        services.AddSingleton<ProviderRegistry>();
        services.AddSingleton<ProviderRouter>();

        services.AddSingleton<IRateLimitStore>(sp => CreateRateLimitStore(sp.GetRequiredService<IOptions<GatewayOptions>>().Value));
        services.AddSingleton<ImageRateLimiter>();

        services.AddSingleton<IImageStore>(sp => CreateStore(sp.GetRequiredService<IOptions<GatewayOptions>>().Value));
        services.AddSingleton(sp => new SignedUrls(sp.GetRequiredService<Secrets>().UrlSigningKey, sp.GetRequiredService<TimeProvider>()));

        builder.AddGatewayTelemetry();
        services.AddReadiness();

        services.AddHostedService<StartupTasks>();
        services.AddSingleton<Housekeeping>();
        services.AddHostedService(sp => sp.GetRequiredService<Housekeeping>());

        if (!string.IsNullOrWhiteSpace(options.Cors.AllowedOrigins))
            services.AddCors(cors => cors.AddDefaultPolicy(p => p
                .WithOrigins(options.Cors.AllowedOrigins.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                .AllowAnyHeader().AllowAnyMethod()
                .WithExposedHeaders("x-request-id", "Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")));
        return builder;
    }

    public static WebApplication MapGateway(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<GatewayOptions>>().Value;
        if (options.TrustForwardedHeaders)
        {
            var forwarded = new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.All };
            forwarded.KnownIPNetworks.Clear();
            forwarded.KnownProxies.Clear();
            app.UseForwardedHeaders(forwarded);
        }
        app.UseRequestIds();
        app.UseApiErrors();
        app.UseSlashCollapsing();
        app.UseRouting();
        if (!string.IsNullOrWhiteSpace(options.Cors.AllowedOrigins)) app.UseCors();
        app.UseGatewayAuthentication();
        // Only endpoints that ask for it are cached: the OpenAPI document (see Telemetry).
        app.UseOutputCache();

        // The OpenAI-shaped API under both base URLs the SDKs may be given.
        foreach (var prefix in new[] { "/api/v1/llm", "/v1" })
        {
            var llm = app.MapGroup(prefix).WithErrorResponses();
            llm.MapGenerationApi();
            llm.MapCatalogApi();
            llm.MapCreditsApi();
            llm.MapFilesApi();
            llm.MapByokApi();
            llm.MapUsageApi();
        }
        app.MapKeysApi();
        app.MapAdminApi();
        app.MapProvidersApi();
        app.MapAdminUsageApi();
        app.MapGet("/healthz", () => TypedResults.Text("ok"));
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
                },
            });
        }
        return app;
    }

    private static TimeSpan AuthCache(IServiceProvider sp) =>
        TimeSpan.FromSeconds(Math.Max(0, sp.GetRequiredService<IOptions<GatewayOptions>>().Value.AuthCacheSeconds));

    private static IDbDialect CreateDialect(GatewayOptions options)
    {
        var provider = options.Database.Provider.Trim().ToLowerInvariant();
        return provider switch
        {
            "sqlite" => string.IsNullOrWhiteSpace(options.Database.ConnectionString)
                ? SqliteDialect.ForFile(Path.Combine(EnsureDataDirectory(options), "gateway.db"), options.Database.SqliteSynchronous, options.Database.SqlitePageSize)
                : new SqliteDialect(options.Database.ConnectionString, options.Database.SqliteSynchronous, options.Database.SqlitePageSize),
            "postgres" or "postgresql" => string.IsNullOrWhiteSpace(options.Database.ConnectionString)
                ? throw new InvalidOperationException(
                    "Gateway:Database:Provider is 'postgres' but no connection string is set: set Gateway:Database:ConnectionString " +
                    "(environment variable Gateway__Database__ConnectionString), e.g. 'Host=db;Username=gateway;Password=...;Database=gateway'.")
                : new PostgresDialect(options.Database.ConnectionString),
            _ => throw new InvalidOperationException(
                $"Gateway:Database:Provider '{options.Database.Provider}' is not supported by this build; use 'sqlite' or 'postgres'."),
        };
    }

    private static IRateLimitStore CreateRateLimitStore(GatewayOptions options) =>
        options.RateLimits.Store.Trim().ToLowerInvariant() switch
        {
            "memory" => new MemoryRateLimitStore(),
            "redis" => RedisRateLimitStore.Connect(options.Redis),
            _ => throw new InvalidOperationException(
                $"Gateway:RateLimits:Store '{options.RateLimits.Store}' is not supported by this build; use 'memory' or 'redis'."),
        };

    private static IImageStore CreateStore(GatewayOptions options) =>
        options.Storage.Kind.Trim().ToLowerInvariant() switch
        {
            "filesystem" => new FileSystemImageStore(Path.Combine(EnsureDataDirectory(options), "images")),
            "s3" => S3ImageStore.Create(options.Storage.S3),
            _ => throw new InvalidOperationException(
                $"Gateway:Storage:Kind '{options.Storage.Kind}' is not supported by this build; use 'filesystem' or 's3'."),
        };

    private static string EnsureDataDirectory(GatewayOptions options)
    {
        var dir = options.ResolveDataDirectory();
        Directory.CreateDirectory(dir);
        return dir;
    }
}
