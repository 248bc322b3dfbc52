using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace ImageGateway.Tests.Support;

/// <summary>
/// Black Forest Labs' API as docs/PROVIDERS.md records it: <c>POST /v1/{model}</c> with <c>x-key</c>
/// answers <c>{"id", "polling_url", "cost", "input_mp", "output_mp"}</c>; <c>GET polling_url</c> answers
/// <c>Pending</c> a few times, then <c>Ready</c> with <c>result.sample</c>, a signed link on the
/// delivery path of this same server; FastAPI's <c>{"detail": ...}</c> errors (403 for an unknown key).
/// </summary>
public sealed class FakeBfl
{
    public const string PlatformKey = "bfl-platform-key-0123456789abcdef";

    public HashSet<string> Keys { get; } = [PlatformKey];

    /// <summary>
    /// <c>ok</c>, <c>Request Moderated</c>, <c>Content Moderated</c>, <c>Error</c>, <c>Task not found</c>,
    /// <c>never</c> (pending for ever), <c>expired</c> (the sample answers 403), <c>truncated</c>,
    /// <c>foreign</c> (the sample on <see cref="ForeignHost"/>), or an HTTP status the create fails with.
    /// </summary>
    public string Mode { get; set; } = "ok";

    /// <summary>Polls answered Pending before Ready.</summary>
    public int PendingPolls { get; set; } = 2;

    public string BaseUrl { get; set; } = "";

    public string ForeignHost { get; set; } = "";

    public static byte[] Image(int index) => FakeUpstream.Png(40, 500 + index);

    private readonly ConcurrentDictionary<string, (int Index, int Polls)> _jobs = new();
    private int _created;

    public Task Handle(HttpContext context, RecordedRequest request)
    {
        var path = context.Request.Path.Value ?? "";
        if (path.StartsWith("/delivery/", StringComparison.Ordinal)) return Deliver(context, path);
        if (!Keys.Contains(request.Headers.GetValueOrDefault("x-key") ?? ""))
            return FakeUpstream.Json(context, 403, """{"detail":"Not authenticated - Invalid Authentication"}""");
        if (HttpMethods.IsGet(request.Method) && path == "/v1/credits") return FakeUpstream.Json(context, 200, """{"credits":1234.5}""");
        if (HttpMethods.IsGet(request.Method) && path == "/v1/get_result") return Poll(context, context.Request.Query["id"].ToString());
        if (!HttpMethods.IsPost(request.Method) || !path.StartsWith("/v1/", StringComparison.Ordinal))
            return FakeUpstream.Json(context, 404, """{"detail":"Not Found"}""");
        if (int.TryParse(Mode, out var status)) return Error(context, status);
        var index = Interlocked.Increment(ref _created) - 1;
        var id = $"{Guid.NewGuid()}";
        _jobs[id] = (index, 0);
        return FakeUpstream.Json(context, 200, JsonSerializer.Serialize(new
        {
            id, polling_url = $"{BaseUrl}/v1/get_result?id={id}", cost = 3.0, input_mp = 0.0, output_mp = 1.0,
        }));
    }

    private Task Poll(HttpContext context, string id)
    {
        if (!_jobs.TryGetValue(id, out var job) || Mode == "Task not found")
            return FakeUpstream.Json(context, 200, JsonSerializer.Serialize(new { id, status = "Task not found" }));
        _jobs[id] = job with { Polls = job.Polls + 1 };
        if (Mode == "never" || job.Polls < PendingPolls)
            return FakeUpstream.Json(context, 200, JsonSerializer.Serialize(new { id, status = "Pending", result = (object?)null, progress = 0.4, details = (object?)null, preview = (object?)null }));
        return Mode switch
        {
            "Request Moderated" or "Content Moderated" => FakeUpstream.Json(context, 200, JsonSerializer.Serialize(new
            {
                id, status = Mode, result = (object?)null, progress = (object?)null,
                details = new Dictionary<string, object> { ["Moderation Reasons"] = new[] { "Derivative Works Filter" } },
            })),
            "Error" => FakeUpstream.Json(context, 422, JsonSerializer.Serialize(new { id, status = "Error", result = (object?)null, details = new { error = "Generation failed on the worker" } })),
            _ => FakeUpstream.Json(context, 200, JsonSerializer.Serialize(new
            {
                id, status = "Ready", progress = (object?)null, details = (object?)null, preview = (object?)null,
                result = new
                {
                    sample = $"{(Mode == "foreign" ? ForeignHost : BaseUrl)}/delivery/{job.Index}.png?se=2026-12-03T12%3A10%3A00Z&sig=abc",
                    prompt = "a fox", seed = 42, start_time = 1764763200.1, end_time = 1764763204.9, duration = 4.8,
                },
            })),
        };
    }

    private Task Deliver(HttpContext context, string path)
    {
        if (Mode == "expired")
        {
            context.Response.StatusCode = 403;
            context.Response.ContentType = "application/xml";
            return context.Response.WriteAsync("<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed</Code><Message>Signed expiry time has passed.</Message></Error>");
        }
        var image = Image(int.Parse(path["/delivery/".Length..].Split('.')[0], System.Globalization.CultureInfo.InvariantCulture));
        context.Response.ContentType = "image/png";
        return context.Response.Body.WriteAsync(Mode == "truncated" ? image[..(image.Length / 2)] : image).AsTask();
    }

    /// <summary>BFL's error bodies on create.</summary>
    public static Task Error(HttpContext context, int status) => FakeUpstream.Json(context, status, status switch
    {
        402 => """{"detail":"Insufficient credits"}""",
        422 => """{"detail":[{"type":"less_than_equal","loc":["body","width"],"msg":"Input should be less than or equal to 2048","input":4096,"ctx":{"le":2048}}]}""",
        429 => """{"detail":"You have reached the maximum number of active tasks (24)."}""",
        _ => """{"detail":"Internal Server Error"}""",
    });
}
