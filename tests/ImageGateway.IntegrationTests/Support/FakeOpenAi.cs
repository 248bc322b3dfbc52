using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using ImageGateway.Providers.Builtin;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ImageGateway.IntegrationTests.Support;

/// <summary>
/// A local stand-in for OpenAI's Images API (<c>POST /v1/images/generations</c>) on a loopback port,
/// answering what OpenAI answers for dall-e-3: one image per call as plain base64 of a real PNG, with
/// a <c>revised_prompt</c>. It records every call so tests can see what the gateway sent upstream.
/// </summary>
public sealed class FakeOpenAi : IAsyncDisposable
{
    public sealed record Call(string? Authorization, JsonObject Body);

    private readonly WebApplication _app;

    private FakeOpenAi(WebApplication app, Uri baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    /// <summary>The value for <c>Gateway__Providers__openai__BaseUrl</c>.</summary>
    public Uri BaseUrl { get; }

    public ConcurrentQueue<Call> Calls { get; } = new();

    public static async Task<FakeOpenAi> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        FakeOpenAi? self = null;
        app.MapPost("/v1/images/generations", async (HttpContext http) =>
        {
            var body = (await JsonNode.ParseAsync(http.Request.Body))!.AsObject();
            self!.Calls.Enqueue(new Call(http.Request.Headers.Authorization.ToString(), body));
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
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync(response.ToJsonString());
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        self = new FakeOpenAi(app, new Uri(address.TrimEnd('/') + "/v1"));
        return self;
    }

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await _app.StopAsync(cts.Token);
        await _app.DisposeAsync();
    }
}
