using System.Text.Json.Nodes;
using ImageGateway.Providers.Builtin;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ImageGateway.IntegrationTests.Reliability;

/// <summary>
/// An OpenAI Images API stand-in that answers the first <see cref="AnswerFirst"/> calls at once and
/// then holds every later call open (until the caller goes away), so a test can keep generations in
/// flight for as long as it likes and count how many are waiting.
/// </summary>
public sealed class SlowOpenAi : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _calls;
    private int _stalled;

    private SlowOpenAi(WebApplication app) => _app = app;

    public Uri BaseUrl { get; private set; } = null!;
    public int AnswerFirst { get; set; }
    public int Stalled => Volatile.Read(ref _stalled);

    public static async Task<SlowOpenAi> StartAsync(int answerFirst)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var self = new SlowOpenAi(app) { AnswerFirst = answerFirst };
        app.MapPost("/v1/images/generations", async (HttpContext http) =>
        {
            var body = (await JsonNode.ParseAsync(http.Request.Body))!.AsObject();
            if (Interlocked.Increment(ref self._calls) > self.AnswerFirst)
            {
                Interlocked.Increment(ref self._stalled);
                try { await Task.Delay(Timeout.Infinite, http.RequestAborted); }
                catch (OperationCanceledException) { }
                return;
            }
            var png = BuiltinRenderer.RenderPng(body["prompt"]?.GetValue<string>() ?? "", 128, 128, seed: 7);
            http.Response.ContentType = "application/json";
            await http.Response.WriteAsync(new JsonObject
            {
                ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
                ["data"] = new JsonArray(new JsonObject { ["b64_json"] = Convert.ToBase64String(png) }),
            }.ToJsonString());
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        self.BaseUrl = new Uri(address.TrimEnd('/') + "/v1");
        return self;
    }

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await _app.StopAsync(cts.Token);
        await _app.DisposeAsync();
    }
}
