using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using ImageGateway.Providers.Builtin;
using ImageGateway.Tests.Support;
using Microsoft.AspNetCore.Http;

namespace ImageGateway.IntegrationTests.Support;

/// <summary>
/// A local stand-in for OpenAI's Images API (<c>POST /v1/images/generations</c>) on a loopback port.
/// GPT-image models (and every name that is not dall-e) are answered by <see cref="FakeGptImage"/>,
/// exactly as OpenAI answers them today; <see cref="GptImage"/> scripts its failures and usage. The
/// dall-e names keep the dall-e-3 answer (one plain-base64 PNG with a <c>revised_prompt</c>) while
/// the gateway's default routes still send dall-e upstream. Every call is recorded so tests can see
/// what the gateway sent. The server is the fast suite's <see cref="FakeUpstream"/>; this class is
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
        if (body["model"] is not JsonValue model || model.GetValueKind() != System.Text.Json.JsonValueKind.String
            || !model.GetValue<string>().StartsWith("dall-e", StringComparison.Ordinal))
        {
            await GptImage.AnswerAsync(http, request);
            return;
        }
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

    private static JsonObject? ParseObject(byte[] body)
    {
        try { return JsonNode.Parse(body) as JsonObject; }
        catch (System.Text.Json.JsonException) { return null; }
    }

    public ValueTask DisposeAsync() => _host.DisposeAsync();
}
