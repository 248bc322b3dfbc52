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
/// <param name="Model">The model.</param>
/// <param name="Prompt">The prompt; absent when none was kept.</param>
/// <param name="N">Images asked for.</param>
/// <param name="Size">The size.</param>
/// <param name="Quality">The quality.</param>
/// <param name="ResponseFormat"><c>url</c> or <c>b64_json</c>.</param>
/// <param name="Style">The style, when given.</param>
/// <param name="Seed">The seed, when given.</param>
/// <param name="User">The end-user id, when given.</param>
/// <param name="OutputFormat">The output format, when given.</param>
/// <param name="OutputCompression">The output compression, when given.</param>
/// <param name="Background">The background, when given.</param>
/// <param name="Moderation">The moderation level, when given.</param>
/// <param name="Stream">Whether partial images were streamed.</param>
/// <param name="PartialImages">Partial images asked for, when streamed.</param>
/// <param name="InputFidelity">An edit's input fidelity, when given.</param>
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
/// <param name="Status">The HTTP status answered.</param>
/// <param name="Code">The error code (e.g. <c>insufficient_credits</c>); null without one.</param>
/// <param name="Message">The error message answered.</param>
public sealed record HistoryError(int Status, string? Code, string Message);

/// <summary>A stored image while its URL lives; the URL is signed for the image's original expiry.</summary>
/// <param name="Url">A signed URL of the image.</param>
/// <param name="ExpiresAt">When the URL and the image expire (unix seconds).</param>
public sealed record HistoryImage(string Url, long ExpiresAt);

/// <summary>
/// An entry as the API shows it. <see cref="ImagesState"/>: <c>available</c> (the URLs are in
/// <see cref="Images"/>), <c>expired</c>, <c>not_stored</c> (a b64_json answer: the images were
/// only in the response) or <c>none</c> (no image was made).
/// </summary>
/// <param name="Id">The entry id.</param>
/// <param name="CreatedAt">When the request came (unix seconds).</param>
/// <param name="Operation"><c>generate</c>, <c>edit</c> or <c>variation</c>.</param>
/// <param name="Model">The model asked for.</param>
/// <param name="Prompt">The prompt; null when none was kept.</param>
/// <param name="Size">The size.</param>
/// <param name="Quality">The quality.</param>
/// <param name="N">Images asked for.</param>
/// <param name="Seed">The seed; null without one.</param>
/// <param name="Status"><c>succeeded</c>, <c>failed</c> or <c>refused</c>.</param>
/// <param name="Error">What was answered when it did not succeed; null when it did.</param>
/// <param name="Credits">Credits charged.</param>
/// <param name="Provider">The provider that answered; null when none was asked.</param>
/// <param name="Byok">Whether your own provider key was used.</param>
/// <param name="ImageCount">Images made.</param>
/// <param name="ImagesState"><c>available</c>, <c>expired</c>, <c>not_stored</c> (b64_json) or <c>none</c>.</param>
/// <param name="ImagesExpireAt">When the stored images expire (unix seconds); null when none were stored.</param>
/// <param name="Images">The stored images whose URLs still work.</param>
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

/// <param name="Data">This page of entries, newest first.</param>
/// <param name="NextCursor">Pass as <c>cursor</c> for the next page; null on the last.</param>
/// <param name="HasMore">Whether there is a next page.</param>
public sealed record HistoryPage(IReadOnlyList<HistoryItem> Data, string? NextCursor, bool HasMore);

/// <param name="Deleted">How many entries were deleted.</param>
public sealed record HistoryDeleted(long Deleted);
