using ImageGateway.Accounts;
using Microsoft.Extensions.Options;

namespace ImageGateway.Hosting;

/// <summary>
/// The settings directly under <c>Gateway</c> that belong to the process as a whole. Each folder
/// owns its own section (Data, Storage, Billing, Byok, RateLimits, Providers, Catalog); names are
/// fixed by DESIGN §11.
/// </summary>
public sealed class GatewayOptions
{
    public const string Section = "Gateway";

    public string DataDirectory { get; set; } = "./data";
    public string? PublicBaseUrl { get; set; }
    public bool TrustForwardedHeaders { get; set; }
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;
    /// <summary>The body limit of <c>/images/edits</c> and <c>/images/variations</c>, which carry image files (413 above it).</summary>
    public long MaxEditRequestBodyBytes { get; set; } = 64L * 1024 * 1024;
    /// <summary>Whether an edit's <c>image_url</c> may point at loopback or private addresses (off: a 400 naming the field).</summary>
    public bool AllowPrivateImageUrls { get; set; }

    /// <summary>
    /// Seconds a resolved API key, and an account's "no BYOK key" answer, are kept in memory. Changes
    /// through the same process apply at once; through another process within this time. 0 = off.
    /// </summary>
    public double AuthCacheSeconds { get; set; } = 5;

    /// <summary>
    /// Bytes of upstream image answers held in memory at once, over all requests (0 = no limit). An
    /// answer that does not fit waits for earlier ones to be written; it does not fail. 256 MiB (64
    /// answers of 2–4 MB): at 1,000 connections it served more than 512 MiB did, in half the memory
    /// (BENCHMARKS.md, optimisation I5).
    /// </summary>
    public long BodyBudgetBytes { get; set; } = 256L * 1024 * 1024;

    public BootstrapOptions Bootstrap { get; set; } = new();
    public CorsOptions Cors { get; set; } = new();
    public SecretsOptions Secrets { get; set; } = new();
    public IdempotencyOptions Idempotency { get; set; } = new();

    /// <summary>
    /// When set, <c>/metrics</c> answers only <c>Authorization: Bearer {token}</c> (Prometheus's
    /// <c>authorization</c> scrape setting); unset, it is open, as most exporters are.
    /// </summary>
    public string? MetricsToken { get; set; }

    public string ResolveDataDirectory() => Path.GetFullPath(DataDirectory);

    /// <summary>A path in the data folder, which is created when missing.</summary>
    public static string InDataDirectory(IServiceProvider services, string name)
    {
        var dir = services.GetRequiredService<IOptions<GatewayOptions>>().Value.ResolveDataDirectory();
        Directory.CreateDirectory(dir);
        return Path.Combine(dir, name);
    }
}

public sealed class BootstrapOptions
{
    public string? AdminKey { get; set; }
}

public sealed class CorsOptions
{
    public string? AllowedOrigins { get; set; }
}

public sealed class SecretsOptions
{
    /// <summary>Base64 key for image URL signatures; generated into the data folder when unset.</summary>
    public string? UrlSigningKey { get; set; }
    /// <summary>Base64 AES-256 key for BYOK secrets; generated into the data folder when unset.</summary>
    public string? EncryptionKey { get; set; }
}

public sealed class IdempotencyOptions
{
    /// <summary>
    /// The largest answer kept for Idempotency-Key replays (1 MiB): enough for any <c>url</c> answer
    /// and small <c>b64_json</c> ones. A larger answer is not kept; its replay is a 409 saying it was charged.
    /// </summary>
    public long MaxStoredAnswerBytes { get; set; } = 1024 * 1024;
}

/// <param name="configuration">Read for the shared stores only (their own sections validate them).</param>
public sealed class GatewayOptionsValidator(IConfiguration configuration) : IValidateOptions<GatewayOptions>
{
    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.DataDirectory)) errors.Add("Gateway:DataDirectory must not be empty.");
        if (options.MaxRequestBodyBytes < 1024) errors.Add($"Gateway:MaxRequestBodyBytes {options.MaxRequestBodyBytes} must be at least 1024.");
        if (options.MaxEditRequestBodyBytes < 1024) errors.Add($"Gateway:MaxEditRequestBodyBytes {options.MaxEditRequestBodyBytes} must be at least 1024.");
        if (options.Idempotency.MaxStoredAnswerBytes < 0) errors.Add($"Gateway:Idempotency:MaxStoredAnswerBytes {options.Idempotency.MaxStoredAnswerBytes} must be 0 or more.");
        if (options.BodyBudgetBytes < 0) errors.Add($"Gateway:BodyBudgetBytes {options.BodyBudgetBytes} must be 0 (no limit) or positive.");
        if (options.AuthCacheSeconds < 0) errors.Add($"Gateway:AuthCacheSeconds {options.AuthCacheSeconds} must be 0 (off) or positive.");
        if (!string.IsNullOrEmpty(options.PublicBaseUrl)
            && (!Uri.TryCreate(options.PublicBaseUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https")))
            errors.Add($"Gateway:PublicBaseUrl '{options.PublicBaseUrl}' is not an absolute http(s) URL.");
        // An empty value (as compose files often pass) means "not set".
        if (!string.IsNullOrWhiteSpace(options.Bootstrap.AdminKey) && !ApiKeys.HasValidShape(options.Bootstrap.AdminKey.Trim()))
            errors.Add("Gateway:Bootstrap:AdminKey must be 'uc_' followed by at least 40 letters or digits.");
        foreach (var (setting, value) in new[] { ("Gateway:Secrets:UrlSigningKey", options.Secrets.UrlSigningKey), ("Gateway:Secrets:EncryptionKey", options.Secrets.EncryptionKey) })
            if (!string.IsNullOrWhiteSpace(value) && !Hosting.Secrets.IsKey(value))
                errors.Add($"{setting} must be 32 bytes encoded as base64.");
        if (SharedStores() is { Count: > 0 } shared)
            foreach (var (setting, value) in new[] { ("Gateway__Secrets__UrlSigningKey", options.Secrets.UrlSigningKey), ("Gateway__Secrets__EncryptionKey", options.Secrets.EncryptionKey) })
                if (string.IsNullOrWhiteSpace(value))
                    errors.Add($"{setting} must be set when processes share state ({string.Join(", ", shared)}): every process " +
                        "needs the same key, or image URLs signed by one answer 403 on another and BYOK keys stored through one " +
                        "cannot be read by another. Generate it once (openssl rand -base64 32) and give every process the same value; " +
                        "it is never stored in the shared database.");
        return errors.ToResult();
    }

    /// <summary>The settings that make this one of several processes (PostgreSQL, an S3 bucket, Redis).</summary>
    private List<string> SharedStores()
    {
        var shared = new List<string>();
        if (configuration["Gateway:Database:Provider"]?.Trim().ToLowerInvariant() is "postgres" or "postgresql")
            shared.Add("Gateway:Database:Provider=postgres");
        if (configuration["Gateway:Storage:Kind"]?.Trim().Equals("s3", StringComparison.OrdinalIgnoreCase) == true)
            shared.Add("Gateway:Storage:Kind=s3");
        if (configuration["Gateway:RateLimits:Store"]?.Trim().Equals("redis", StringComparison.OrdinalIgnoreCase) == true)
            shared.Add("Gateway:RateLimits:Store=redis");
        return shared;
    }
}
