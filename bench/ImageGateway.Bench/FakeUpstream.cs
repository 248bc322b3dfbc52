using System.Net;
using System.Text;
using System.Text.Json;
using ImageGateway.Providers.Builtin;

namespace ImageGateway.Bench;

/// <summary>
/// A fake OpenAI Images API that costs as little as possible per call, so that what the benchmark
/// measures is the gateway (or Portkey) in front of it: every response body is built once at
/// start-up, and a request only parses its small JSON body to read <c>n</c>.
/// </summary>
public static class FakeUpstream
{
    public const int MaxN = 10;
    public const int ImageSide = 1024;

    /// <param name="latency">How long each answer waits (realistic mode: an upstream takes seconds), ± <paramref name="jitter"/>.</param>
    /// <param name="photo">Answer a photographic-size PNG (about 1.8 MB) instead of the 40 KB one.</param>
    public static async Task<int> RunAsync(int port, TimeSpan latency = default, TimeSpan jitter = default, bool photo = false)
    {
        var png = photo ? PhotoPng() : Png();
        var b64 = Convert.ToBase64String(png);
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var bodies = Enumerable.Range(0, MaxN + 1).Select(n => n == 0 ? [] : ImagesBody(created, b64, n)).ToArray();
        var models = Encoding.UTF8.GetBytes($$"""{"object":"list","data":[{"id":"dall-e-3","object":"model","created":{{created}},"owned_by":"openai"}]}""");
        var badN = Encoding.UTF8.GetBytes($$$"""{"error":{"message":"n must be between 1 and {{{MaxN}}}","type":"invalid_request_error","param":"n","code":null}}""");
        var noKey = Encoding.UTF8.GetBytes("""{"error":{"message":"Missing bearer key","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}""");

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        var app = builder.Build();

        app.MapPost("/v1/images/generations", async (HttpContext http) =>
        {
            // A missing key is answered like OpenAI does, so a proxy that drops it is caught by the pre-flight check.
            if (!http.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.Ordinal))
            {
                await Write(http, 401, noKey);
                return;
            }
            int n;
            try
            {
                using var json = await JsonDocument.ParseAsync(http.Request.Body);
                n = json.RootElement.TryGetProperty("n", out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt32() : 1;
            }
            catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
            {
                n = -1;
            }
            if (latency > TimeSpan.Zero)
            {
                var wait = latency + TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * 2 * jitter.TotalMilliseconds - jitter.TotalMilliseconds);
                try { await Task.Delay(wait, http.RequestAborted); }
                catch (OperationCanceledException) { return; }
            }
            await (n is >= 1 and <= MaxN ? Write(http, 200, bodies[n]) : Write(http, 400, badN));
        });
        app.MapGet("/v1/models", (HttpContext http) => Write(http, 200, models));

        await app.StartAsync();
        Console.WriteLine($"fake upstream on http://127.0.0.1:{port}/v1, image {png.Length} bytes PNG ({b64.Length} base64)");
        await app.WaitForShutdownAsync();
        return 0;
    }

    private static Task Write(HttpContext http, int status, byte[] body)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        http.Response.ContentLength = body.Length;
        return http.Response.Body.WriteAsync(body).AsTask();
    }

    private static byte[] ImagesBody(long created, string b64, int n)
    {
        var item = $$"""{"b64_json":"{{b64}}","revised_prompt":"A lighthouse on a cliff at dusk, warm light over a calm sea."}""";
        return Encoding.UTF8.GetBytes($$"""{"created":{{created}},"data":[{{string.Join(",", Enumerable.Repeat(item, n))}}]}""");
    }

    /// <summary>
    /// A 1024x1024 PNG the size of a generated photograph (about 1.8 MB, 2.4 MB as base64): grain
    /// of amplitude 18 on every row keeps the encoder from compressing it below that. Built once.
    /// </summary>
    public static byte[] PhotoPng()
    {
        var rgba = new byte[ImageSide * ImageSide * 4];
        var random = new Random(20261203);
        for (var i = 0; i < rgba.Length; i += 4)
        {
            var (x, y) = (i / 4 % ImageSide, i / 4 / ImageSide);
            rgba[i] = (byte)(x / 5 + random.Next(18));
            rgba[i + 1] = (byte)(y / 5 + random.Next(18));
            rgba[i + 2] = (byte)(96 + random.Next(18));
            rgba[i + 3] = 255;
        }
        return BuiltinRenderer.EncodePng(rgba, ImageSide, ImageSide);
    }

    /// <summary>
    /// A real 1024x1024 PNG of about 40 KB, the same every run: a smooth gradient compresses to almost
    /// nothing, so a band of pseudo-random noise rows sets the size (each row adds ~1 KB; the
    /// band height was tuned by measuring).
    /// </summary>
    public static byte[] Png()
    {
        const int noiseRows = 23;
        var rgba = new byte[ImageSide * ImageSide * 4];
        var random = new Random(20260401);
        for (var y = 0; y < ImageSide; y++)
        {
            var noisy = y >= 480 && y < 480 + noiseRows;
            for (var x = 0; x < ImageSide; x++)
            {
                var i = (y * ImageSide + x) * 4;
                // Low-amplitude noise (0..15) on top of the gradient: it looks like film grain and
                // compresses to about a third of a byte per channel.
                var grain = noisy ? random.Next(16) : 0;
                rgba[i] = (byte)(x / 4 + grain);
                rgba[i + 1] = (byte)(y / 4 + grain);
                rgba[i + 2] = (byte)(128 + grain);
                rgba[i + 3] = 255;
            }
        }
        return BuiltinRenderer.EncodePng(rgba, ImageSide, ImageSide);
    }
}
