using System.Net;

namespace ImageGateway.Bench;

/// <summary>
/// The least an ASP.NET Core gateway can do for scenario (b): Kestrel takes the POST, one shared
/// HttpClient sends it on to the upstream, the answer is read whole and written back. No key
/// check, validation, rate limit, ledger, JSON parsing or logging. Measured beside the gateway it
/// shows how much of the gateway's cost per request is the framework's HTTP in and out, which no
/// change to the gateway's own code can remove. Scenario (f) of the benchmark; not part of any goal.
/// </summary>
public static class FloorProxy
{
    public static async Task<int> RunAsync(int port, Uri upstream)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, AutomaticDecompression = DecompressionMethods.None })
        {
            BaseAddress = new Uri(upstream.ToString().TrimEnd('/') + "/"),
        };

        app.MapGet("/", () => "floor proxy");
        app.MapPost("/v1/images/generations", async (HttpContext http) =>
        {
            var length = (int)(http.Request.ContentLength ?? 0);
            var body = new byte[length];
            await http.Request.Body.ReadExactlyAsync(body);
            using var request = new HttpRequestMessage(HttpMethod.Post, "images/generations") { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new("application/json");
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer sk-floor");
            using var answer = await client.SendAsync(request, http.RequestAborted);
            var bytes = await answer.Content.ReadAsByteArrayAsync(http.RequestAborted);
            http.Response.StatusCode = (int)answer.StatusCode;
            http.Response.ContentType = "application/json";
            http.Response.ContentLength = bytes.Length;
            await http.Response.Body.WriteAsync(bytes, http.RequestAborted);
        });

        await app.StartAsync();
        Console.WriteLine($"floor proxy on http://127.0.0.1:{port} → {upstream}");
        await app.WaitForShutdownAsync();
        return 0;
    }
}
