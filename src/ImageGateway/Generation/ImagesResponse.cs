using System.Text.Json.Serialization;
using ImageGateway.Billing;

namespace ImageGateway.Generation;

/// <summary>The OpenAI images response plus the brief's <c>_metadata</c> (DESIGN §1.2).</summary>
public sealed record ImagesResponse(
    long Created,
    IReadOnlyList<ImageDatum> Data,
    [property: JsonPropertyName("_metadata")] GenerationMetadata Metadata);

/// <summary><c>b64_json</c> is serialized from the image's own byte array as plain base64 (no data: prefix, no extra copy).</summary>
public sealed record ImageDatum(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Url,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] byte[]? B64Json,
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
