namespace ImageGateway.Hosting;

/// <summary>
/// The <c>Gateway</c> configuration section, bound once at start-up. Names are fixed by DESIGN §11;
/// defaults for models, prices, tiers and routes live in appsettings.json so operators can see and
/// change them in one place.
/// </summary>
public sealed class GatewayOptions
{
    public const string Section = "Gateway";

    public string DataDirectory { get; set; } = "./data";
    public string? PublicBaseUrl { get; set; }
    public bool TrustForwardedHeaders { get; set; }
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Seconds a resolved API key, and an account's "no BYOK key" answer, are kept in memory. Changes
    /// through the same process apply at once; through another process within this time. 0 = off.
    /// </summary>
    public double AuthCacheSeconds { get; set; } = 5;

    public BootstrapOptions Bootstrap { get; set; } = new();
    public CorsOptions Cors { get; set; } = new();
    public DatabaseOptions Database { get; set; } = new();
    public StorageOptions Storage { get; set; } = new();
    public BillingOptions Billing { get; set; } = new();
    public SecretsOptions Secrets { get; set; } = new();
    public ByokOptions Byok { get; set; } = new();
    public RateLimitOptions RateLimits { get; set; } = new();
    public RedisOptions Redis { get; set; } = new();

    public Dictionary<string, ProviderOptions> Providers { get; set; } = new(StringComparer.OrdinalIgnoreCase);
    public Dictionary<string, ModelOptions> Models { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Base price in credits per image: <c>Pricing:{model}:{quality}:{size}</c>; size <c>default</c> matches any size.</summary>
    public Dictionary<string, Dictionary<string, Dictionary<string, decimal>>> Pricing { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    public Dictionary<string, TierOptions> Tiers { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Model → ordered provider list tried in turn.</summary>
    public Dictionary<string, List<RouteTargetOptions>> Routes { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    public string ResolveDataDirectory() => Path.GetFullPath(DataDirectory);
}

public sealed class BootstrapOptions
{
    public string? AdminKey { get; set; }
}

public sealed class CorsOptions
{
    public string? AllowedOrigins { get; set; }
}

public sealed class DatabaseOptions
{
    public string Provider { get; set; } = "sqlite";
    public string? ConnectionString { get; set; }

    /// <summary>SQLite only: PRAGMA synchronous for writes, NORMAL (no fsync per commit) or FULL.</summary>
    public string SqliteSynchronous { get; set; } = "NORMAL";

    /// <summary>SQLite only: page size of a newly created database file (an existing file keeps its own).</summary>
    public int SqlitePageSize { get; set; } = Data.SqliteDialect.DefaultPageSize;
}

public sealed class StorageOptions
{
    public string Kind { get; set; } = "filesystem";
    public int UrlTtlSeconds { get; set; } = 3600;
    public int SweepIntervalSeconds { get; set; } = 60;
    /// <summary>The bucket when <c>Kind</c> is <c>s3</c>.</summary>
    public S3Options S3 { get; set; } = new();
}

/// <summary>An S3-compatible bucket (AWS, MinIO, s3rver...); addressed path-style so any endpoint works.</summary>
public sealed class S3Options
{
    public string? ServiceUrl { get; set; }
    public string? Bucket { get; set; }
    public string? AccessKey { get; set; }
    public string? SecretKey { get; set; }
    public string Region { get; set; } = "us-east-1";
}

public sealed class BillingOptions
{
    /// <summary>A reservation still open after this long belongs to a crashed request and is released.</summary>
    public int HoldTimeoutSeconds { get; set; } = 900;
}

public sealed class RedisOptions
{
    /// <summary>A StackExchange.Redis configuration string, e.g. <c>redis:6379,password=...</c>; required when RateLimits:Store is <c>redis</c>.</summary>
    public string? Configuration { get; set; }
}

public sealed class RateLimitOptions
{
    /// <summary><c>memory</c> (one process) or <c>redis</c> (several processes share one limit).</summary>
    public string Store { get; set; } = "memory";
}

public sealed class ByokOptions
{
    /// <summary>When the caller's own key fails, serve from the platform key (billed) instead of returning the error.</summary>
    public bool FallbackToPlatform { get; set; }
}

public sealed class SecretsOptions
{
    /// <summary>Base64 key for image URL signatures; generated into the data folder when unset.</summary>
    public string? UrlSigningKey { get; set; }
    /// <summary>Base64 AES-256 key for BYOK secrets; generated into the data folder when unset.</summary>
    public string? EncryptionKey { get; set; }
}

public sealed class ProviderOptions
{
    /// <summary><c>openai</c>, <c>openrouter</c>, <c>stability</c>, <c>automatic1111</c> or <c>builtin</c>; defaults to the provider's name.</summary>
    public string? Kind { get; set; }
    public string? BaseUrl { get; set; }
    public string? ApiKey { get; set; }
    /// <summary>Per attempt; an upstream slower than this is abandoned (504 if no other provider serves).</summary>
    public double TimeoutSeconds { get; set; } = 120;
    /// <summary>Retries after a connection failure, 429 or 5xx, with exponential backoff or the upstream's Retry-After.</summary>
    public int MaxRetries { get; set; } = 2;
    public int RetryBaseDelayMs { get; set; } = 500;
    /// <summary>A Retry-After longer than this is not waited for; the next provider is tried instead.</summary>
    public double MaxRetryDelaySeconds { get; set; } = 10;
    /// <summary>Circuit breaker: open when this share of calls failed within the sampling window...</summary>
    public double CircuitFailureRatio { get; set; } = 0.5;
    /// <summary>...and at least this many calls were made in it.</summary>
    public int CircuitMinimumThroughput { get; set; } = 5;
    public double CircuitSamplingSeconds { get; set; } = 30;
    /// <summary>How long an open circuit skips the provider before one trial call.</summary>
    public double CircuitBreakSeconds { get; set; } = 30;
    /// <summary>Parallel upstream calls when n images need several calls (dall-e-3 takes n=1 only).</summary>
    public int MaxParallelCalls { get; set; } = 4;
    /// <summary>Extra headers sent upstream (OpenRouter's HTTP-Referer and X-Title, for example).</summary>
    public Dictionary<string, string> Headers { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}

public sealed class ModelOptions
{
    public List<string> Sizes { get; set; } = [];
    public List<string> Qualities { get; set; } = [];
    public string? DefaultQuality { get; set; }
    public List<string> Styles { get; set; } = [];
    public int MaxN { get; set; } = 10;
    public int MaxPromptLength { get; set; } = 4000;
    public string? OwnedBy { get; set; }
}

public sealed class TierOptions
{
    public decimal Multiplier { get; set; } = 1m;
    public int PerMinute { get; set; }
    public int PerHour { get; set; }
    public int PerDay { get; set; }
    public int PerMonth { get; set; }
    /// <summary>Credits a month; 0 means no cap.</summary>
    public decimal MonthlyCap { get; set; }
}

public sealed class RouteTargetOptions
{
    public string Provider { get; set; } = "";
    public string? UpstreamModel { get; set; }
}
