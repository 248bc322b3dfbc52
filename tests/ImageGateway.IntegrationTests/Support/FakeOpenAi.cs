using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using ImageGateway.Providers.Builtin;
using ImageGateway.Tests.Support;
using Microsoft.AspNetCore.Http;

namespace ImageGateway.IntegrationTests.Support;

/// <summary>
/// A local stand-in for OpenAI's Images API (<c>POST /v1/images/generations</c>) on a loopback port,
/// answering what OpenAI answers for dall-e-3: one image per call as plain base64 of a real PNG, with
/// a <c>revised_prompt</c>. It records every call so tests can see what the gateway sent upstream.
/// The server is the fast suite's <see cref="FakeUpstream"/>; this class is only its answer.
/// </summary>
public sealed class FakeOpenAi : IAsyncDisposable
{
    public sealed record Call(string? Authorization, JsonObject Body);

    private readonly FakeUpstream _host;

    private FakeOpenAi(FakeUpstream host)
    {
        _host = host;
        BaseUrl = new Uri(host.BaseUrl + "/v1");
    }

    /// <summary>The value for <c>Gateway__Providers__openai__BaseUrl</c>.</summary>
    public Uri BaseUrl { get; }

    public ConcurrentQueue<Call> Calls { get; } = new();

    public static async Task<FakeOpenAi> StartAsync()
    {
        var self = new FakeOpenAi(await FakeUpstream.StartAsync());
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
        Calls.Enqueue(new Call(http.Request.Headers.Authorization.ToString(), body));
        var prompt = body["prompt"]?.GetValue<string>() ?? "";
        var size = (body["size"]?.GetValue<string>() ?? "1024x1024").Split('x');
        // A real PNG, small so the suite stays fast; the gateway passes the bytes through.
        var png = BuiltinRenderer.RenderPng(prompt, int.Parse(size[0]) / 8, int.Parse(size[1]) / 8, seed: 1);
        var response = new JsonObject
        {
            ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["data"] = new JsonArray(new JsonObject
            {
                ["b64_json"] = Convert.ToBase64String(png),
                ["revised_prompt"] = "Revised: " + prompt,
            }),
        };
        await FakeUpstream.Json(http, StatusCodes.Status200OK, response.ToJsonString());
    }

    public ValueTask DisposeAsync() => _host.DisposeAsync();
}
