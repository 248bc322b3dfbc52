using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ImageGateway.Providers.OpenRouter;

/// <summary>
/// OpenRouter's chat completions with image output, <c>POST {base}/chat/completions</c> and
/// <c>modalities: ["image", "text"]</c>. The images come back as <c>data:</c> URLs in
/// <c>choices[0].message.images[].image_url.url</c>. One image per call: the router fans n out.
/// Errors are <c>{"error": {"code": &lt;integer&gt;, "message", "metadata"?}}</c>; the metadata
/// (which can hold the provider's raw answer) is never passed on.
/// </summary>
public sealed class OpenRouterProvider : IImageProvider
{
    public const string DefaultBaseUrl = "https://openrouter.ai/api/v1";

    private const string Name = "openrouter";

    /// <summary>The aspect ratios <c>image_config.aspect_ratio</c> takes.</summary>
    private static readonly (string Name, double Ratio)[] AspectRatios =
    [
        ("1:1", 1.0), ("2:3", 2.0 / 3), ("3:2", 3.0 / 2), ("3:4", 3.0 / 4), ("4:3", 4.0 / 3),
        ("4:5", 4.0 / 5), ("5:4", 5.0 / 4), ("9:16", 9.0 / 16), ("16:9", 16.0 / 9), ("21:9", 21.0 / 9),
    ];

    public string Kind => Name;

    public bool IsConfigured(ProviderCredential credential) => credential.ApiKey is not null;

    public int MaxImagesPerCall(string upstreamModel) => 1;

    public string HowToEnable(string providerName) => ProviderCredential.KeySettings(providerName, Kind, "OPENROUTER_API_KEY");

    public async Task<ProviderResult> GenerateAsync(ImageJob job, ProviderCredential credential, CancellationToken ct)
    {
        if (Unhonoured(job) is { } field)
            return ProviderResult.Failed(new ProviderFailure(FailureKind.Rejected,
                $"The {Name} provider cannot honour '{field}' (its chat API has no such setting); leave it out or use a route through openai."));
        var url = $"{credential.BaseUrl ?? DefaultBaseUrl}/chat/completions";
        var sent = await credential.Http.PostJsonAsync(url, RequestBody(job), credential.Bearer, ct);
        return await UpstreamText.ReadJsonAnswerAsync(sent, Name,
            (response, json) => MapError(response.StatusCode, json, response.Headers.RetryAfter?.Delta),
            (root, _) => ReadImagesAsync(root, credential, ct));
    }

    /// <summary>A GPT-image field the chat API would silently drop; refused rather than lost (png and an opaque, default-moderated image are what it makes anyway).</summary>
    private static string? Unhonoured(ImageJob job) =>
        job.OutputFormat is not (null or "png") ? "output_format"
        : job.OutputCompression is not null ? "output_compression"
        : job.Transparent ? "background"
        : job.Moderation == "low" ? "moderation"
        : null;

    /// <summary><c>GET {base}/key</c>: 200 with the key's limits and usage, or 401.</summary>
    public Task<KeyCheck> CheckKeyAsync(ProviderCredential credential, CancellationToken ct) =>
        KeyCheck.ByGetAsync(credential, $"{credential.BaseUrl ?? DefaultBaseUrl}/key", Name, ct);

    internal static JsonObject RequestBody(ImageJob job) => new()
    {
        ["model"] = job.UpstreamModel,
        ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = job.Prompt }),
        ["modalities"] = new JsonArray("image", "text"),
        ["image_config"] = new JsonObject { ["aspect_ratio"] = AspectRatio(job.Width, job.Height) },
    };

    /// <summary>The supported aspect ratio closest to width:height (1792x1024 → 16:9, 1536x1024 → 3:2).</summary>
    internal static string AspectRatio(int width, int height)
    {
        if (width <= 0 || height <= 0) return "1:1";
        var wanted = Math.Log((double)width / height);
        return AspectRatios.MinBy(a => Math.Abs(Math.Log(a.Ratio) - wanted)).Name;
    }

    /// <summary>OpenRouter's <c>usage.cost</c>: what the call cost in its credits, which are US dollars.</summary>
    private static decimal? ReportedCost(JsonElement root) =>
        root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object && usage.TryGetProperty("cost", out var cost)
        && cost.ValueKind == JsonValueKind.Number && cost.TryGetDecimal(out var usd) && usd >= 0 ? usd : null;

    private static async Task<ProviderResult> ReadImagesAsync(JsonElement root, ProviderCredential credential, CancellationToken ct)
    {
        if (root.ValueKind != JsonValueKind.Object)
            return ProviderResult.Failed(UpstreamText.NotImages(Name, "JSON that is not an object"));
        // OpenRouter may report a failure that happened after it accepted the request as a 200 with an error object.
        if (root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
        {
            var status = error.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.Number
                && c.TryGetInt32(out var code) && code is >= 400 and <= 599
                ? (HttpStatusCode)code
                : HttpStatusCode.BadGateway;
            return ProviderResult.Failed(MapError(status, root, null));
        }
        if (!root.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0
            || choices[0] is not { ValueKind: JsonValueKind.Object } choice)
            return ProviderResult.Failed(UpstreamText.NotImages(Name, "JSON without choices"));

        var images = new List<GeneratedImage>();
        if (choice.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.Object
            && message.TryGetProperty("images", out var items) && items.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in items.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("image_url", out var imageUrl)
                    || imageUrl.ValueKind != JsonValueKind.Object || !imageUrl.TryGetProperty("url", out var u) || u.ValueKind != JsonValueKind.String)
                    continue;
                var text = u.GetString()!;
                if (text.StartsWith("data:", StringComparison.Ordinal))
                {
                    var image = UpstreamText.DecodeImage(u, revisedPrompt: null);
                    if (image is null) return ProviderResult.Failed(UpstreamText.NotImages(Name, "a data URL that is not a valid base64 image"));
                    images.Add(image);
                }
                else if (Uri.TryCreate(text, UriKind.Absolute, out var link) && link.Scheme is "https" or "http")
                {
                    // Some upstream models answer a link instead of inline bytes.
                    var (image, failure) = await credential.Http.DownloadImageAsync(link, revisedPrompt: null, ct);
                    if (failure is not null) return ProviderResult.Failed(failure);
                    images.Add(image!);
                }
            }
        }
        if (images.Count > 0) return ProviderResult.Success(images) with { UpstreamCostUsd = ReportedCost(root) };

        var finish = choice.TryGetProperty("finish_reason", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null;
        if (string.Equals(finish, "content_filter", StringComparison.OrdinalIgnoreCase))
            return ProviderResult.Failed(new ProviderFailure(FailureKind.ContentPolicy,
                "Your request was rejected by the upstream provider's content filter. You were not charged.", 200));
        return ProviderResult.Failed(UpstreamText.NotImages(Name, "a chat message without images"));
    }

    private static ProviderFailure MapError(HttpStatusCode status, JsonDocument? json, TimeSpan? retryAfter) =>
        MapError(status, json?.RootElement, retryAfter);

    /// <summary>Only <c>error.message</c> is used (sanitized by <see cref="UpstreamText.FromStatus"/>); never the metadata.</summary>
    private static ProviderFailure MapError(HttpStatusCode status, JsonElement? root, TimeSpan? retryAfter)
    {
        string? message = null;
        if (root is { ValueKind: JsonValueKind.Object } r && r.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
            message = error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
        var code = (int)status;
        // OpenRouter's 403 means the input was flagged by moderation: final, never tried elsewhere.
        if (code == 403)
            return new ProviderFailure(FailureKind.ContentPolicy,
                "Your request was rejected by the upstream provider's moderation. You were not charged.", code);
        return UpstreamText.FromStatus(Name, status, message, retryAfter);
    }
}
