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

    /// <summary>Asynchronous upstreams (bfl, replicate): the first wait before polling a job; each later one is half as long again.</summary>
    public int PollIntervalMs { get; set; } = 500;
    public int MaxPollIntervalMs { get; set; } = 4000;

    /// <summary>
    /// Hosts result links may come from (a parent domain covers its subdomains); empty: the
    /// adapter's documented ones. The provider's own base-URL host is always allowed.
    /// </summary>
    public List<string> ResultHosts { get; set; } = [];

    /// <summary>
    /// Per upstream model settings of adapters that need them: a Replicate model's version and
    /// input field names, an Azure deployment's API version.
    /// </summary>
    public Dictionary<string, UpstreamModelOptions> Models { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Azure OpenAI: the <c>api-version</c> of deployment calls, or <c>v1</c> for the v1 API (the deployment as <c>model</c>).</summary>
    public string? ApiVersion { get; set; }
}

/// <summary>How one upstream model is called (Replicate: <c>Gateway:Providers:replicate:Models:{owner/name}</c>).</summary>
public sealed class UpstreamModelOptions
{
    /// <summary>A Replicate version id; unset, the model's latest version is run (<c>/models/{owner}/{name}/predictions</c>).</summary>
    public string? Version { get; set; }

    /// <summary>
    /// The model's input field for each thing the gateway sends: <c>prompt</c>, <c>aspect_ratio</c>,
    /// <c>width</c>, <c>height</c>, <c>seed</c>, <c>num_outputs</c>, <c>output_format</c>. A field
    /// mapped to an empty name is not sent.
    /// </summary>
    public Dictionary<string, string> Inputs { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Inputs sent as they are with every call (e.g. <c>"safety_tolerance": "2"</c>); numbers and booleans are sent as JSON values.</summary>
    public Dictionary<string, string> Fixed { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Images one call can return (the model's <c>num_outputs</c> maximum); 1 when it takes no count.</summary>
    public int MaxOutputs { get; set; } = 1;

    /// <summary>The aspect ratios the model takes, when it takes one ("1:1", "16:9", ...); unset: the common FLUX set.</summary>
    public List<string> AspectRatios { get; set; } = [];

    /// <summary>The upstream's own price, for the margin report: per image returned, or per second of <c>metrics.predict_time</c>.</summary>
    public decimal? CostPerImageUsd { get; set; }
    public decimal? CostPerSecondUsd { get; set; }
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
            if (o.PollIntervalMs < 1 || o.MaxPollIntervalMs < o.PollIntervalMs)
                errors.Add($"{where}:PollIntervalMs must be positive and MaxPollIntervalMs at least as long.");
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
