using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ImageGateway.Providers.OpenAi;

/// <summary>
/// OpenAI's Images API, <c>POST {base}/images/generations</c> (JSON) and, for GPT-image edits,
/// <c>{base}/images/edits</c> (multipart, <see cref="OpenAiEdits"/>); also any OpenAI-compatible
/// server (LocalAI, Together, ...) through another base URL. Always asks for <c>b64_json</c> so the
/// gateway holds the bytes itself (except for gpt-image models, which reject the field and always
/// answer base64). A job with <see cref="ImageJob.OnPartial"/> on a GPT-image model is streamed
/// (<see cref="OpenAiStream"/>).
/// </summary>
public sealed class OpenAiProvider : IImageProvider
{
    public const string DefaultBaseUrl = "https://api.openai.com/v1";

    public string Kind => "openai";

    public bool IsConfigured(ProviderCredential credential) => credential.ApiKey is not null;

    public int MaxImagesPerCall(string upstreamModel) => upstreamModel.StartsWith("dall-e-3", StringComparison.OrdinalIgnoreCase) ? 1 : 10;

    public string HowToEnable(string providerName) => ProviderCredential.KeySettings(providerName, Kind, "OPENAI_API_KEY");

    /// <summary>Edits and streams are GPT-image features (dall-e-2's edits and variations went with it).</summary>
    public bool CanEdit(string upstreamModel) => IsGptImage(upstreamModel);

    public bool CanVary(string upstreamModel) => false;

    public bool CanStream(string upstreamModel) => IsGptImage(upstreamModel);

    private static bool IsGptImage(string upstreamModel) => upstreamModel.StartsWith("gpt-image", StringComparison.OrdinalIgnoreCase);

    public async Task<ProviderResult> GenerateAsync(ImageJob job, ProviderCredential credential, CancellationToken ct)
    {
        var stream = job.OnPartial is not null && CanStream(job.UpstreamModel);
        var url = $"{credential.BaseUrl ?? DefaultBaseUrl}/images/{(job.IsEdit ? "edits" : "generations")}";
        var content = job.IsEdit ? UpstreamClient.FormBody(OpenAiEdits.Form(job, stream)) : UpstreamClient.JsonBody(RequestBody(job, stream));
        if (!stream)
        {
            var sent = await credential.Http.PostAsync(url, content, credential.Bearer, ct, IsOutOfQuotaAsync);
            return await ReadAnswerAsync(sent, credential, ct);
        }
        var (response, streamed, failure) = await credential.Http.PostStreamingAsync(url, content, credential.Bearer,
            (body, token) => OpenAiStream.ReadAsync(body, job, token), ct, IsOutOfQuotaAsync);
        // An error, or a server that answered JSON after all, is read as any answer.
        return streamed ?? await ReadAnswerAsync((response, failure), credential, ct);
    }

    private Task<ProviderResult> ReadAnswerAsync((HttpResponseMessage? Response, ProviderFailure? Failure) sent, ProviderCredential credential, CancellationToken ct) =>
        ReadAnswerAsync(sent, credential, Kind, ct);

    /// <summary>An Images API answer (OpenAI's, or Azure OpenAI's, which has the same shape), read for <paramref name="provider"/>.</summary>
    internal static Task<ProviderResult> ReadAnswerAsync((HttpResponseMessage? Response, ProviderFailure? Failure) sent, ProviderCredential credential,
        string provider, CancellationToken ct) =>
        UpstreamText.ReadJsonAnswerAsync(sent, provider, (response, json) => MapError(response, json, provider),
            (root, body) => ReadImagesAsync(root, body, credential, provider, ct));

    public Task<KeyCheck> CheckKeyAsync(ProviderCredential credential, CancellationToken ct) =>
        KeyCheck.ByGetAsync(credential, $"{credential.BaseUrl ?? DefaultBaseUrl}/models", "openai", ct);

    /// <summary>429 <c>insufficient_quota</c> means the account is empty: final for this provider, so not retried.</summary>
    internal static async ValueTask<bool> IsOutOfQuotaAsync(HttpResponseMessage response)
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

    internal static JsonObject RequestBody(ImageJob job, bool stream = false)
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
        if (isGptImage)
        {
            if (job.OutputFormat is not null) body["output_format"] = job.OutputFormat;
            if (job.OutputCompression is not null) body["output_compression"] = job.OutputCompression;
            if (job.Background is not null) body["background"] = job.Background;
            if (job.Moderation is not null) body["moderation"] = job.Moderation;
        }
        if (job.User is not null) body["user"] = job.User;
        if (stream)
        {
            body["stream"] = true;
            body["partial_images"] = job.PartialImages;
        }
        return body;
    }

    private static async Task<ProviderResult> ReadImagesAsync(JsonElement root, ReadOnlyMemory<byte> body, ProviderCredential credential,
        string provider, CancellationToken ct)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
            return ProviderResult.Failed(UpstreamText.NotImages(provider, "JSON without a data array"));
        var images = new List<GeneratedImage>();
        foreach (var item in data.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object) continue;
            var revised = item.TryGetProperty("revised_prompt", out var rp) && rp.ValueKind == JsonValueKind.String ? rp.GetString() : null;
            if (item.TryGetProperty("b64_json", out var b64))
            {
                var image = UpstreamText.DecodeImage(b64, revised, body);
                if (image is null) return ProviderResult.Failed(UpstreamText.NotImages(provider, "data that is not a valid base64 image"));
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
            ? ProviderResult.Failed(UpstreamText.NotImages(provider, "an empty data array"))
            : ProviderResult.Success(images) with { Usage = ReadUsage(root), Produced = ReadProduced(root) };
    }

    /// <summary>GPT-image <c>usage</c>; null when absent or not the shape OpenAI sends (the request is then charged its estimate).</summary>
    internal static TokenUsage? ReadUsage(JsonElement root)
    {
        if (!root.TryGetProperty("usage", out var usage) || usage.ValueKind != JsonValueKind.Object
            || Count(usage, "input_tokens") is not { } input || Count(usage, "output_tokens") is not { } output)
            return null;
        var (text, image) = usage.TryGetProperty("input_tokens_details", out var details) && details.ValueKind == JsonValueKind.Object
            && Count(details, "text_tokens") is { } t && Count(details, "image_tokens") is { } i && t + i == input
            ? (t, i)
            : (input, 0L); // no breakdown: all input priced as text, the cheaper rate, as OpenAI names no other
        var (outImage, outText) = usage.TryGetProperty("output_tokens_details", out var outDetails) && outDetails.ValueKind == JsonValueKind.Object
            ? (Count(outDetails, "image_tokens"), Count(outDetails, "text_tokens"))
            : (null, null);
        return new TokenUsage(text, image, output, outImage, outText);
    }

    private static long? Count(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var count) && count >= 0
            ? count : null;

    internal static ProducedAs ReadProduced(JsonElement root) =>
        new(Text(root, "background"), Text(root, "output_format"), Text(root, "size"), Text(root, "quality"));

    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static ProviderFailure MapError(HttpResponseMessage response, JsonDocument? json, string provider)
    {
        string? message = null, code = null;
        if (json?.RootElement is { ValueKind: JsonValueKind.Object } root && root.TryGetProperty("error", out var error)
            && error.ValueKind == JsonValueKind.Object)
        {
            message = error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            code = error.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
            // Azure's content filter names itself in inner_error (older API versions: code "contentFilter").
            if (code == "contentFilter" || (error.TryGetProperty("inner_error", out var inner) && inner.ValueKind == JsonValueKind.Object
                && inner.TryGetProperty("code", out var ic) && ic.ValueKind == JsonValueKind.String && ic.GetString() == "ResponsibleAIPolicyViolation"))
                code = "content_policy_violation";
        }
        var status = (int)response.StatusCode;
        if (ContentPolicyFailure(code, status == 400 ? message : null, status) is { } refused) return refused;
        if (response.StatusCode == HttpStatusCode.TooManyRequests && code == "insufficient_quota")
            return new ProviderFailure(FailureKind.Unauthorized, $"The {provider} account has no quota left (HTTP 429 insufficient_quota).", status);
        return UpstreamText.FromStatus(provider, response.StatusCode, message, response.Headers.RetryAfter?.Delta);
    }

    /// <summary>
    /// A refusal by the safety system, in an error answer or a stream's error event: DALL·E refused
    /// with content_policy_violation, the GPT-image models refuse with moderation_blocked.
    /// </summary>
    internal static ProviderFailure? ContentPolicyFailure(string? code, string? message, int status) =>
        code is "content_policy_violation" or "moderation_blocked" || message?.Contains("safety system", StringComparison.OrdinalIgnoreCase) == true
            ? new ProviderFailure(FailureKind.ContentPolicy, "Your request was rejected by the upstream provider's safety system. You were not charged.", status)
            : null;
}
