using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ImageGateway.Providers.Automatic1111;

/// <summary>
/// The AUTOMATIC1111 / Forge web UI API, <c>POST {base}/sdapi/v1/txt2img</c>, for operators with
/// their own GPU box. No key is needed; an ApiKey of the form <c>user:password</c> is sent as HTTP
/// Basic credentials (the web UI's <c>--api-auth</c>). Answers plain base64 images.
/// Errors are <c>{"error", "detail", "body", "errors"}</c>; only <c>detail</c> (or <c>error</c>) is
/// passed on, sanitized, since <c>body</c> and <c>errors</c> echo the request and internals.
/// </summary>
public sealed class Automatic1111Provider : IImageProvider
{
    private const string Name = "automatic1111";

    public string Kind => Name;

    /// <summary>No key is needed, only where the web UI runs (an empty setting counts as unset).</summary>
    public bool IsConfigured(ProviderCredential credential) => !string.IsNullOrWhiteSpace(credential.BaseUrl);

    public int MaxImagesPerCall(string upstreamModel) => 10;

    public string HowToEnable(string providerName) => $"Gateway__Providers__{providerName}__BaseUrl";

    public async Task<ProviderResult> GenerateAsync(ImageJob job, ProviderCredential credential, CancellationToken ct)
    {
        var url = $"{credential.BaseUrl}/sdapi/v1/txt2img";
        var sent = await credential.Http.PostJsonAsync(url, RequestBody(job), Authorization(credential.ApiKey), ct);
        return await UpstreamText.ReadJsonAnswerAsync(sent, Name, MapError, (root, _) => Task.FromResult(ReadImages(root, job.N)));
    }

    internal static JsonObject RequestBody(ImageJob job) => new()
    {
        ["prompt"] = job.Prompt,
        ["negative_prompt"] = "",
        ["width"] = job.Width,
        ["height"] = job.Height,
        ["steps"] = 20,
        ["batch_size"] = job.N,
        ["seed"] = job.Seed ?? -1,
        ["cfg_scale"] = 7,
    };

    /// <summary><c>user:password</c> → Basic; any other key → Bearer (for a reverse proxy in front of the web UI).</summary>
    private static AuthenticationHeaderValue? Authorization(string? apiKey)
    {
        if (string.IsNullOrEmpty(apiKey)) return null;
        return apiKey.Contains(':')
            ? new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(apiKey)))
            : new AuthenticationHeaderValue("Bearer", apiKey);
    }

    private static ProviderResult ReadImages(JsonElement root, int wanted)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("images", out var items) || items.ValueKind != JsonValueKind.Array)
            return ProviderResult.Failed(UpstreamText.NotImages(Name, "JSON without an images array"));
        // With a grid enabled the web UI puts it first; info.index_of_first_image says where the samples start.
        var skip = Math.Clamp(FirstImageIndex(root), 0, items.GetArrayLength());
        var images = new List<GeneratedImage>();
        foreach (var item in items.EnumerateArray().Skip(skip))
        {
            if (images.Count == wanted) break; // extensions (ControlNet, ...) append their own maps after the samples
            var image = UpstreamText.DecodeImage(item, revisedPrompt: null);
            if (image is null) return ProviderResult.Failed(UpstreamText.NotImages(Name, "data that is not a valid base64 image"));
            images.Add(image);
        }
        return images.Count == 0
            ? ProviderResult.Failed(UpstreamText.NotImages(Name, "an empty images array"))
            : ProviderResult.Success(images);
    }

    /// <summary><c>info</c> is a JSON document inside a string.</summary>
    private static int FirstImageIndex(JsonElement root)
    {
        if (!root.TryGetProperty("info", out var info) || info.ValueKind != JsonValueKind.String) return 0;
        try
        {
            using var doc = JsonDocument.Parse(info.GetString()!);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("index_of_first_image", out var index)
                   && index.ValueKind == JsonValueKind.Number && index.TryGetInt32(out var value)
                ? value
                : 0;
        }
        catch (JsonException)
        {
            return 0;
        }
    }

    private static ProviderFailure MapError(HttpResponseMessage response, JsonDocument? json)
    {
        string? message = null;
        if (json?.RootElement is { ValueKind: JsonValueKind.Object } root)
            message = DetailText(root) ?? (root.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null);
        return UpstreamText.FromStatus(Name, response.StatusCode, message, response.Headers.RetryAfter?.Delta);
    }

    /// <summary><c>detail</c> is a string, or FastAPI's validation list <c>[{loc, msg, type}]</c>: keep the messages only.</summary>
    private static string? DetailText(JsonElement root)
    {
        if (!root.TryGetProperty("detail", out var detail)) return null;
        if (detail.ValueKind == JsonValueKind.String) return string.IsNullOrWhiteSpace(detail.GetString()) ? null : detail.GetString();
        if (detail.ValueKind != JsonValueKind.Array) return null;
        var messages = detail.EnumerateArray()
            .Where(d => d.ValueKind == JsonValueKind.Object && d.TryGetProperty("msg", out var m) && m.ValueKind == JsonValueKind.String)
            .Select(d =>
            {
                var field = d.TryGetProperty("loc", out var loc) && loc.ValueKind == JsonValueKind.Array
                    ? string.Join('.', loc.EnumerateArray().Where(l => l.ValueKind is JsonValueKind.String or JsonValueKind.Number)
                        .Select(l => l.ToString()).Where(l => l != "body"))
                    : "";
                var msg = d.GetProperty("msg").GetString();
                return field.Length > 0 ? $"{field}: {msg}" : msg;
            })
            .ToArray();
        return messages.Length == 0 ? null : string.Join("; ", messages);
    }
}
