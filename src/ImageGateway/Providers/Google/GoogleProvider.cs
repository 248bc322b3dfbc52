using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ImageGateway.Providers.Google;

/// <summary>
/// Google's Gemini API image models ("Nano Banana"): <c>POST {base}/models/{model}:generateContent</c>
/// with <c>responseModalities: ["TEXT","IMAGE"]</c> and the size as <c>imageConfig.aspectRatio</c>
/// (the quality as <c>imageSize</c>), key in <c>x-goog-api-key</c>. The answer's
/// <c>candidates[0].content.parts</c> hold the image as <c>inlineData</c> and any text the model
/// wrote, which becomes <c>revised_prompt</c>. One image per call (the router fans out n). A blocked
/// prompt (<c>promptFeedback.blockReason</c>) or image (<c>finishReason</c> SAFETY, IMAGE_SAFETY,
/// PROHIBITED_CONTENT, ...) is a content-policy refusal, never retried.
/// </summary>
public sealed class GoogleProvider : IImageProvider
{
    public const string DefaultBaseUrl = "https://generativelanguage.googleapis.com/v1beta";

    /// <summary>The aspect ratios the Gemini image models take.</summary>
    public static readonly string[] AspectRatioNames = ["1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"];

    /// <summary>Finish reasons that mean the safety system withheld the image.</summary>
    private static readonly HashSet<string> Refusals = new(StringComparer.Ordinal)
    {
        "SAFETY", "IMAGE_SAFETY", "PROHIBITED_CONTENT", "IMAGE_PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION", "IMAGE_RECITATION",
    };

    public string Kind => "google";

    public bool IsConfigured(ProviderCredential credential) => credential.ApiKey is not null;

    public int MaxImagesPerCall(string upstreamModel) => 1;

    public string HowToEnable(string providerName) => ProviderCredential.KeySettings(providerName, Kind, "GEMINI_API_KEY");

    public async Task<ProviderResult> GenerateAsync(ImageJob job, ProviderCredential credential, CancellationToken ct)
    {
        var url = $"{credential.BaseUrl ?? DefaultBaseUrl}/models/{Uri.EscapeDataString(job.UpstreamModel)}:generateContent";
        var content = UpstreamClient.JsonBody(RequestBody(job));
        var sent = await credential.Http.SendAsync(() => Request(HttpMethod.Post, url, credential, content()), ct);
        return await UpstreamText.ReadJsonAnswerAsync(sent, Kind, MapError, (root, body) => Task.FromResult(ReadImage(root, body)));
    }

    /// <summary>Lists models: Google answers 400 API_KEY_INVALID (not 401) for a key it does not know.</summary>
    public Task<KeyCheck> CheckKeyAsync(ProviderCredential credential, CancellationToken ct) =>
        KeyCheck.ByRequestAsync(credential, () => Request(HttpMethod.Get, $"{credential.BaseUrl ?? DefaultBaseUrl}/models?pageSize=1", credential, null),
            Kind, ct, response =>
            {
                using var json = UpstreamText.TryParseJson(response);
                return BlamesKey(json);
            });

    internal static JsonObject RequestBody(ImageJob job)
    {
        var imageConfig = new JsonObject { ["aspectRatio"] = AspectRatios.Nearest(job.Width, job.Height, AspectRatioNames) };
        if (ImageSize(job.Quality) is { } size) imageConfig["imageSize"] = size;
        return new JsonObject
        {
            ["contents"] = new JsonArray(new JsonObject
            {
                ["role"] = "user",
                ["parts"] = new JsonArray(new JsonObject { ["text"] = job.Prompt }),
            }),
            ["generationConfig"] = new JsonObject
            {
                ["responseModalities"] = new JsonArray("TEXT", "IMAGE"),
                ["imageConfig"] = imageConfig,
            },
        };
    }

    /// <summary>The catalog's qualities as Gemini's <c>imageSize</c>: standard is the model's default (1K).</summary>
    internal static string? ImageSize(string quality) => quality.ToLowerInvariant() switch
    {
        "hd" or "2k" => "2K",
        "4k" => "4K",
        _ => null,
    };

    private static HttpRequestMessage Request(HttpMethod method, string url, ProviderCredential credential, HttpContent? content)
    {
        var request = new HttpRequestMessage(method, url) { Content = content };
        request.Headers.TryAddWithoutValidation("x-goog-api-key", credential.ApiKey);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return request;
    }

    private static ProviderResult ReadImage(JsonElement root, ReadOnlyMemory<byte> body)
    {
        if (root.ValueKind != JsonValueKind.Object) return ProviderResult.Failed(UpstreamText.NotImages("google", "JSON that is not an object"));
        if (root.TryGetProperty("promptFeedback", out var feedback) && feedback.ValueKind == JsonValueKind.Object
            && Text(feedback, "blockReason") is { } blocked)
            return ProviderResult.Failed(ContentPolicy(200, blocked));
        if (!root.TryGetProperty("candidates", out var candidates) || candidates.ValueKind != JsonValueKind.Array || candidates.GetArrayLength() == 0)
            return ProviderResult.Failed(UpstreamText.NotImages("google", "an answer without candidates"));
        var candidate = candidates[0];
        var finish = candidate.ValueKind == JsonValueKind.Object ? Text(candidate, "finishReason") : null;
        if (finish is not null && Refusals.Contains(finish)) return ProviderResult.Failed(ContentPolicy(200, finish));

        // Gemini 3 may send drafts marked "thought" before the answer: the last image that is not one, else the last image.
        JsonElement? inline = null, draft = null;
        var text = new List<string>();
        if (candidate.ValueKind == JsonValueKind.Object && candidate.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Object
            && content.TryGetProperty("parts", out var parts) && parts.ValueKind == JsonValueKind.Array)
            foreach (var part in parts.EnumerateArray())
            {
                if (part.ValueKind != JsonValueKind.Object) continue;
                var isDraft = part.TryGetProperty("thought", out var thought) && thought.ValueKind == JsonValueKind.True;
                if (Text(part, "text") is { Length: > 0 } words) { if (!isDraft) text.Add(words.Trim()); }
                else if ((part.TryGetProperty("inlineData", out var data) || part.TryGetProperty("inline_data", out data))
                         && data.ValueKind == JsonValueKind.Object && data.TryGetProperty("data", out var b64))
                {
                    if (isDraft) draft = b64;
                    else inline = b64;
                }
            }
        inline ??= draft;
        if (inline is null)
            return ProviderResult.Failed(UpstreamText.NotImages("google", finish is null or "STOP"
                ? "no image part" : $"no image (finishReason {UpstreamText.Sanitize(finish)})"));
        var image = UpstreamText.DecodeImage(inline.Value, text.Count == 0 ? null : string.Join("\n", text), body);
        return image is null
            ? ProviderResult.Failed(UpstreamText.NotImages("google", "inline data that is not a valid base64 image"))
            : ProviderResult.Success([image]);
    }

    private static string? Text(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static ProviderFailure ContentPolicy(int status, string reason) => new(FailureKind.ContentPolicy,
        $"Your request was rejected by the upstream provider's safety filters ({UpstreamText.Sanitize(reason)}). You were not charged.", status);

    /// <summary>Google's error body: <c>{"error": {"code", "message", "status", "details": [{"reason": "API_KEY_INVALID"}]}}</c>.</summary>
    private static bool BlamesKey(JsonDocument? json) =>
        json?.RootElement is { ValueKind: JsonValueKind.Object } root && root.TryGetProperty("error", out var error)
        && error.ValueKind == JsonValueKind.Object && error.TryGetProperty("details", out var details) && details.ValueKind == JsonValueKind.Array
        && details.EnumerateArray().Any(d => d.ValueKind == JsonValueKind.Object && Text(d, "reason") is "API_KEY_INVALID" or "API_KEY_EXPIRED");

    private static ProviderFailure MapError(HttpResponseMessage response, JsonDocument? json)
    {
        var status = (int)response.StatusCode;
        string? message = null, code = null;
        if (json?.RootElement is { ValueKind: JsonValueKind.Object } root && root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
        {
            message = Text(error, "message");
            code = Text(error, "status");
        }
        if (status == 400 && BlamesKey(json))
            return new ProviderFailure(FailureKind.Unauthorized, "The google provider rejected the API key (HTTP 400 API_KEY_INVALID).", status);
        if (status == 400 && code == "FAILED_PRECONDITION")
            return new ProviderFailure(FailureKind.Unauthorized, $"The google account cannot use this model: {UpstreamText.Sanitize(message)}", status);
        return UpstreamText.FromStatus("google", response.StatusCode, message, response.Headers.RetryAfter?.Delta);
    }
}
