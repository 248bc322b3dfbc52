namespace ImageGateway.Providers;

/// <summary>
/// What one upstream call should produce, in the gateway's terms (the adapter maps it to its wire
/// format). <see cref="Size"/> may be <c>auto</c>, with <see cref="Width"/> and <see cref="Height"/>
/// then the size the gateway plans for (1024x1024). The GPT-image fields are null when the caller
/// left them out: adapters send only what was asked for.
/// </summary>
public sealed record ImageJob(
    string UpstreamModel,
    string Prompt,
    int N,
    int Width,
    int Height,
    string Size,
    string Quality,
    string? Style,
    long? Seed,
    string? User,
    string? OutputFormat = null,
    int? OutputCompression = null,
    string? Background = null,
    string? Moderation = null)
{
    /// <summary><c>png</c>, <c>jpeg</c> or <c>webp</c>: what the image file should be (png when not asked).</summary>
    public string Format => OutputFormat ?? "png";

    public bool Transparent => Background == "transparent";

    /// <summary>The caller's images (an edit, or the source of a variation); empty for a generation.</summary>
    public IReadOnlyList<InputImage> Inputs { get; init; } = [];

    /// <summary>An edit's mask: a PNG the size of the first input, whose transparent pixels mark what to repaint.</summary>
    public InputImage? Mask { get; init; }

    /// <summary><c>high</c> or <c>low</c> (GPT-image edits), null when not asked.</summary>
    public string? InputFidelity { get; init; }

    /// <summary>A variation of <see cref="Inputs"/>[0]: no prompt of the caller's, no mask.</summary>
    public bool Variation { get; init; }

    public bool IsEdit => Inputs.Count > 0 && !Variation;

    /// <summary>Partial images asked for (0–3); only used when <see cref="OnPartial"/> is set.</summary>
    public int PartialImages { get; init; }

    /// <summary>
    /// Set when the caller streams: an adapter that can stream hands each partial image here as it
    /// arrives, then returns the final images as usual. Adapters that cannot stream ignore it.
    /// </summary>
    public Func<PartialImage, CancellationToken, ValueTask>? OnPartial { get; init; }
}

/// <summary>An image the caller sent: the file as it came, its sniffed media type, and its size in pixels.</summary>
public sealed record InputImage(byte[] Bytes, string MediaType, int Width, int Height, string? FileName = null);

/// <summary>One partial image of a streamed answer, in the order the upstream sent them (index from 0).</summary>
public sealed record PartialImage(int Index, GeneratedImage Image)
{
    /// <summary>What the upstream's event says of it (size, quality, background, format), where it says.</summary>
    public ProducedAs Produced { get; init; } = ProducedAs.Unknown;
}

/// <summary>
/// Tokens an upstream reports for one answer (OpenAI's <c>usage</c> of GPT-image models).
/// <see cref="OutputImage"/> and <see cref="OutputText"/> are the optional breakdown of
/// <see cref="Output"/>, kept so the answer can repeat it.
/// </summary>
public sealed record TokenUsage(long InputText, long InputImage, long Output, long? OutputImage = null, long? OutputText = null)
{
    public long Input => InputText + InputImage;

    public long Total => Input + Output;

    /// <summary>The usage of several calls that served one request; null when any of them reported none.</summary>
    public static TokenUsage? Sum(IEnumerable<TokenUsage?> parts)
    {
        TokenUsage? sum = null;
        foreach (var part in parts)
        {
            if (part is null) return null;
            sum = sum is null ? part : new TokenUsage(sum.InputText + part.InputText, sum.InputImage + part.InputImage, sum.Output + part.Output,
                sum.OutputImage is { } a && part.OutputImage is { } b ? a + b : null,
                sum.OutputText is { } c && part.OutputText is { } d ? c + d : null);
        }
        return sum;
    }
}

/// <summary>What a GPT-image answer says it produced; null where it did not say.</summary>
public sealed record ProducedAs(string? Background, string? OutputFormat, string? Size, string? Quality)
{
    public static readonly ProducedAs Unknown = new(null, null, null, null);
}

public enum FailureKind
{
    /// <summary>Timed out: try the next provider; 504 if none is left.</summary>
    Timeout,
    /// <summary>Connection failure, 429 or 5xx: try the next provider; 502 if none is left.</summary>
    Unavailable,
    /// <summary>The upstream answered with something that is not images.</summary>
    InvalidResponse,
    /// <summary>The upstream refused the prompt. Final: never retried elsewhere.</summary>
    ContentPolicy,
    /// <summary>The upstream rejected the key (401/402/403).</summary>
    Unauthorized,
    /// <summary>The upstream rejected the request as malformed (400 other than content policy).</summary>
    Rejected,
}

public sealed record ProviderFailure(FailureKind Kind, string Message, int? UpstreamStatus = null, TimeSpan? RetryAfter = null)
{
    /// <summary>The message was written for any caller (it names no setting or internal state); others are shown to admins only.</summary>
    public bool ForAnyCaller { get; init; }
}

/// <summary>
/// Either images or a typed failure; adapters do not throw for upstream problems. A success may
/// carry the upstream's token <see cref="Usage"/> and what it says it <see cref="Produced"/>.
/// </summary>
public sealed record ProviderResult(IReadOnlyList<GeneratedImage> Images, ProviderFailure? Failure)
{
    public TokenUsage? Usage { get; init; }

    public ProducedAs Produced { get; init; } = ProducedAs.Unknown;

    /// <summary>What the upstream says this call cost, in US dollars, where it says (OpenRouter's <c>usage.cost</c>); null otherwise.</summary>
    public decimal? UpstreamCostUsd { get; init; }

    public static ProviderResult Success(IReadOnlyList<GeneratedImage> images) => new(images, null);
    public static ProviderResult Failed(ProviderFailure failure) => new([], failure);
}

/// <summary>
/// The key, endpoint and resilient HTTP client to use for one call. The key is handed in (platform
/// or the caller's own); providers never look keys up themselves.
/// </summary>
public sealed record ProviderCredential(string? ApiKey, string? BaseUrl, UpstreamClient? Upstream = null)
{
    public UpstreamClient Http => Upstream ?? throw new InvalidOperationException("This provider has no HTTP client.");

    public System.Net.Http.Headers.AuthenticationHeaderValue Bearer => new("Bearer", ApiKey);

    /// <summary>
    /// The settings that give a keyed provider its key, for <see cref="IImageProvider.HowToEnable"/>:
    /// the shorthand variable too when the provider has its kind's own name.
    /// </summary>
    public static string KeySettings(string providerName, string kind, string shorthand) =>
        providerName.Equals(kind, StringComparison.OrdinalIgnoreCase)
            ? $"{shorthand} (or Gateway__Providers__{kind}__ApiKey)"
            : $"Gateway__Providers__{providerName}__ApiKey";

    /// <summary>Never print the key.</summary>
    public override string ToString() => $"ProviderCredential {{ BaseUrl = {BaseUrl}, ApiKey = {(ApiKey is null ? "none" : "set")} }}";
}

/// <summary>One adapter per upstream wire format. Knows no money and no database.</summary>
public interface IImageProvider
{
    /// <summary>The wire format this adapter speaks (<c>openai</c>, <c>builtin</c>, ...).</summary>
    string Kind { get; }

    /// <summary>Whether a provider of this kind can be used with these settings (usually: it has a key).</summary>
    bool IsConfigured(ProviderCredential credential);

    /// <summary>Images one upstream call can return; more are fanned out over parallel calls.</summary>
    int MaxImagesPerCall(string upstreamModel) => 10;

    /// <summary>The setting an operator would change to enable this provider, for the 503 message.</summary>
    string HowToEnable(string providerName);

    /// <summary>Whether <see cref="GenerateAsync"/> takes jobs with <see cref="ImageJob.Inputs"/> (edits) for this model.</summary>
    bool CanEdit(string upstreamModel) => false;

    /// <summary>Whether it takes <see cref="ImageJob.Variation"/> jobs for this model.</summary>
    bool CanVary(string upstreamModel) => false;

    /// <summary>Whether it reports partial images through <see cref="ImageJob.OnPartial"/> for this model.</summary>
    bool CanStream(string upstreamModel) => false;

    Task<ProviderResult> GenerateAsync(ImageJob job, ProviderCredential credential, CancellationToken ct);

    /// <summary>A cheap authenticated call (such as listing models) that tells whether a key works.</summary>
    Task<KeyCheck> CheckKeyAsync(ProviderCredential credential, CancellationToken ct) =>
        Task.FromResult(new KeyCheck(false, 0, $"Checking keys is not supported for {Kind} providers."));
}

/// <summary>
/// The answer of <see cref="IImageProvider.CheckKeyAsync"/>: <c>status</c> is the upstream's HTTP
/// status (0 when none); <see cref="KeyRejected"/> when the upstream said the key itself is wrong
/// (401/403, or a provider's own way of saying so, such as Google's 400 API_KEY_INVALID).
/// </summary>
public sealed record KeyCheck(bool Ok, int Status, string Message)
{
    public bool KeyRejected { get; init; } = Status is 401 or 403;

    /// <summary>Runs a GET against the provider with the key as a bearer token and reads only its status: 2xx means the key works.</summary>
    public static Task<KeyCheck> ByGetAsync(ProviderCredential credential, string url, string provider, CancellationToken ct) =>
        ByRequestAsync(credential, () =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.Authorization = credential.Bearer;
            return request;
        }, provider, ct);

    /// <summary>Sends the request (carrying the key however the provider takes it) and reads only its status.</summary>
    public static async Task<KeyCheck> ByRequestAsync(ProviderCredential credential, Func<HttpRequestMessage> build, string provider,
        CancellationToken ct, Func<HttpResponseMessage, bool>? rejectsKey = null)
    {
        var (response, failure) = await credential.Http.SendAsync(build, ct);
        if (failure is not null) return new KeyCheck(false, 0, failure.Message);
        using (response)
        {
            var status = (int)response!.StatusCode;
            var rejected = status is 401 or 403 || rejectsKey?.Invoke(response) == true;
            return response.IsSuccessStatusCode
                ? new KeyCheck(true, status, $"The {provider} key works.")
                : new KeyCheck(false, status, rejected
                    ? $"{provider} rejected the key (HTTP {status})."
                    : $"{provider} answered HTTP {status}; the key could not be confirmed.") { KeyRejected = rejected };
        }
    }
}
