using System.Text.Json;
using System.Text.Json.Serialization;
using ImageGateway.Billing;
using ImageGateway.Providers;

namespace ImageGateway.Generation;

/// <summary>
/// The OpenAI images response plus the brief's <c>_metadata</c> (DESIGN §1.2). GPT-image models add
/// what was produced and the token usage, as OpenAI's <c>ImagesResponse</c> (DESIGN §12.3); the
/// other models leave those out.
/// </summary>
/// <param name="Created">When the images were made (unix seconds).</param>
/// <param name="Data">The images, one entry each.</param>
/// <param name="Metadata">What the gateway did: provider, model, cost, balance, tier.</param>
public sealed record ImagesResponse(
    long Created,
    IReadOnlyList<ImageDatum> Data,
    [property: JsonPropertyName("_metadata"), JsonPropertyOrder(1)] GenerationMetadata Metadata)
{
    /// <summary>GPT-image models: the background produced.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Background { get; init; }
    /// <summary>GPT-image models: the file format produced.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? OutputFormat { get; init; }
    /// <summary>GPT-image models: the size produced.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Size { get; init; }
    /// <summary>GPT-image models: the quality produced.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Quality { get; init; }
    /// <summary>GPT-image models: the tokens the request took.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public ImagesUsage? Usage { get; init; }

    /// <summary>
    /// A GPT-image answer also says what was made (the upstream's word where it gave it, else what was
    /// asked for, never <c>auto</c>) and the tokens it took (DESIGN §12.3); other models' answers are unchanged.
    /// </summary>
    public ImagesResponse WithGptImageFacts(GenerationSpec spec, ProviderResult result)
    {
        if (!spec.Model.IsGptImage) return this;
        var produced = result.Produced;
        return this with
        {
            Background = produced.Background ?? (spec.Background is "transparent" or "opaque" ? spec.Background : null),
            OutputFormat = produced.OutputFormat ?? result.Images[0].Extension,
            Size = produced.Size ?? (spec.Size == Catalog.ModelDefinition.AutoSize ? null : spec.Size),
            Quality = produced.Quality ?? (spec.Quality == "auto" ? null : spec.UpstreamQuality),
            Usage = result.Usage is { } tokens ? ImagesUsage.From(tokens) : null,
        };
    }
}

/// <summary>OpenAI's <c>usage</c> of a GPT-image answer, as the upstream reported it.</summary>
/// <param name="InputTokens">Prompt and input image tokens.</param>
/// <param name="InputTokensDetails">Input tokens by kind.</param>
/// <param name="OutputTokens">Tokens of the images made.</param>
/// <param name="TotalTokens">Input plus output tokens.</param>
public sealed record ImagesUsage(long InputTokens, ImagesUsage.InputDetails InputTokensDetails, long OutputTokens, long TotalTokens)
{
    /// <summary>Output tokens by kind, when the upstream split them.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public OutputDetails? OutputTokensDetails { get; init; }

    /// <param name="TextTokens">Prompt text tokens.</param>
    /// <param name="ImageTokens">Input image tokens (edits).</param>
    public sealed record InputDetails(long TextTokens, long ImageTokens);

    /// <param name="ImageTokens">Image tokens produced.</param>
    /// <param name="TextTokens">Text tokens produced.</param>
    public sealed record OutputDetails(long ImageTokens, long TextTokens);

    public static ImagesUsage From(TokenUsage usage) => new(usage.Input, new InputDetails(usage.InputText, usage.InputImage), usage.Output, usage.Total)
    {
        OutputTokensDetails = usage is { OutputImage: { } image, OutputText: { } text } ? new OutputDetails(image, text) : null,
    };
}

/// <summary><c>b64_json</c> is written from the image's base64 as is (plain base64, no data: prefix).</summary>
/// <param name="Url">A signed URL of the stored image (<c>response_format: url</c>); valid until <c>_metadata.expires_at</c>.</param>
/// <param name="B64Json">The image as base64 (<c>response_format: b64_json</c>).</param>
/// <param name="RevisedPrompt">The prompt the upstream actually used, when it rewrote it.</param>
public sealed record ImageDatum(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Url,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull), JsonConverter(typeof(Base64ImageConverter))] GeneratedImage? B64Json,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? RevisedPrompt);

/// <param name="ProviderUsed">The provider that made the images.</param>
/// <param name="ModelUsed">The model that made them.</param>
/// <param name="CostIncurred">Credits charged for this request (0 with your own key).</param>
/// <param name="CreditsRemaining">Your balance after the charge.</param>
/// <param name="TransactionId">The ledger entry of the charge; null when nothing was charged.</param>
/// <param name="UserTier">Your tier.</param>
/// <param name="UsingByok">Whether your own provider key was used.</param>
/// <param name="ByokProvider">The provider of that key; null without one.</param>
/// <param name="ImagesGenerated">Images made.</param>
/// <param name="Size">The size made.</param>
/// <param name="Quality">The quality made.</param>
/// <param name="ExpiresAt">When the stored images' URLs stop working (unix seconds); null for b64_json answers.</param>
/// <param name="ByokFallback">True when your own key failed and the platform's provider made the images (charged).</param>
public sealed record GenerationMetadata(
    string ProviderUsed,
    string ModelUsed,
    Millicredits CostIncurred,
    Millicredits CreditsRemaining,
    string? TransactionId,
    string UserTier,
    bool UsingByok,
    string? ByokProvider,
    int ImagesGenerated,
    string Size,
    string Quality,
    long? ExpiresAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? ByokFallback = null)
{
    /// <summary>The upstream model that made the images (for a retired model, its successor's).</summary>
    public string UpstreamModel => ModelUsed;

    /// <summary><c>per_image</c> or <c>per_token</c>: how <see cref="CostIncurred"/> was worked out.</summary>
    public string? Pricing { get; init; }

    /// <summary>What the upstream says the call cost it, in US dollars (BFL's <c>cost</c>, a configured Replicate rate); absent when unknown.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public decimal? UpstreamCostUsd { get; init; }

    /// <summary>Fields accepted and not forwarded (a retired model's <c>style</c>); absent when none.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public IReadOnlyList<string>? Ignored { get; init; }
}

/// <summary>What a generate request with this body would do for this caller, charging nothing.</summary>
/// <param name="Model">The model the request names (or the default, dall-e-3).</param>
/// <param name="N">Images asked for.</param>
/// <param name="Size">The size, after defaults.</param>
/// <param name="Quality">The quality, after defaults.</param>
/// <param name="Tier">The caller's tier.</param>
/// <param name="Multiplier">The tier's markup on base prices.</param>
/// <param name="UnitCost">Credits one image would be charged (0 with the caller's own key).</param>
/// <param name="EstimatedCost">Credits the request would be charged: exactly, for per-image prices; the tables' estimate, per token. 0 with the caller's own key.</param>
/// <param name="MaxCost">Credits that would be held while it runs (the same as the estimate for per-image prices). 0 with the caller's own key.</param>
/// <param name="Pricing"><c>per_image</c> or <c>per_token</c>.</param>
/// <param name="Rates">The caller's credits per million tokens, for per-token models.</param>
/// <param name="CreditsRemaining">The caller's balance.</param>
/// <param name="Reserved">Credits held by the caller's running requests.</param>
/// <param name="Available">Balance minus holds.</param>
/// <param name="Sufficient">Whether the available credits cover <c>max_cost</c> (always true with the caller's own key).</param>
/// <param name="ProviderAvailable">Whether a provider would serve it: the platform's or the caller's own key.</param>
/// <param name="UsingByok">Whether the caller's own provider key would serve it (nothing charged).</param>
/// <param name="ByokProvider">The provider of that key, e.g. <c>openai</c>; null without one.</param>
/// <param name="PlatformCost">What the request costs on the platform's providers (the same as <c>estimated_cost</c> without a key of one's own).</param>
public sealed record EstimateResponse(
    string Model,
    int N,
    string Size,
    string Quality,
    string Tier,
    decimal Multiplier,
    Millicredits UnitCost,
    Millicredits EstimatedCost,
    Millicredits MaxCost,
    string Pricing,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Catalog.TokenRates? Rates,
    Millicredits CreditsRemaining,
    Millicredits Reserved,
    Millicredits Available,
    bool Sufficient,
    bool ProviderAvailable,
    bool UsingByok,
    string? ByokProvider,
    Millicredits PlatformCost);

/// <summary>
/// Writes an image as its base64 string. Base64 needs no JSON escaping, so the text goes out raw:
/// no per-character escaping pass over ~55 KB, and no encode when the upstream's text is kept.
/// </summary>
public sealed class Base64ImageConverter : JsonConverter<GeneratedImage>
{
    /// <summary>
    /// Stands for an image in <see cref="SerializeDeferred"/>'s envelope. JSON escapes every control
    /// character inside strings, so this byte can appear nowhere else in the text.
    /// </summary>
    public const byte Mark = 0;

    [ThreadStatic] private static List<GeneratedImage>? t_deferred;

    /// <summary>The answer as JSON with <see cref="Mark"/> inside the quotes of each <c>b64_json</c>, and the images in that order.</summary>
    public static (byte[] Envelope, List<GeneratedImage> Images) SerializeDeferred(ImagesResponse response)
    {
        var images = t_deferred = [];
        try
        {
            return (JsonSerializer.SerializeToUtf8Bytes(response, Http.GatewayJson.Context.ImagesResponse), images);
        }
        finally
        {
            t_deferred = null;
        }
    }

    public override GeneratedImage Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        throw new NotSupportedException("Images are only written.");

    public override void Write(Utf8JsonWriter writer, GeneratedImage value, JsonSerializerOptions options)
    {
        if (t_deferred is { } deferred)
        {
            deferred.Add(value);
            writer.WriteRawValue([(byte)'"', Mark, (byte)'"'], skipInputValidation: true);
        }
        else writer.WriteRawValue(value.QuotedBase64Utf8(), skipInputValidation: true);
    }
}
