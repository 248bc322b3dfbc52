using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace ImageGateway.Providers.Stability;

/// <summary>
/// Stability AI's Stable Image API, <c>POST {base}/v2beta/stable-image/generate/{sd3|core|ultra}</c>
/// as multipart/form-data with <c>Accept: application/json</c>, which answers
/// <c>{"image": base64, "finish_reason", "seed"}</c>. One image per call (the router fans out n);
/// the gateway's sizes map to Stability's <c>aspect_ratio</c>.
/// </summary>
public sealed class StabilityProvider : IImageProvider
{
    public const string DefaultBaseUrl = "https://api.stability.ai";

    /// <summary>Stability's largest seed (0 means "random" there).</summary>
    public const long MaxSeed = 4294967294;

    /// <summary>The aspect ratios Stability accepts, in the order its documentation lists them.</summary>
    private static readonly (string Name, double Ratio)[] AspectRatios =
        new[] { "16:9", "1:1", "21:9", "2:3", "3:2", "4:5", "5:4", "9:16", "9:21" }
            .Select(name => (name, double.Parse(name.Split(':')[0]) / double.Parse(name.Split(':')[1])))
            .ToArray();

    public string Kind => "stability";

    public bool IsConfigured(ProviderCredential credential) => credential.ApiKey is not null;

    public int MaxImagesPerCall(string upstreamModel) => 1;

    public string HowToEnable(string providerName) => ProviderCredential.KeySettings(providerName, Kind, "STABILITY_API_KEY");

    /// <summary>Stability's cheap authenticated call: the account endpoint.</summary>
    public Task<KeyCheck> CheckKeyAsync(ProviderCredential credential, CancellationToken ct) =>
        KeyCheck.ByGetAsync(credential, $"{credential.BaseUrl ?? DefaultBaseUrl}/v1/user/account", "stability", ct);

    public async Task<ProviderResult> GenerateAsync(ImageJob job, ProviderCredential credential, CancellationToken ct)
    {
        var endpoint = Endpoint(job.UpstreamModel);
        if (endpoint is null)
            return ProviderResult.Failed(new ProviderFailure(FailureKind.Unavailable,
                $"The stability provider is routed to upstream model '{UpstreamText.Sanitize(job.UpstreamModel)}', which is not "
                + "'core', 'ultra' or an 'sd3' model; fix the route."));

        var url = $"{credential.BaseUrl ?? DefaultBaseUrl}/v2beta/stable-image/generate/{endpoint}";
        var fields = FormFields(job);
        var sent = await credential.Http.PostAsync(url, () => Multipart(fields), credential.Bearer, ct);
        // Asked for JSON; a raw image answer (the Accept: image/* form) is still understood.
        if (sent.Response is { IsSuccessStatusCode: true } raw
            && raw.Content.Headers.ContentType?.MediaType?.StartsWith("image/", StringComparison.OrdinalIgnoreCase) == true)
            using (raw) return await ReadRawImageAsync(raw, ct);
        return await UpstreamText.ReadJsonAnswerAsync(sent, Kind, MapError, (root, _) => Task.FromResult(ReadImage(root)));
    }

    /// <summary><c>core</c> and <c>ultra</c> are their own endpoints; every <c>sd3*</c> model goes to <c>/sd3</c>.</summary>
    internal static string? Endpoint(string upstreamModel)
    {
        if (upstreamModel.Equals("core", StringComparison.OrdinalIgnoreCase)) return "core";
        if (upstreamModel.Equals("ultra", StringComparison.OrdinalIgnoreCase)) return "ultra";
        if (upstreamModel.StartsWith("sd3", StringComparison.OrdinalIgnoreCase)) return "sd3";
        return null;
    }

    /// <summary>The form fields in the order they are sent.</summary>
    internal static List<KeyValuePair<string, string>> FormFields(ImageJob job)
    {
        var fields = new List<KeyValuePair<string, string>>
        {
            new("prompt", job.Prompt),
            new("aspect_ratio", AspectRatio(job.Width, job.Height)),
            new("output_format", "png"),
        };
        if (Endpoint(job.UpstreamModel) == "sd3") fields.Add(new("model", job.UpstreamModel));
        if (job.Seed is { } seed) fields.Add(new("seed", WireSeed(seed).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return fields;
    }

    /// <summary>
    /// The Stability aspect ratio nearest to width:height (compared on a log scale, so 2:1 and 1:2 are
    /// equally far from 1:1). The gateway's sizes land exactly: squares → 1:1, 1792x1024 → 16:9,
    /// 1024x1792 → 9:16, 1536x1024 → 3:2, 1024x1536 → 2:3.
    /// </summary>
    public static string AspectRatio(int width, int height)
    {
        if (width <= 0 || height <= 0) return "1:1";
        var target = Math.Log((double)width / height);
        var best = AspectRatios[0];
        foreach (var candidate in AspectRatios)
            if (Math.Abs(Math.Log(candidate.Ratio) - target) < Math.Abs(Math.Log(best.Ratio) - target) - 1e-12)
                best = candidate;
        return best.Name;
    }

    /// <summary>
    /// Seeds above Stability's maximum (the gateway takes up to 4294967295, and fan-out adds the image
    /// index) wrap around to 1, 2, ... rather than to 0, which Stability reads as "random".
    /// </summary>
    internal static long WireSeed(long seed) => seed is >= 0 and <= MaxSeed ? seed : (Math.Abs(seed) - 1) % MaxSeed + 1;

    /// <summary>
    /// Plain text parts as curl and python-requests send them: no per-part Content-Type, and the
    /// boundary unquoted in the header (some multipart parsers do not unquote it).
    /// </summary>
    private static MultipartFormDataContent Multipart(List<KeyValuePair<string, string>> fields)
    {
        var boundary = "----ImageGateway" + Guid.NewGuid().ToString("N");
        var content = new MultipartFormDataContent(boundary);
        foreach (var (name, value) in fields)
        {
            var part = new ByteArrayContent(Encoding.UTF8.GetBytes(value));
            content.Add(part, name);
        }
        content.Headers.ContentType = MediaTypeHeaderValue.Parse($"multipart/form-data; boundary={boundary}");
        return content;
    }

    private static ProviderResult ReadImage(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
            return ProviderResult.Failed(UpstreamText.NotImages("stability", "JSON that is not an object"));
        var finishReason = root.TryGetProperty("finish_reason", out var fr) && fr.ValueKind == JsonValueKind.String ? fr.GetString() : null;
        if (string.Equals(finishReason, "CONTENT_FILTERED", StringComparison.OrdinalIgnoreCase))
            return ProviderResult.Failed(ContentPolicy(200));
        if (finishReason is not null && !finishReason.Equals("SUCCESS", StringComparison.OrdinalIgnoreCase))
            return ProviderResult.Failed(UpstreamText.NotImages("stability", $"finish_reason '{UpstreamText.Sanitize(finishReason)}'"));
        if (!root.TryGetProperty("image", out var b64))
            return ProviderResult.Failed(UpstreamText.NotImages("stability", "JSON without an image"));
        var image = UpstreamText.DecodeImage(b64, null);
        return image is null
            ? ProviderResult.Failed(UpstreamText.NotImages("stability", "data that is not a valid base64 image"))
            : ProviderResult.Success([image]);
    }

    private static async Task<ProviderResult> ReadRawImageAsync(HttpResponseMessage response, CancellationToken ct)
    {
        if (response.Headers.TryGetValues("finish-reason", out var reasons)
            && reasons.Any(r => r.Equals("CONTENT_FILTERED", StringComparison.OrdinalIgnoreCase)))
            return ProviderResult.Failed(ContentPolicy(200));
        var bytes = await response.Content.ReadAsByteArrayAsync(ct);
        var mediaType = UpstreamText.SniffWholeImage(bytes);
        return mediaType is null
            ? ProviderResult.Failed(UpstreamText.NotImages("stability", "bytes that are not a PNG, JPEG or WebP image"))
            : ProviderResult.Success([new GeneratedImage(bytes, mediaType, null)]);
    }

    private static ProviderFailure ContentPolicy(int status) => new(FailureKind.ContentPolicy,
        "Your request was rejected by the upstream provider's content moderation. You were not charged.", status);

    /// <summary>
    /// Stability errors are <c>{"id", "name", "errors": ["…"]}</c>. Only the <c>errors</c> messages
    /// (sanitized) are passed on, never the body or its <c>id</c>.
    /// </summary>
    private static ProviderFailure MapError(HttpResponseMessage response, JsonDocument? json)
    {
        string? name = null, message = null;
        if (json?.RootElement is { ValueKind: JsonValueKind.Object } root)
        {
            name = root.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
            if (root.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array)
            {
                var messages = errors.EnumerateArray()
                    .Where(e => e.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(e.GetString()))
                    .Select(e => e.GetString()!.Trim())
                    .Take(5)
                    .ToArray();
                if (messages.Length > 0) message = string.Join("; ", messages);
            }
            message ??= name;
        }
        var status = (int)response.StatusCode;
        if (string.Equals(name, "content_moderation", StringComparison.OrdinalIgnoreCase))
            return ContentPolicy(status);
        return UpstreamText.FromStatus("stability", response.StatusCode, message, response.Headers.RetryAfter?.Delta);
    }
}
