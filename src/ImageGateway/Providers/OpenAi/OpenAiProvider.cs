using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ImageGateway.Providers.OpenAi;

/// <summary>
/// OpenAI's Images API, <c>POST {base}/images/generations</c>; also any OpenAI-compatible server
/// (LocalAI, Together, ...) through another base URL. Always asks for <c>b64_json</c> so the
/// gateway holds the bytes itself (except for gpt-image models, which reject the field and always
/// answer base64).
/// </summary>
public sealed class OpenAiProvider : IImageProvider
{
    public const string DefaultBaseUrl = "https://api.openai.com/v1";

    public string Kind => "openai";

    public bool IsConfigured(ProviderCredential credential) => credential.ApiKey is not null;

    public int MaxImagesPerCall(string upstreamModel) => upstreamModel.StartsWith("dall-e-3", StringComparison.OrdinalIgnoreCase) ? 1 : 10;

    public string HowToEnable(string providerName) => ProviderCredential.KeySettings(providerName, Kind, "OPENAI_API_KEY");

    public async Task<ProviderResult> GenerateAsync(ImageJob job, ProviderCredential credential, CancellationToken ct)
    {
        var url = $"{credential.BaseUrl ?? DefaultBaseUrl}/images/generations";
        var sent = await credential.Http.PostJsonAsync(url, RequestBody(job), credential.Bearer, ct, IsOutOfQuotaAsync);
        return await UpstreamText.ReadJsonAnswerAsync(sent, Kind, MapError, (root, body) => ReadImagesAsync(root, body, credential, ct));
    }

    public Task<KeyCheck> CheckKeyAsync(ProviderCredential credential, CancellationToken ct) =>
        KeyCheck.ByGetAsync(credential, $"{credential.BaseUrl ?? DefaultBaseUrl}/models", "openai", ct);

    /// <summary>429 <c>insufficient_quota</c> means the account is empty: final for this provider, so not retried.</summary>
    private static async ValueTask<bool> IsOutOfQuotaAsync(HttpResponseMessage response)
    {
        if (response.StatusCode != HttpStatusCode.TooManyRequests) return false;
        // The body is buffered; read it as a string so the adapter can still read it afterwards.
        var text = await response.Content.ReadAsStringAsync();
        try
        {
            using var json = JsonDocument.Parse(text);
            return json.RootElement is { ValueKind: JsonValueKind.Object } root && root.TryGetProperty("error", out var error)
                && error.ValueKind == JsonValueKind.Object && error.TryGetProperty("code", out var code)
                && code.ValueKind == JsonValueKind.String && code.GetString() == "insufficient_quota";
        }
        catch (JsonException) { return false; }
    }

    internal static JsonObject RequestBody(ImageJob job)
    {
        var isGptImage = job.UpstreamModel.StartsWith("gpt-image", StringComparison.OrdinalIgnoreCase);
        var isDallE3 = job.UpstreamModel.StartsWith("dall-e-3", StringComparison.OrdinalIgnoreCase);
        var body = new JsonObject
        {
            ["model"] = job.UpstreamModel,
            ["prompt"] = job.Prompt,
            ["n"] = job.N,
            ["size"] = job.Size,
        };
        if (isGptImage || isDallE3) body["quality"] = job.Quality;
        if (isDallE3 && job.Style is not null) body["style"] = job.Style;
        if (!isGptImage) body["response_format"] = "b64_json";
        if (job.User is not null) body["user"] = job.User;
        return body;
    }

    private static async Task<ProviderResult> ReadImagesAsync(JsonElement root, ReadOnlyMemory<byte> body, ProviderCredential credential, CancellationToken ct)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
            return ProviderResult.Failed(UpstreamText.NotImages("openai", "JSON without a data array"));
        var images = new List<GeneratedImage>();
        foreach (var item in data.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object) continue;
            var revised = item.TryGetProperty("revised_prompt", out var rp) && rp.ValueKind == JsonValueKind.String ? rp.GetString() : null;
            if (item.TryGetProperty("b64_json", out var b64))
            {
                var image = UpstreamText.DecodeImage(b64, revised, body);
                if (image is null) return ProviderResult.Failed(UpstreamText.NotImages("openai", "data that is not a valid base64 image"));
                images.Add(image);
            }
            else if (item.TryGetProperty("url", out var u) && u.ValueKind == JsonValueKind.String
                     && Uri.TryCreate(u.GetString(), UriKind.Absolute, out var imageUrl) && imageUrl.Scheme is "https" or "http")
            {
                // Some OpenAI-compatible servers ignore response_format and answer URLs.
                var (image, failure) = await credential.Http.DownloadImageAsync(imageUrl, revised, ct);
                if (failure is not null) return ProviderResult.Failed(failure);
                images.Add(image!);
            }
        }
        return images.Count == 0
            ? ProviderResult.Failed(UpstreamText.NotImages("openai", "an empty data array"))
            : ProviderResult.Success(images);
    }

    private static ProviderFailure MapError(HttpResponseMessage response, JsonDocument? json)
    {
        string? message = null, code = null;
        if (json?.RootElement is { ValueKind: JsonValueKind.Object } root && root.TryGetProperty("error", out var error)
            && error.ValueKind == JsonValueKind.Object)
        {
            message = error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            code = error.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
        }
        var status = (int)response.StatusCode;
        if (code == "content_policy_violation" || (status == 400 && message?.Contains("safety system", StringComparison.OrdinalIgnoreCase) == true))
            return new ProviderFailure(FailureKind.ContentPolicy,
                "Your request was rejected by the upstream provider's safety system. You were not charged.", status);
        if (response.StatusCode == HttpStatusCode.TooManyRequests && code == "insufficient_quota")
            return new ProviderFailure(FailureKind.Unauthorized, "The openai account has no quota left (HTTP 429 insufficient_quota).", status);
        return UpstreamText.FromStatus("openai", response.StatusCode, message, response.Headers.RetryAfter?.Delta);
    }
}
