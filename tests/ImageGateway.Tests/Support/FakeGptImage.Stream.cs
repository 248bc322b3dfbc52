using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace ImageGateway.Tests.Support;

/// <summary>
/// <c>stream: true</c>: a <c>text/event-stream</c> answer, each event framed as the spec's examples
/// frame it (<c>event: &lt;type&gt;</c>, one <c>data:</c> line of JSON, a blank line; no
/// <c>[DONE]</c>). Per image: <c>partial_images</c> partial events, then one completed event; for
/// n &gt; 1 the images follow each other and the completed events' usage adds up to the request's
/// (the first carries the input tokens). Wire facts: docs/PROVIDERS.md.
/// </summary>
public sealed partial class FakeGptImage
{
    /// <summary>How a scripted stream breaks: an SSE error event (OpenAI's error body), or the connection cut mid-event.</summary>
    public enum StreamBreak { None, ServerError, ModerationBlocked, Drop }

    /// <summary>One event the fake wrote (and flushed), with when: <see cref="Stopwatch.GetTimestamp"/>.</summary>
    public sealed record SentEvent(string Type, int? PartialImageIndex, long Timestamp);

    private int _cancelledStreams;
    private (int AfterPartials, StreamBreak How)? _streamBreak;

    /// <summary>Waits this long before each event (and so between them), so a test can disconnect mid-stream.</summary>
    public TimeSpan EventDelay { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Awaited before a stream breaks: a drop resets the connection, and a reset discards what the client has not read yet.</summary>
    public Func<Task>? BeforeBreak { get; set; }

    /// <summary>Streams whose client went away before the last event was written.</summary>
    public int CancelledStreams => Volatile.Read(ref _cancelledStreams);

    /// <summary>Every event written, in order, over all streams.</summary>
    public ConcurrentQueue<SentEvent> SentEvents { get; } = new();

    /// <summary>From now on every stream sends <paramref name="partials"/> partial events, then breaks as <paramref name="how"/> says (None: streams whole again).</summary>
    public void FailAfterPartials(int partials, StreamBreak how = StreamBreak.ServerError) =>
        _streamBreak = how == StreamBreak.None ? null : (partials, how);

    /// <summary>Waits until at least <paramref name="count"/> streams were cancelled by their client; false if that takes longer than <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForCancelledStreamsAsync(int count, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (CancelledStreams < count)
        {
            if (clock.Elapsed > timeout) return false;
            await Task.Delay(10);
        }
        return true;
    }

    private async Task StreamAsync(HttpContext http, GenerationRequest request)
    {
        var prefix = request.IsEdit ? "image_edit" : "image_generation";
        var ct = http.RequestAborted;
        var script = _streamBreak;
        var partialsSent = 0;
        http.Response.StatusCode = 200;
        http.Response.ContentType = "text/event-stream; charset=utf-8";
        http.Response.Headers.CacheControl = "no-cache";
        try
        {
            await http.Response.StartAsync(ct);
            await http.Response.Body.FlushAsync(ct);
            var usages = SplitUsage(UsageOverride ?? request.Usage, request.N);
            for (var image = 0; image < request.N; image++)
            {
                for (var index = 0; index < request.PartialImages; index++)
                {
                    if (script is { } s && partialsSent == s.AfterPartials)
                    {
                        await BreakAsync(http, s.How, prefix);
                        return;
                    }
                    await Task.Delay(EventDelay, ct);
                    var partial = Event(request, $"{prefix}.partial_image", Render(request, index));
                    partial["partial_image_index"] = index;
                    await WriteEventAsync(http, partial, index, ct);
                    partialsSent++;
                }
                if (script is { } last && partialsSent == last.AfterPartials)
                {
                    await BreakAsync(http, last.How, prefix);
                    return;
                }
                await Task.Delay(EventDelay, ct);
                var completed = Event(request, $"{prefix}.completed", Render(request));
                if (!OmitUsage) completed["usage"] = UsageJson(usages[image]);
                await WriteEventAsync(http, completed, null, ct);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException && http.RequestAborted.IsCancellationRequested)
        {
            Interlocked.Increment(ref _cancelledStreams);
        }
    }

    private static JsonObject Event(GenerationRequest request, string type, byte[] image) => new()
    {
        ["type"] = type,
        ["b64_json"] = Convert.ToBase64String(image),
        ["created_at"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
        ["size"] = $"{request.Width}x{request.Height}",
        ["quality"] = request.Quality,
        ["background"] = request.Background,
        ["output_format"] = request.OutputFormat,
    };

    private async Task WriteEventAsync(HttpContext http, JsonObject data, int? partialIndex, CancellationToken ct)
    {
        var type = data["type"]!.GetValue<string>();
        await http.Response.WriteAsync($"event: {type}\ndata: {data.ToJsonString()}\n\n", ct);
        await http.Response.Body.FlushAsync(ct);
        SentEvents.Enqueue(new SentEvent(type, partialIndex, Stopwatch.GetTimestamp()));
    }

    /// <summary>
    /// An error event carries OpenAI's error object both ways the SDK looks for it: the event is
    /// named <c>error</c>, and its data has an <c>error</c> member. A drop cuts the connection
    /// after half an event.
    /// </summary>
    private async Task BreakAsync(HttpContext http, StreamBreak how, string prefix)
    {
        var ct = http.RequestAborted;
        await Task.Delay(EventDelay, ct);
        if (BeforeBreak is { } wait) await wait();
        if (how == StreamBreak.Drop)
        {
            await http.Response.WriteAsync($"event: {prefix}.partial_image\ndata: {{\"type\":\"{prefix}.partial_im", ct);
            await http.Response.Body.FlushAsync(ct);
            SentEvents.Enqueue(new SentEvent("(dropped)", null, Stopwatch.GetTimestamp()));
            http.Abort();
            return;
        }
        var body = JsonNode.Parse(how == StreamBreak.ModerationBlocked ? ModerationBlockedBody : ServerErrorBody)!.AsObject();
        var error = new JsonObject { ["type"] = "error", ["error"] = body["error"]!.DeepClone() };
        await http.Response.WriteAsync($"event: error\ndata: {error.ToJsonString()}\n\n", ct);
        await http.Response.Body.FlushAsync(ct);
        SentEvents.Enqueue(new SentEvent("error", null, Stopwatch.GetTimestamp()));
    }

    /// <summary>The request's usage over its n completed events: input tokens on the first, output tokens shared out (the remainder on the first).</summary>
    private static ImageUsage[] SplitUsage(ImageUsage usage, int n)
    {
        var parts = new ImageUsage[n];
        var share = usage.OutputTokens / n;
        for (var i = 0; i < n; i++)
            parts[i] = i == 0
                ? usage with { OutputTokens = usage.OutputTokens - share * (n - 1) }
                : new ImageUsage(0, 0, share);
        return parts;
    }
}
