using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ImageGateway.Tests.Support;

/// <summary>A request as the fake upstream received it.</summary>
public sealed record RecordedRequest(string Method, string Path, string? Authorization, string? ContentType, string? Accept,
    byte[] Body, IReadOnlyDictionary<string, string> Headers)
{
    public string BodyText => System.Text.Encoding.UTF8.GetString(Body);

    /// <summary>
    /// The body came with its Content-Length, not chunked: cheaper for both ends, and some
    /// OpenAI-compatible servers and proxies refuse chunked request bodies.
    /// </summary>
    public void AssertSentWithLength()
    {
        Assert.False(Headers.ContainsKey("Transfer-Encoding"), $"Transfer-Encoding: {Headers.GetValueOrDefault("Transfer-Encoding")}");
        Assert.Equal(Body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), Headers.GetValueOrDefault("Content-Length"));
    }
}

/// <summary>
/// A real HTTP server on a loopback port that plays an upstream provider. Each test sets
/// <see cref="Handler"/> to answer in that provider's exact wire format (or to stall, drop the
/// connection, or send garbage); every request is recorded, headers and body included.
/// The one fake upstream server of both test projects: the integration project's OpenAI stand-ins
/// (FakeOpenAi, SlowOpenAi) are handlers on it. (bench/ keeps its own: there the fake upstream is
/// a separate process on a fixed port, tuned to cost nothing per call.)
/// </summary>
public sealed class FakeUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeUpstream(WebApplication app) => _app = app;

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    /// <summary>Answers a request. The recorded request is passed along with the live context.</summary>
    public Func<HttpContext, RecordedRequest, Task> Handler { get; set; } = (ctx, _) =>
    {
        ctx.Response.StatusCode = 500;
        return Task.CompletedTask;
    };

    public string BaseUrl { get; private set; } = "";

    public int Count => Requests.Count;

    public static async Task<FakeUpstream> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var fake = new FakeUpstream(app);
        app.Run(async context =>
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer);
            var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
            var recorded = new RecordedRequest(context.Request.Method, context.Request.Path + context.Request.QueryString,
                headers.GetValueOrDefault("Authorization"), context.Request.ContentType, headers.GetValueOrDefault("Accept"),
                buffer.ToArray(), headers);
            fake.Requests.Enqueue(recorded);
            await fake.Handler(context, recorded);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        fake.BaseUrl = address.TrimEnd('/');
        return fake;
    }

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await _app.StopAsync(cts.Token);
        await _app.DisposeAsync();
    }

    /// <summary>A small real PNG (from the gateway's own renderer) for success bodies.</summary>
    public static byte[] Png(int size = 64, long seed = 1) =>
        ImageGateway.Providers.Builtin.BuiltinRenderer.RenderPng("fake upstream", size, size, seed);

    /// <summary>Whether the request is a POST to <paramref name="path"/>, matched as routing would (any case, any query).</summary>
    public static bool IsPost(HttpContext context, string path) =>
        HttpMethods.IsPost(context.Request.Method) && context.Request.Path.Equals(path, StringComparison.OrdinalIgnoreCase);

    public static Task Json(HttpContext context, int status, string json)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(json);
    }
}
