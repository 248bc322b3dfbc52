using System.Text.Json.Serialization;
using ImageGateway.Billing;

namespace ImageGateway.History;

public static class HistoryStatus
{
    public const string Succeeded = "succeeded";
    /// <summary>A provider was asked and the request did not complete (upstream error, storage, an expired hold): nothing charged.</summary>
    public const string Failed = "failed";
    /// <summary>Refused before any provider was asked (credits, monthly cap, no provider, a BYOK key that cannot be used).</summary>
    public const string Refused = "refused";

    public static bool IsKnown(string status) => status is Succeeded or Failed or Refused;
}

/// <summary>One request as its history keeps it, written where its outcome is known.</summary>
/// <param name="ImageFiles">The stored images' file names (url mode); null when none were stored (b64_json answers, failures).</param>
public sealed record HistoryEntry(
    string AccountId,
    string KeyId,
    string Operation,
    HistoryRequest Request,
    string Status,
    int HttpStatus,
    string? ErrorCode,
    string? ErrorMessage,
    Millicredits Cost,
    string? Provider,
    bool Byok,
    int Images,
    IReadOnlyList<string>? ImageFiles);

/// <summary>
/// The parameters of the request as the gateway read them (defaults filled in), in the names of the
/// generate body: posted back to the same endpoint, they ask for the same thing again. An edit's
/// and a variation's input images are not kept.
/// </summary>
public sealed record HistoryRequest(
    string Model,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Prompt,
    int N,
    string Size,
    string Quality,
    string ResponseFormat,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Style = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? Seed = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? User = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? OutputFormat = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? OutputCompression = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Background = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Moderation = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? Stream = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? PartialImages = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? InputFidelity = null);

/// <summary>An entry's error: the HTTP status, code and message the caller was answered with.</summary>
public sealed record HistoryError(int Status, string? Code, string Message);

/// <summary>A stored image while its URL lives; the URL is signed for the image's original expiry.</summary>
public sealed record HistoryImage(string Url, long ExpiresAt);

/// <summary>
/// An entry as the API shows it. <see cref="ImagesState"/>: <c>available</c> (the URLs are in
/// <see cref="Images"/>), <c>expired</c>, <c>not_stored</c> (a b64_json answer: the images were
/// only in the response) or <c>none</c> (no image was made).
/// </summary>
public sealed record HistoryItem(
    string Id,
    long CreatedAt,
    string Operation,
    string Model,
    string? Prompt,
    string Size,
    string Quality,
    int N,
    long? Seed,
    string Status,
    HistoryError? Error,
    Millicredits Credits,
    string? Provider,
    bool Byok,
    int ImageCount,
    string ImagesState,
    long? ImagesExpireAt,
    IReadOnlyList<HistoryImage> Images)
{
    /// <summary>Only on the detail read: the exact parameters to re-run it (no prompt when none was kept).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public HistoryRequest? Request { get; init; }
}

public sealed record HistoryPage(IReadOnlyList<HistoryItem> Data, string? NextCursor, bool HasMore);

public sealed record HistoryDeleted(long Deleted);
