using System.Text.Json;
using System.Text.Json.Serialization;
using ImageGateway.Billing;
using ImageGateway.Providers;

namespace ImageGateway.Generation;

/// <summary>The OpenAI images response plus the brief's <c>_metadata</c> (DESIGN §1.2).</summary>
public sealed record ImagesResponse(
    long Created,
    IReadOnlyList<ImageDatum> Data,
    [property: JsonPropertyName("_metadata")] GenerationMetadata Metadata);

/// <summary><c>b64_json</c> is written from the image's base64 as is (plain base64, no data: prefix).</summary>
public sealed record ImageDatum(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Url,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull), JsonConverter(typeof(Base64ImageConverter))] GeneratedImage? B64Json,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? RevisedPrompt);

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
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? ByokFallback = null);

public sealed record EstimateResponse(
    string Model,
    int N,
    string Size,
    string Quality,
    string Tier,
    decimal Multiplier,
    Millicredits UnitCost,
    Millicredits EstimatedCost,
    Millicredits CreditsRemaining,
    Millicredits Reserved,
    Millicredits Available,
    bool Sufficient,
    bool ProviderAvailable);

/// <summary>
/// Writes an image as its base64 string. Base64 needs no JSON escaping, so the text goes out raw:
/// no per-character escaping pass over ~55 KB, and no encode when the upstream's text is kept.
/// </summary>
public sealed class Base64ImageConverter : JsonConverter<GeneratedImage>
{
    public override GeneratedImage Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        throw new NotSupportedException("Images are only written.");

    public override void Write(Utf8JsonWriter writer, GeneratedImage value, JsonSerializerOptions options) =>
        writer.WriteRawValue(value.QuotedBase64Utf8(), skipInputValidation: true);
}
