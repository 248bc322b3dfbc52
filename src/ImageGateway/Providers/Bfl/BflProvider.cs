using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ImageGateway.Providers.Bfl;

/// <summary>
/// Black Forest Labs' FLUX API, which is asynchronous: <c>POST {base}/v1/{model}</c> (key in
/// <c>x-key</c>) answers <c>{"id", "polling_url"}</c>; the job is polled until its <c>status</c> is
/// <c>Ready</c>, and <c>result.sample</c> is then a signed link that lives about ten minutes, so the
/// image is downloaded at once (no credentials, only from BFL's delivery hosts) and served from the
/// gateway's own storage. <c>Request Moderated</c> and <c>Content Moderated</c> are content-policy
/// refusals. One image per call; BFL has no cancel, so an abandoned job's result is dropped.
/// </summary>
public sealed class BflProvider : IImageProvider
{
    public const string DefaultBaseUrl = "https://api.bfl.ai";

    /// <summary>Where BFL serves results and its regional APIs (api.eu.bfl.ai, delivery-eu1.bfl.ai, ...).</summary>
    public static readonly string[] DefaultResultHosts = ["bfl.ai", "bfl.ml"];

    public string Kind => "bfl";

    public bool IsConfigured(ProviderCredential credential) => credential.ApiKey is not null;

    public int MaxImagesPerCall(string upstreamModel) => 1;

    public string HowToEnable(string providerName) => ProviderCredential.KeySettings(providerName, Kind, "BFL_API_KEY");

    /// <summary>The credits endpoint answers only a key BFL knows.</summary>
    public Task<KeyCheck> CheckKeyAsync(ProviderCredential credential, CancellationToken ct) =>
        KeyCheck.ByRequestAsync(credential, () => Request(HttpMethod.Get, $"{Base(credential)}/v1/credits", credential, null), Kind, ct);

    public async Task<ProviderResult> GenerateAsync(ImageJob job, ProviderCredential credential, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        var content = UpstreamClient.JsonBody(RequestBody(job));
        var url = $"{Base(credential)}/v1/{Uri.EscapeDataString(job.UpstreamModel)}";
        var created = await credential.Http.SendAsync(() => Request(HttpMethod.Post, url, credential, content()), ct);
        string? id = null, pollingUrl = null;
        decimal? cost = null;
        var failure = ReadJson(created, root =>
        {
            id = Text(root, "id");
            pollingUrl = Text(root, "polling_url");
            if (root.TryGetProperty("cost", out var c) && c.ValueKind == JsonValueKind.Number && c.TryGetDecimal(out var credits) && credits >= 0) cost = credits;
            return id is null ? UpstreamText.NotImages(Kind, "a job without an id") : null;
        });
        if (failure is not null) return ProviderResult.Failed(failure);

        // The job lives on a regional host, so its polling URL is used as given; the key goes only to BFL's own hosts.
        var poll = pollingUrl ?? $"{Base(credential)}/v1/get_result?id={Uri.EscapeDataString(id!)}";
        if (!IsBflHost(poll, credential))
            return ProviderResult.Failed(new ProviderFailure(FailureKind.InvalidResponse,
                "The bfl provider answered with a polling URL outside its own hosts; the key is not sent there."));
        var (sample, pollFailure) = await AsyncJobs.PollAsync(credential.Http, started, token => PollOnceAsync(poll, credential, token), ct);
        if (pollFailure is not null) return ProviderResult.Failed(pollFailure);
        var hosts = credential.Http.Options.ResultHosts is { Count: > 0 } configured ? configured : (IReadOnlyList<string>)DefaultResultHosts;
        var (image, downloadFailure) = await AsyncJobs.DownloadResultAsync(credential, sample, hosts, null, ct);
        // The create answer's cost is in BFL credits, a cent each.
        return downloadFailure is not null ? ProviderResult.Failed(downloadFailure)
            : ProviderResult.Success([image!]) with { UpstreamCostUsd = cost is { } credits ? credits / 100m : null };
    }

    internal static JsonObject RequestBody(ImageJob job)
    {
        var body = new JsonObject
        {
            ["prompt"] = job.Prompt,
            ["width"] = job.Width,
            ["height"] = job.Height,
            ["output_format"] = job.Format == "jpeg" ? "jpeg" : "png",
        };
        if (job.Seed is { } seed) body["seed"] = seed;
        return body;
    }

    private async Task<AsyncJobs.Poll<string>> PollOnceAsync(string url, ProviderCredential credential, CancellationToken ct)
    {
        var sent = await credential.Http.SendAsync(() => Request(HttpMethod.Get, url, credential, null), ct);
        var look = AsyncJobs.Poll<string>.Running;
        var failure = ReadJson(sent, root =>
        {
            var status = Text(root, "status");
            switch (status)
            {
                case "Ready":
                    var sample = root.TryGetProperty("result", out var result) && result.ValueKind == JsonValueKind.Object ? Text(result, "sample") : null;
                    if (sample is null) return UpstreamText.NotImages(Kind, "a ready job without a result sample");
                    look = AsyncJobs.Poll<string>.Finished(sample);
                    return null;
                case "Request Moderated" or "Content Moderated":
                    return new ProviderFailure(FailureKind.ContentPolicy,
                        $"Your request was rejected by the upstream provider's moderation ({status}). You were not charged.", 200);
                case "Task not found":
                    return new ProviderFailure(FailureKind.Unavailable, "The bfl provider lost the job (Task not found).");
                case "Error" or "Failed":
                    var reason = root.TryGetProperty("details", out var d) && d.ValueKind == JsonValueKind.Object ? Text(d, "error") : null;
                    return new ProviderFailure(FailureKind.Unavailable, $"The bfl provider failed the job{(reason is null ? "" : ": " + UpstreamText.Sanitize(reason))}.");
                default:
                    return null; // Pending, and the in-progress states BFL adds (Reasoning, Generating): poll on
            }
        }, taskBodyOnError: true);
        return failure is null ? look : AsyncJobs.Poll<string>.Failed(failure);
    }

    /// <summary>Reads one JSON answer: the upstream's error, JSON that does not parse, or what <paramref name="read"/> makes of it.</summary>
    /// <param name="taskBodyOnError">A poll: BFL may answer a failed job with 422 or 503 and the job's own body, read as a job.</param>
    private ProviderFailure? ReadJson((HttpResponseMessage? Response, ProviderFailure? Failure) sent, Func<JsonElement, ProviderFailure?> read,
        bool taskBodyOnError = false)
    {
        if (sent.Failure is not null) return sent.Failure;
        using var response = sent.Response!;
        using var json = UpstreamText.TryParseJson(response);
        if (!response.IsSuccessStatusCode && !(taskBodyOnError && json?.RootElement is { ValueKind: JsonValueKind.Object } task
            && Text(task, "status") is "Error" or "Failed" or "Request Moderated" or "Content Moderated"))
            return MapError(response, json);
        if (json?.RootElement is not { ValueKind: JsonValueKind.Object } root) return UpstreamText.NotImages(Kind, "malformed JSON");
        return read(root);
    }

    private static bool IsBflHost(string? url, ProviderCredential credential) =>
        Uri.TryCreate(url, UriKind.Absolute, out var u)
        && ((u.Scheme == "https" && DefaultResultHosts.Any(h => u.Host.EndsWith("." + h, StringComparison.OrdinalIgnoreCase)))
            || (Uri.TryCreate(Base(credential), UriKind.Absolute, out var own) && own.Host.Equals(u.Host, StringComparison.OrdinalIgnoreCase)
                && own.Port == u.Port));

    private static string Base(ProviderCredential credential) => credential.BaseUrl ?? DefaultBaseUrl;

    private static HttpRequestMessage Request(HttpMethod method, string url, ProviderCredential credential, HttpContent? content)
    {
        var request = new HttpRequestMessage(method, url) { Content = content };
        request.Headers.TryAddWithoutValidation("x-key", credential.ApiKey);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return request;
    }

    private static string? Text(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>
    /// BFL's errors: 402 (out of credits), 403 (bad key), 422 (FastAPI validation,
    /// <c>{"detail": [{"loc", "msg"}]}</c>), 429 (too many active tasks). Only the messages go on.
    /// </summary>
    private static ProviderFailure MapError(HttpResponseMessage response, JsonDocument? json)
    {
        string? message = null;
        if (json?.RootElement is { ValueKind: JsonValueKind.Object } root && root.TryGetProperty("detail", out var detail))
            message = detail.ValueKind switch
            {
                JsonValueKind.String => detail.GetString(),
                JsonValueKind.Array => string.Join("; ", detail.EnumerateArray().Where(d => d.ValueKind == JsonValueKind.Object)
                    .Select(d => Text(d, "msg")).Where(m => m is not null).Take(5)),
                _ => null,
            };
        return UpstreamText.FromStatus("bfl", response.StatusCode, message, response.Headers.RetryAfter?.Delta);
    }
}
