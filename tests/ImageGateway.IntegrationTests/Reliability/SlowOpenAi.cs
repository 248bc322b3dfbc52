using System.Text.Json.Nodes;
using ImageGateway.Providers.Builtin;
using ImageGateway.Tests.Support;
using Microsoft.AspNetCore.Http;

namespace ImageGateway.IntegrationTests.Reliability;

/// <summary>
/// An OpenAI Images API stand-in that answers the first <see cref="AnswerFirst"/> calls at once and
/// then holds every later call open (until the caller goes away or <see cref="Release"/>), so a test can keep generations in
/// flight for as long as it likes and count how many are waiting. The server is the fast suite's
/// <see cref="FakeUpstream"/>; this class is only its answer.
/// </summary>
public sealed class SlowOpenAi : IAsyncDisposable
{
    private readonly FakeUpstream _host;
    private readonly SemaphoreSlim _release = new(0);
    private int _calls;
    private int _stalled;

    private SlowOpenAi(FakeUpstream host)
    {
        _host = host;
        BaseUrl = new Uri(host.BaseUrl + "/v1");
    }

    public Uri BaseUrl { get; }
    public int AnswerFirst { get; set; }
    public int Stalled => Volatile.Read(ref _stalled);

    public static async Task<SlowOpenAi> StartAsync(int answerFirst)
    {
        var self = new SlowOpenAi(await FakeUpstream.StartAsync()) { AnswerFirst = answerFirst };
        self._host.Handler = self.AnswerAsync;
        return self;
    }

    private async Task AnswerAsync(HttpContext http, RecordedRequest request)
    {
        if (!FakeUpstream.IsPost(http, "/v1/images/generations"))
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        var body = JsonNode.Parse(request.Body)!.AsObject();
        if (Interlocked.Increment(ref _calls) > AnswerFirst)
        {
            Interlocked.Increment(ref _stalled);
            try { await _release.WaitAsync(http.RequestAborted); }
            catch (OperationCanceledException) { return; }
        }
        var png = BuiltinRenderer.RenderPng(body["prompt"]?.GetValue<string>() ?? "", 128, 128, seed: 7);
        await FakeUpstream.Json(http, StatusCodes.Status200OK, new JsonObject
        {
            ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["data"] = new JsonArray(new JsonObject { ["b64_json"] = Convert.ToBase64String(png) }),
        }.ToJsonString());
    }

    /// <summary>Lets <paramref name="count"/> of the held calls answer.</summary>
    public void Release(int count) => _release.Release(count);

    public ValueTask DisposeAsync() => _host.DisposeAsync();
}
