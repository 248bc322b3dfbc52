using ImageGateway.Hosting;
using Microsoft.Extensions.Options;

namespace ImageGateway.Providers;

/// <summary><c>Gateway:Providers</c> (the upstreams) and <c>Gateway:Routes</c> (which of them serve each model, in order).</summary>
public sealed class ProvidersOptions
{
    public const string Section = "Gateway";

    public Dictionary<string, ProviderOptions> Providers { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Model → ordered provider list tried in turn.</summary>
    public Dictionary<string, List<RouteTargetOptions>> Routes { get; set; } = new(StringComparer.OrdinalIgnoreCase);
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
    /// <summary>
    /// Whether callers may use their own keys (BYOK) on this provider. Unset: only on the public
    /// OpenAI, OpenRouter and Stability AI hosts, whose servers check every key.
    /// </summary>
    public bool? AllowByok { get; set; }
    /// <summary>
    /// The largest answer read from this provider, and the largest image downloaded from a link in
    /// one, counted while reading after decompression (64 MiB: ten 2048² PNGs as base64).
    /// </summary>
    public long MaxAnswerBytes { get; set; } = 64L * 1024 * 1024;
    /// <summary>
    /// Extra headers sent upstream (OpenRouter's HTTP-Referer and X-Title, Azure's api-key): only
    /// with calls to the provider's API, never with image downloads, and redirects are not followed.
    /// </summary>
    public Dictionary<string, string> Headers { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}

public sealed class RouteTargetOptions
{
    public string Provider { get; set; } = "";
    public string? UpstreamModel { get; set; }
}

public sealed class ProvidersOptionsValidator : IValidateOptions<ProvidersOptions>
{
    public ValidateOptionsResult Validate(string? name, ProvidersOptions options)
    {
        var errors = new List<string>();
        foreach (var (provider, o) in options.Providers)
        {
            var where = $"Gateway:Providers:{provider}";
            if (!string.IsNullOrWhiteSpace(o.BaseUrl)
                && (!Uri.TryCreate(o.BaseUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https")))
                errors.Add($"{where}:BaseUrl '{o.BaseUrl}' is not an absolute http(s) URL.");
            if (o.TimeoutSeconds <= 0) errors.Add($"{where}:TimeoutSeconds must be positive.");
            if (o.MaxRetries < 0) errors.Add($"{where}:MaxRetries must be 0 or more.");
            if (o.RetryBaseDelayMs < 0) errors.Add($"{where}:RetryBaseDelayMs must be 0 or more.");
            if (o.MaxAnswerBytes < 1024) errors.Add($"{where}:MaxAnswerBytes must be at least 1024.");
            if (o.CircuitFailureRatio is <= 0 or > 1) errors.Add($"{where}:CircuitFailureRatio must be above 0 and at most 1.");
        }
        foreach (var (model, steps) in options.Routes)
        {
            var unknown = steps.Where(s => !options.Providers.ContainsKey(s.Provider)).Select(s => s.Provider).ToArray();
            if (unknown.Length > 0)
                errors.Add($"Gateway:Routes:{model} names unknown provider(s) {string.Join(", ", unknown)}; configure them under Gateway:Providers.");
        }
        return errors.ToResult();
    }
}
