using System.Collections.Frozen;
using ImageGateway.Hosting;
using Microsoft.Extensions.Options;

namespace ImageGateway.Providers;

/// <summary>One configured upstream: its name, adapter and settings, and whether callers may use their own keys on it.</summary>
public sealed record ProviderEndpoint(string Name, IImageProvider Adapter, ProviderCredential Credential, bool AllowsByok = false)
{
    public bool IsConfigured => Adapter.IsConfigured(Credential);
}

/// <summary>One step of a model's route.</summary>
public sealed record RouteStep(ProviderEndpoint Provider, string UpstreamModel);

/// <summary>
/// The configured providers and each model's route. A provider whose adapter kind is unknown or
/// that lacks a key is kept (so the 503 message can say what to set) but never chosen.
/// </summary>
public sealed class ProviderRegistry
{
    private static readonly FrozenDictionary<string, string> KeyShorthands = new Dictionary<string, string>
    {
        ["openai"] = "OPENAI_API_KEY",
        ["openrouter"] = "OPENROUTER_API_KEY",
        ["stability"] = "STABILITY_API_KEY",
        ["google"] = "GEMINI_API_KEY",
        ["bfl"] = "BFL_API_KEY",
        ["replicate"] = "REPLICATE_API_TOKEN",
        ["azure"] = "AZURE_OPENAI_API_KEY",
    }.ToFrozenDictionary();

    /// <summary>
    /// The public hosts of each kind that check every key they are sent. BYOK is allowed by default only
    /// there: an OpenAI-compatible server elsewhere (LocalAI, vLLM, a proxy adding the real key) may
    /// accept any key, and then a made-up key would make every image free.
    /// </summary>
    /// A host starting with a dot stands for its subdomains (an Azure resource's own host).
    private static readonly FrozenDictionary<string, string[]> PublicHosts = new Dictionary<string, string[]>
    {
        ["openai"] = ["api.openai.com"],
        ["openrouter"] = ["openrouter.ai"],
        ["stability"] = ["api.stability.ai"],
        ["google"] = ["generativelanguage.googleapis.com"],
        ["bfl"] = ["api.bfl.ai", "api.eu.bfl.ai", "api.us.bfl.ai"],
        ["replicate"] = ["api.replicate.com"],
        ["azure"] = [".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com"],
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    private readonly FrozenDictionary<string, ProviderEndpoint> _providers;
    private readonly CallerKeyClients _callerKeys;
    private readonly FrozenDictionary<string, RouteStep[]> _routes;

    private readonly SocketsHttpHandler _handler = CreateHandler();

    /// <summary>
    /// The connection pool the providers share. An answer left unread is one the gateway gave up on
    /// (a cancelled or timed-out stream): its connection is closed at once, so the upstream sees the
    /// request cancelled, instead of being drained to its end for reuse.
    /// Redirects are never followed: a 3xx would re-send the prompt and the provider's headers to
    /// another host. Decompressed bodies are counted as they are read (MaxAnswerBytes).
    /// </summary>
    public static SocketsHttpHandler CreateHandler() => new()
    {
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        AutomaticDecompression = System.Net.DecompressionMethods.All,
        AllowAutoRedirect = false,
        ConnectTimeout = TimeSpan.FromSeconds(10),
        MaxResponseDrainSize = 0,
    };

    /// <summary>
    /// The handler for image links in one provider's answers: public addresses only, except the
    /// provider's own endpoint (the operator configured it) or when <c>Gateway:AllowPrivateImageUrls</c> is set.
    /// </summary>
    private static SocketsHttpHandler DownloadHandler(string? baseUrl, bool allowPrivate)
    {
        var own = Uri.TryCreate(baseUrl, UriKind.Absolute, out var url) ? url : null;
        return AddressGuard.Handler(endpoint => allowPrivate
            || (own is not null && endpoint.Port == own.Port && endpoint.Host.Equals(own.Host, StringComparison.OrdinalIgnoreCase)),
            TimeSpan.FromSeconds(10));
    }

    public ProviderRegistry(IOptions<ProvidersOptions> options, IConfiguration configuration, IEnumerable<IImageProvider> adapters, TimeProvider time)
    {
        _callerKeys = new CallerKeyClients(_handler, time);
        var allowPrivate = configuration.GetValue<bool>("Gateway:AllowPrivateImageUrls");
        var byKind = adapters.ToDictionary(a => a.Kind, StringComparer.OrdinalIgnoreCase);
        var providers = new Dictionary<string, ProviderEndpoint>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, o) in options.Value.Providers)
        {
            var kind = o.Kind ?? name;
            var apiKey = o.ApiKey;
            if (string.IsNullOrEmpty(apiKey) && KeyShorthands.TryGetValue(name, out var envName))
                apiKey = configuration[envName];
            var upstream = new UpstreamClient(name, o, _handler, time, downloads: DownloadHandler(o.BaseUrl, allowPrivate));
            var credential = new ProviderCredential(string.IsNullOrEmpty(apiKey) ? null : apiKey, o.BaseUrl?.TrimEnd('/'), upstream);
            var adapter = byKind.TryGetValue(kind, out var a) ? a : new UnsupportedProvider(kind);
            providers[name] = new ProviderEndpoint(name, adapter, credential, o.AllowByok ?? IsPublic(kind, credential.BaseUrl));
        }
        _providers = providers.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

        var routes = new Dictionary<string, RouteStep[]>(StringComparer.OrdinalIgnoreCase);
        foreach (var (model, steps) in options.Value.Routes)
        {
            routes[model] = steps
                .Where(s => _providers.ContainsKey(s.Provider))
                .Select(s => new RouteStep(_providers[s.Provider], s.UpstreamModel ?? model))
                .ToArray();
        }
        _routes = routes.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }

    public IEnumerable<ProviderEndpoint> Providers => _providers.Values;

    /// <summary>The provider with the caller's own key in place of the platform's, on that key's own HTTP client and circuit.</summary>
    public ProviderEndpoint WithCallerKey(ProviderEndpoint provider, string apiKey) => provider with
    {
        Credential = provider.Credential with { ApiKey = apiKey, Upstream = _callerKeys.For(provider.Credential.Http, apiKey) },
    };

    private static bool IsPublic(string kind, string? baseUrl) =>
        PublicHosts.TryGetValue(kind, out var hosts)
        && (baseUrl is null || (Uri.TryCreate(baseUrl, UriKind.Absolute, out var url) && url.Scheme == "https"
            && hosts.Any(h => h.StartsWith('.') ? url.Host.EndsWith(h, StringComparison.OrdinalIgnoreCase) : url.Host.Equals(h, StringComparison.OrdinalIgnoreCase))));

    public bool TryGetProvider(string name, out ProviderEndpoint provider) => _providers.TryGetValue(name, out provider!);

    /// <summary>Every step of a model's route whose adapter exists, configured with a platform key or not (BYOK can use them).</summary>
    public IReadOnlyList<RouteStep> FullRoute(string model) =>
        _routes.TryGetValue(model, out var steps) ? steps.Where(s => s.Provider.Adapter is not UnsupportedProvider).ToArray() : [];

    /// <summary>The usable steps of a model's route, in order.</summary>
    public IReadOnlyList<RouteStep> Route(string model) =>
        _routes.TryGetValue(model, out var steps) ? steps.Where(s => s.Provider.IsConfigured).ToArray() : [];

    /// <summary>The 503 message: which settings would make the model servable (<paramref name="requested"/>, when another model's route serves it).</summary>
    public string DescribeNoProvider(string model, string? requested = null)
    {
        var which = requested is null || requested.Equals(model, StringComparison.OrdinalIgnoreCase) ? $"'{model}'" : $"'{requested}' (served by {model})";
        if (!_routes.TryGetValue(model, out var steps) || steps.Length == 0)
            return $"No provider is configured for model {which}. Add a route under Gateway__Routes__{model}.";
        var hints = steps.Select(s => s.Provider.Adapter.HowToEnable(s.Provider.Name)).Distinct();
        return $"No provider is configured for model {which}. Contact the administrator to set {string.Join(" or ", hints)}.";
    }

    /// <summary>Stands in for a configured provider whose wire format this build has no adapter for.</summary>
    private sealed class UnsupportedProvider(string kind) : IImageProvider
    {
        public string Kind => kind;
        public bool IsConfigured(ProviderCredential credential) => false;
        public string HowToEnable(string providerName) =>
            $"Gateway__Providers__{providerName}__Kind to a supported kind (this build has no '{kind}' adapter)";
        public Task<ProviderResult> GenerateAsync(ImageJob job, ProviderCredential credential, CancellationToken ct) =>
            throw new NotSupportedException($"No adapter for provider kind '{kind}'.");
    }
}
