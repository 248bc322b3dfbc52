using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using ImageGateway.Http;
using ImageGateway.Providers;

namespace ImageGateway.Generation;

/// <summary>One server-sent event of a streamed answer, as OpenAI's <c>ImageGenStreamEvent</c> / <c>ImageEditStreamEvent</c>.</summary>
public sealed record ImageStreamEvent(
    string Type,
    [property: JsonConverter(typeof(Base64ImageConverter))] GeneratedImage B64Json,
    long CreatedAt,
    string Size,
    string Quality,
    string Background,
    string OutputFormat)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? PartialImageIndex { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public ImagesUsage? Usage { get; init; }
    /// <summary>Our extension with <c>response_format: "url"</c>: the stored image's signed URL, beside its base64.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Url { get; init; }
    [JsonPropertyName("_metadata"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public GenerationMetadata? Metadata { get; init; }
}

/// <summary>
/// Writes a streamed answer: <c>event: {type}</c> and <c>data: {json}</c> per event, as OpenAI does.
/// The response starts with the first event, so a failure before any is still an ordinary JSON
/// error with its status; after that, a failure is an <c>error</c> event in OpenAI's shape.
/// </summary>
public sealed class ImageStream(HttpResponse response, string prefix)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    /// <summary>Whether the first byte has gone out (the status is then 200 for good).</summary>
    public bool Started { get; private set; }

    /// <summary><c>image_generation</c> or <c>image_edit</c>.</summary>
    public string Prefix => prefix;

    /// <summary>Events exactly as the stream writes them, for an Idempotency-Key replay (which has no partial images).</summary>
    public static string Text(IEnumerable<ImageStreamEvent> events)
    {
        var text = new StringBuilder();
        foreach (var e in events)
            text.Append($"event: {e.Type}\ndata: ").Append(JsonSerializer.Serialize(e, GatewayJson.Context.ImageStreamEvent)).Append("\n\n");
        return text.ToString();
    }

    public Task WriteAsync(ImageStreamEvent e, CancellationToken ct) =>
        WriteRawAsync(e.Type, JsonSerializer.SerializeToUtf8Bytes(e, GatewayJson.Context.ImageStreamEvent), ct);

    public Task WriteErrorAsync(ApiError error) =>
        WriteRawAsync("error", JsonSerializer.SerializeToUtf8Bytes(new StreamError("error", error.ToBody().Error), GatewayJson.Context.StreamError),
            CancellationToken.None);

    private async Task WriteRawAsync(string type, byte[] json, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            if (!Started)
            {
                Started = true;
                response.StatusCode = StatusCodes.Status200OK;
                response.ContentType = "text/event-stream";
                response.Headers.CacheControl = "no-cache";
                response.Headers["X-Accel-Buffering"] = "no"; // nginx and friends: do not hold the events back
            }
            var head = Encoding.UTF8.GetBytes($"event: {type}\ndata: ");
            await response.Body.WriteAsync(head, ct);
            await response.Body.WriteAsync(json, ct);
            await response.Body.WriteAsync("\n\n"u8.ToArray(), ct);
            await response.Body.FlushAsync(ct);
        }
        finally
        {
            _gate.Release();
        }
    }
}

/// <summary>OpenAI's stream error: <c>{"type":"error","error":{message,type,param,code}}</c>.</summary>
public sealed record StreamError(string Type, ErrorDetail Error);

/// <summary>The events of a streamed answer, made from what the pipeline has (DESIGN §12.3 for the facts, ImagesUsage for usage).</summary>
public static class StreamEvents
{
    public static ImageStreamEvent Partial(string prefix, GenerationSpec spec, PartialImage partial, TimeProvider time) =>
        new($"{prefix}.partial_image", partial.Image, time.GetUtcNow().ToUnixTimeSeconds(),
            partial.Produced.Size ?? spec.Size, partial.Produced.Quality ?? AskedQuality(spec),
            partial.Produced.Background ?? spec.Background ?? "auto", partial.Produced.OutputFormat ?? partial.Image.Extension)
        {
            PartialImageIndex = partial.Index,
        };

    /// <summary>
    /// One completed event per image, each with the request's usage and <c>_metadata</c>. A model
    /// that reports no tokens (builtin-preview, priced per image) gives zero usage: the spec
    /// requires the field.
    /// </summary>
    public static IEnumerable<ImageStreamEvent> Completed(string prefix, GenerationSpec spec, ProviderResult result, ImagesResponse body)
    {
        var usage = body.Usage ?? (result.Usage is { } tokens ? ImagesUsage.From(tokens) : ImagesUsage.From(new TokenUsage(0, 0, 0)));
        for (var i = 0; i < result.Images.Count; i++)
            yield return new ImageStreamEvent($"{prefix}.completed", result.Images[i], body.Created,
                body.Size ?? result.Produced.Size ?? spec.Size, body.Quality ?? result.Produced.Quality ?? AskedQuality(spec),
                body.Background ?? result.Produced.Background ?? spec.Background ?? "auto", body.OutputFormat ?? result.Images[i].Extension)
            {
                Usage = usage,
                Url = body.Data[i].Url,
                Metadata = body.Metadata,
            };
    }

    /// <summary>The quality in the events' terms (low/medium/high/auto); a model's own names (standard, hd) are reported as auto.</summary>
    private static string AskedQuality(GenerationSpec spec) =>
        spec.UpstreamQuality is "low" or "medium" or "high" ? spec.UpstreamQuality : "auto";
}
