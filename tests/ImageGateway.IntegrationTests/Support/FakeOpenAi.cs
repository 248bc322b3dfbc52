using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using ImageGateway.Tests.Support;
using Microsoft.AspNetCore.Http;

namespace ImageGateway.IntegrationTests.Support;

/// <summary>
/// A local stand-in for OpenAI's Images API (<c>POST /v1/images/generations</c>) on a loopback port.
/// It answers as OpenAI does today (<see cref="FakeGptImage"/>): gpt-image-2 makes images, the
/// shut-down names (dall-e-3, gpt-image-1, ...) are models that do not exist; <see cref="GptImage"/>
/// scripts failures and usage. Every call is recorded so tests can see what the gateway sent. The server is the fast suite's <see cref="FakeUpstream"/>; this class is
/// only its answer.
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

    /// <summary>The answer for GPT-image models: switch failures, delays and usage here.</summary>
    public FakeGptImage GptImage { get; } = new();

    public static async Task<FakeOpenAi> StartAsync()
    {
        var self = new FakeOpenAi(await FakeUpstream.StartAsync());
        self._host.Handler = self.AnswerAsync;
        return self;
    }

    private async Task AnswerAsync(HttpContext http, RecordedRequest request)
    {
        if (!FakeGptImage.IsGenerationsPath(http) || ParseObject(request.Body) is not { } body)
        {
            // FakeGptImage answers these as OpenAI does (404 Invalid URL, 400 unparsable JSON).
            await GptImage.AnswerAsync(http, request);
            return;
        }
        Calls.Enqueue(new Call(http.Request.Headers.Authorization.ToString(), body));
        await GptImage.AnswerAsync(http, request);
    }

    private static JsonObject? ParseObject(byte[] body)
    {
        try { return JsonNode.Parse(body) as JsonObject; }
        catch (System.Text.Json.JsonException) { return null; }
    }

    public ValueTask DisposeAsync() => _host.DisposeAsync();
}
