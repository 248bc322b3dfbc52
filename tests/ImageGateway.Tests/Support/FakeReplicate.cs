using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace ImageGateway.Tests.Support;

/// <summary>
/// Replicate's predictions API as docs/PROVIDERS.md records it: <c>POST /v1/models/{owner}/{name}/predictions</c>
/// (or <c>/v1/predictions</c> with a version) with a bearer token answers 201 and the prediction,
/// finished when it completes within <c>Prefer: wait</c>, else <c>starting</c>; <c>GET
/// /v1/predictions/{id}</c> polls it; <c>POST .../cancel</c> cancels it. Outputs are links on this
/// server's delivery path; errors are problem details (<c>title</c>, <c>detail</c>, <c>status</c>).
/// </summary>
public sealed class FakeReplicate
{
    public const string PlatformToken = "r8_PlatformToken000000000000000000000000";

    public HashSet<string> Tokens { get; } = [PlatformToken];

    /// <summary>
    /// <c>sync</c> (done within the wait), <c>async</c> (polled), <c>never</c>, <c>nsfw</c>, <c>failed</c>,
    /// <c>expired</c> (outputs answer 404), <c>truncated</c>, or an HTTP status the create fails with.
    /// </summary>
    public string Mode { get; set; } = "async";

    public int PendingPolls { get; set; } = 2;

    public string BaseUrl { get; set; } = "";

    public ConcurrentBag<string> Cancelled { get; } = [];

    public static byte[] Image(int index) => FakeUpstream.Png(40, 700 + index);

    private readonly ConcurrentDictionary<string, (int First, int Count, int Polls, string Model)> _predictions = new();
    private int _images;

    public async Task Handle(HttpContext context, RecordedRequest request)
    {
        var path = context.Request.Path.Value ?? "";
        if (path.StartsWith("/delivery/", StringComparison.Ordinal)) { await Deliver(context, path); return; }
        if (!Tokens.Contains(request.Authorization?.Replace("Bearer ", "", StringComparison.Ordinal) ?? ""))
        {
            await FakeUpstream.Json(context, 401, """{"title":"Unauthenticated","detail":"You did not pass a valid authentication token","status":401}""");
            return;
        }
        if (HttpMethods.IsGet(request.Method) && path == "/v1/account")
        {
            await FakeUpstream.Json(context, 200, """{"type":"user","username":"igw","name":"Image Gateway","github_url":null}""");
            return;
        }
        if (HttpMethods.IsPost(request.Method) && path.EndsWith("/cancel", StringComparison.Ordinal))
        {
            var id = path.Split('/')[3];
            Cancelled.Add(id);
            await FakeUpstream.Json(context, 200, Prediction(id, "canceled", null, null));
            return;
        }
        if (HttpMethods.IsGet(request.Method) && path.StartsWith("/v1/predictions/", StringComparison.Ordinal))
        {
            await Poll(context, path["/v1/predictions/".Length..]);
            return;
        }
        if (!HttpMethods.IsPost(request.Method) || !path.EndsWith("/predictions", StringComparison.Ordinal))
        {
            await FakeUpstream.Json(context, 404, """{"title":"Not found","detail":"The requested resource could not be found.","status":404}""");
            return;
        }
        if (int.TryParse(Mode, out var status)) { await Error(context, status); return; }
        using var body = JsonDocument.Parse(request.Body);
        var input = body.RootElement.GetProperty("input");
        var count = input.TryGetProperty("num_outputs", out var n) ? n.GetInt32() : 1;
        var prediction = Guid.NewGuid().ToString("N")[..26];
        var model = path.StartsWith("/v1/models/", StringComparison.Ordinal) ? path["/v1/models/".Length..^"/predictions".Length]
            : body.RootElement.GetProperty("version").GetString()!;
        _predictions[prediction] = (Interlocked.Add(ref _images, count) - count, count, 0, model);
        context.Response.StatusCode = 201;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(Mode == "sync" ? Finished(prediction) : Prediction(prediction, "starting", null, null));
    }

    private Task Poll(HttpContext context, string id)
    {
        if (!_predictions.TryGetValue(id, out var p))
            return FakeUpstream.Json(context, 404, """{"title":"Not found","detail":"The requested resource could not be found.","status":404}""");
        _predictions[id] = p with { Polls = p.Polls + 1 };
        if (Mode == "never" || p.Polls < PendingPolls) return FakeUpstream.Json(context, 200, Prediction(id, "processing", null, null));
        return FakeUpstream.Json(context, 200, Finished(id));
    }

    private string Finished(string id) => Mode switch
    {
        "nsfw" => Prediction(id, "failed", null, "All generated images contained NSFW content. Try running it again with a different prompt."),
        "failed" => Prediction(id, "failed", null, "CUDA error: out of memory"),
        _ => Prediction(id, "succeeded", Enumerable.Range(_predictions[id].First, _predictions[id].Count)
            .Select(i => $"{BaseUrl}/delivery/xezq/{id}/out-{i}.png").ToArray(), null),
    };

    private string Prediction(string id, string status, string[]? output, string? error) => JsonSerializer.Serialize(new
    {
        id,
        model = _predictions.TryGetValue(id, out var p) ? p.Model : "black-forest-labs/flux-schnell",
        version = "dp-4d0bcc010b3049749a251855f12800be",
        input = new { prompt = "a fox" },
        logs = "",
        output = output is { Length: 1 } && _predictions[id].Model.EndsWith("flux-1.1-pro", StringComparison.Ordinal) ? (object)output[0] : output,
        data_removed = false,
        error,
        status,
        created_at = "2026-12-03T06:00:00.000Z",
        urls = new { cancel = $"{BaseUrl}/v1/predictions/{id}/cancel", get = $"{BaseUrl}/v1/predictions/{id}", stream = $"{BaseUrl}/stream/{id}", web = $"https://replicate.com/p/{id}" },
        metrics = status == "succeeded" ? new { predict_time = 1.25, total_time = 1.5 } : null,
    });

    private Task Deliver(HttpContext context, string path)
    {
        if (Mode == "expired")
        {
            context.Response.StatusCode = 404;
            return Task.CompletedTask;
        }
        var index = int.Parse(path[(path.LastIndexOf("out-", StringComparison.Ordinal) + 4)..].Split('.')[0], System.Globalization.CultureInfo.InvariantCulture);
        var image = Image(index);
        context.Response.ContentType = "image/png";
        return context.Response.Body.WriteAsync(Mode == "truncated" ? image[..(image.Length - 20)] : image).AsTask();
    }

    /// <summary>Replicate's problem-details errors on create.</summary>
    public static Task Error(HttpContext context, int status)
    {
        if (status == 429) context.Response.Headers.RetryAfter = "1";
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/problem+json";
        return context.Response.WriteAsync(status switch
        {
            402 => """{"title":"Insufficient credit","detail":"You have insufficient credit to run this model. Go to https://replicate.com/account/billing#billing to purchase credit.","status":402}""",
            422 => """{"title":"Input validation failed","detail":"- input.aspect_ratio: aspect_ratio must be one of the following: \"1:1\", \"16:9\"","status":422,"invalid_fields":[{"type":"enum","field":"input.aspect_ratio","description":"aspect_ratio must be one of the following"}]}""",
            429 => """{"title":"Too Many Requests","detail":"Request was throttled. Your rate limit resets in ~1s.","status":429}""",
            _ => """{"title":"Internal Server Error","detail":"An unexpected error occurred.","status":500}""",
        });
    }
}
