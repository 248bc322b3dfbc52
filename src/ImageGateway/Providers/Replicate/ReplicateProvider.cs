using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;

namespace ImageGateway.Providers.Replicate;

/// <summary>
/// Replicate's predictions API, for any image model on it. The route's upstream model is
/// <c>owner/name</c> (run at <c>POST {base}/models/{owner}/{name}/predictions</c>) or, with a
/// version (<c>owner/name:version</c> or <c>Models:{owner/name}:Version</c>), at
/// <c>POST {base}/predictions</c>. The input field names, fixed inputs and outputs per call come
/// from <c>Gateway:Providers:{name}:Models:{owner/name}</c>. The create waits (<c>Prefer: wait</c>)
/// briefly; a prediction still running is polled, and cancelled when the caller goes away. Outputs
/// are links on replicate.delivery, downloaded at once without credentials.
/// </summary>
public sealed class ReplicateProvider(IOptions<ProvidersOptions> providers) : IImageProvider
{
    public const string DefaultBaseUrl = "https://api.replicate.com/v1";

    public static readonly string[] DefaultResultHosts = ["replicate.delivery"];

    /// <summary>The aspect ratios the FLUX models on Replicate take, when a model lists none of its own.</summary>
    public static readonly string[] FluxAspectRatios = ["1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21"];

    /// <summary>Seconds the create call waits for the prediction before it is polled (Replicate allows up to 60).</summary>
    public const int PreferWaitSeconds = 10;

    public string Kind => "replicate";

    public bool IsConfigured(ProviderCredential credential) => credential.ApiKey is not null;

    public int MaxImagesPerCall(string upstreamModel) => Math.Max(1, ModelOptions(upstreamModel, null).MaxOutputs);

    public string HowToEnable(string providerName) => ProviderCredential.KeySettings(providerName, Kind, "REPLICATE_API_TOKEN");

    /// <summary>The account endpoint answers only a token Replicate knows.</summary>
    public Task<KeyCheck> CheckKeyAsync(ProviderCredential credential, CancellationToken ct) =>
        KeyCheck.ByGetAsync(credential, $"{Base(credential)}/account", Kind, ct);

    public async Task<ProviderResult> GenerateAsync(ImageJob job, ProviderCredential credential, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        var model = ModelOptions(job.UpstreamModel, credential.Http.Options);
        var (name, version) = SplitVersion(job.UpstreamModel, model.Version);
        var body = new JsonObject { ["input"] = Input(job, model) };
        string url;
        if (version is null) url = $"{Base(credential)}/models/{name}/predictions";
        else
        {
            body["version"] = version;
            url = $"{Base(credential)}/predictions";
        }
        var content = UpstreamClient.JsonBody(body);
        var wait = Math.Clamp((int)credential.Http.Options.TimeoutSeconds - 1, 1, PreferWaitSeconds);
        var created = await credential.Http.SendAsync(() =>
        {
            var request = Request(HttpMethod.Post, url, credential, content());
            request.Headers.TryAddWithoutValidation("Prefer", $"wait={wait}");
            // Replicate stops the prediction itself past the gateway's deadline, even if the cancel below never arrives.
            request.Headers.TryAddWithoutValidation("Cancel-After", $"{Math.Max(5, (int)Math.Ceiling(credential.Http.Options.TimeoutSeconds))}s");
            return request;
        }, ct);
        var (prediction, failure) = Read(created);
        if (failure is not null) return ProviderResult.Failed(failure);
        if (prediction!.Id is null) return ProviderResult.Failed(UpstreamText.NotImages(Kind, "a prediction without an id"));

        if (!prediction.IsFinished)
        {
            var id = prediction.Id;
            try
            {
                (prediction, failure) = await AsyncJobs.PollAsync(credential.Http, started, async token =>
                {
                    var (look, lookFailure) = Read(await credential.Http.SendAsync(
                        () => Request(HttpMethod.Get, $"{Base(credential)}/predictions/{Uri.EscapeDataString(id)}", credential, null), token));
                    return lookFailure is not null ? AsyncJobs.Poll<Prediction>.Failed(lookFailure)
                        : look!.IsFinished ? AsyncJobs.Poll<Prediction>.Finished(look) : AsyncJobs.Poll<Prediction>.Running;
                }, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                await CancelAsync(credential, id);
                throw;
            }
            if (failure is not null)
            {
                if (failure.Kind == FailureKind.Timeout) await CancelAsync(credential, id);
                return ProviderResult.Failed(failure);
            }
        }
        return await OutputsAsync(prediction!, model, credential, ct);
    }

    /// <summary>Stops a prediction nobody will collect (so it is not billed to its end); best effort, a few seconds at most.</summary>
    private static async Task CancelAsync(ProviderCredential credential, string id)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            var (response, _) = await credential.Http.SendAsync(
                () => Request(HttpMethod.Post, $"{Base(credential)}/predictions/{Uri.EscapeDataString(id)}/cancel", credential, null), timeout.Token);
            response?.Dispose();
        }
        catch (OperationCanceledException) { }
    }

    private async Task<ProviderResult> OutputsAsync(Prediction prediction, UpstreamModelOptions model, ProviderCredential credential, CancellationToken ct)
    {
        if (!prediction.Succeeded)
        {
            var error = prediction.Error;
            if (error is not null && (error.Contains("NSFW", StringComparison.OrdinalIgnoreCase) || error.Contains("sensitive", StringComparison.OrdinalIgnoreCase)
                || error.Contains("safety", StringComparison.OrdinalIgnoreCase)))
                return ProviderResult.Failed(new ProviderFailure(FailureKind.ContentPolicy,
                    "Your request was rejected by the upstream model's safety checker. You were not charged.", 200));
            return ProviderResult.Failed(new ProviderFailure(FailureKind.Unavailable,
                $"The replicate prediction {prediction.Status}{(error is null ? "" : ": " + UpstreamText.Sanitize(error))}."));
        }
        if (prediction.Outputs.Count == 0) return ProviderResult.Failed(UpstreamText.NotImages(Kind, "a prediction without outputs"));
        var hosts = credential.Http.Options.ResultHosts is { Count: > 0 } configured ? configured : (IReadOnlyList<string>)DefaultResultHosts;
        var images = new List<GeneratedImage>();
        foreach (var output in prediction.Outputs)
        {
            if (output.StartsWith("data:", StringComparison.Ordinal))
            {
                var bytes = DataUri(output);
                if (bytes is null || UpstreamText.SniffWholeImage(bytes) is not { } mediaType)
                    return ProviderResult.Failed(UpstreamText.NotImages(Kind, "a data URI that is not an image"));
                images.Add(new GeneratedImage(bytes, mediaType, null));
                continue;
            }
            var (downloaded, failure) = await AsyncJobs.DownloadResultAsync(credential, output, hosts, null, ct);
            if (failure is not null) return ProviderResult.Failed(failure);
            images.Add(downloaded!);
        }
        return ProviderResult.Success(images) with { UpstreamCostUsd = Cost(prediction, images.Count, model) };
    }

    /// <summary>
    /// What the prediction cost upstream, where the operator gave the model's rate: Replicate reports no
    /// cost, only <c>metrics.predict_time</c> (hardware-billed models) and the outputs (per-image ones).
    /// </summary>
    private static decimal? Cost(Prediction prediction, int images, UpstreamModelOptions model) =>
        model.CostPerImageUsd is { } perImage ? perImage * images
        : model.CostPerSecondUsd is { } perSecond && prediction.PredictSeconds is { } seconds ? Math.Round(perSecond * seconds, 6)
        : null;

    /// <summary>The bytes of a <c>data:…;base64,</c> output; null when it is not base64.</summary>
    private static byte[]? DataUri(string output)
    {
        try { return Convert.FromBase64String(output[(output.IndexOf(',') + 1)..]); }
        catch (FormatException) { return null; }
    }

    /// <summary>The model's inputs: the gateway's fields under the model's own names, then its fixed inputs.</summary>
    internal static JsonObject Input(ImageJob job, UpstreamModelOptions model)
    {
        var input = new JsonObject();
        void Put(string what, string defaultName, JsonNode? value)
        {
            var name = model.Inputs.TryGetValue(what, out var configured) ? configured : defaultName;
            if (!string.IsNullOrEmpty(name) && value is not null) input[name] = value;
        }
        Put("prompt", "prompt", job.Prompt);
        Put("aspect_ratio", "aspect_ratio", AspectRatios.Nearest(job.Width, job.Height, model.AspectRatios is { Count: > 0 } own ? own : FluxAspectRatios));
        Put("width", "", job.Width);
        Put("height", "", job.Height);
        if (job.Seed is { } seed) Put("seed", "seed", seed);
        if (model.MaxOutputs > 1) Put("num_outputs", "num_outputs", job.N);
        Put("output_format", "output_format", job.Format == "jpeg" ? "jpg" : job.Format);
        foreach (var (name, value) in model.Fixed)
            input[name] = long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number) ? number
                : double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var real) ? real
                : bool.TryParse(value, out var flag) ? flag : value;
        return input;
    }

    internal static (string Name, string? Version) SplitVersion(string upstreamModel, string? configured)
    {
        var colon = upstreamModel.IndexOf(':');
        return colon < 0 ? (upstreamModel, string.IsNullOrWhiteSpace(configured) ? null : configured.Trim())
            : (upstreamModel[..colon], upstreamModel[(colon + 1)..]);
    }

    /// <summary>The settings of an upstream model: from this provider's options, else from any replicate provider that names it.</summary>
    private UpstreamModelOptions ModelOptions(string upstreamModel, ProviderOptions? own)
    {
        var name = SplitVersion(upstreamModel, null).Name;
        if (own is not null && own.Models.TryGetValue(name, out var mine)) return mine;
        foreach (var (provider, options) in providers.Value.Providers)
            if ((options.Kind ?? provider).Equals(Kind, StringComparison.OrdinalIgnoreCase) && options.Models.TryGetValue(name, out var found))
                return found;
        return new UpstreamModelOptions();
    }

    private static string Base(ProviderCredential credential) => credential.BaseUrl ?? DefaultBaseUrl;

    private static HttpRequestMessage Request(HttpMethod method, string url, ProviderCredential credential, HttpContent? content)
    {
        var request = new HttpRequestMessage(method, url) { Content = content };
        request.Headers.Authorization = credential.Bearer;
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return request;
    }

    /// <summary>A prediction as far as the gateway reads it.</summary>
    private sealed record Prediction(string? Id, string? Status, string? Error, IReadOnlyList<string> Outputs, decimal? PredictSeconds)
    {
        /// <summary>Terminal, or still <c>processing</c> with its output already there (Replicate answers so at the end of a wait).</summary>
        public bool IsFinished => Status is "succeeded" or "failed" or "canceled" or "aborted" || (Status == "processing" && Outputs.Count > 0);

        public bool Succeeded => Status == "succeeded" || (Status == "processing" && Outputs.Count > 0);
    }

    private (Prediction? Prediction, ProviderFailure? Failure) Read((HttpResponseMessage? Response, ProviderFailure? Failure) sent)
    {
        if (sent.Failure is not null) return (null, sent.Failure);
        using var response = sent.Response!;
        using var json = UpstreamText.TryParseJson(response);
        if (!response.IsSuccessStatusCode) return (null, MapError(response, json));
        if (json?.RootElement is not { ValueKind: JsonValueKind.Object } root) return (null, UpstreamText.NotImages(Kind, "malformed JSON"));
        var outputs = new List<string>();
        if (root.TryGetProperty("output", out var output))
        {
            if (output.ValueKind == JsonValueKind.String) outputs.Add(output.GetString()!);
            else if (output.ValueKind == JsonValueKind.Array)
                outputs.AddRange(output.EnumerateArray().Where(o => o.ValueKind == JsonValueKind.String).Select(o => o.GetString()!));
        }
        decimal? seconds = root.TryGetProperty("metrics", out var metrics) && metrics.ValueKind == JsonValueKind.Object
            && metrics.TryGetProperty("predict_time", out var t) && t.ValueKind == JsonValueKind.Number && t.TryGetDecimal(out var s) ? s : null;
        return (new Prediction(Text(root, "id"), Text(root, "status"), Text(root, "error"), outputs, seconds), null);
    }

    private static string? Text(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>Replicate's errors are problem details: <c>{"title", "detail", "status"}</c>; only <c>detail</c> (sanitized) goes on.</summary>
    private static ProviderFailure MapError(HttpResponseMessage response, JsonDocument? json)
    {
        string? detail = null;
        if (json?.RootElement is { ValueKind: JsonValueKind.Object } root)
            detail = Text(root, "detail") ?? Text(root, "title");
        return UpstreamText.FromStatus("replicate", response.StatusCode, detail, response.Headers.RetryAfter?.Delta);
    }
}
