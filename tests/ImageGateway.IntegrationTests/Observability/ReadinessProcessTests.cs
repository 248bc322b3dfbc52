using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using ImageGateway.IntegrationTests.Support;

namespace ImageGateway.IntegrationTests.Observability;

/// <summary>/readyz follows a real Redis server going away under a running gateway process.</summary>
public sealed class ReadinessProcessTests
{
    [SkippableFact]
    public async Task Readyz_turns_unhealthy_naming_redis_when_the_redis_server_stops()
    {
        _ = TestServices.Redis; // skips (or fails as root) when the test script could not provide Redis
        var port = FreePort();
        using var redis = Process.Start(new ProcessStartInfo("redis-server",
            $"--bind 127.0.0.1 --port {port} --save \"\" --appendonly no") { RedirectStandardOutput = true, UseShellExecute = false })!;
        await WaitForPortAsync(port);
        try
        {
            await using var gateway = await GatewayProcess.StartAsync(new Dictionary<string, string>
            {
                ["Gateway__RateLimits__Store"] = "redis",
                ["Gateway__Redis__Configuration"] = $"127.0.0.1:{port},abortConnect=false,connectTimeout=1000,syncTimeout=1000",
            });
            using var client = gateway.Client();
            var ready = await client.GetAsync("/readyz");
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            Assert.Equal("ok", Check(await ready.Content.ReadAsStringAsync(), "redis"));

            redis.Kill();
            await redis.WaitForExitAsync();

            var failing = await client.GetAsync("/readyz");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, failing.StatusCode);
            var body = await failing.Content.ReadAsStringAsync();
            Assert.NotEqual("ok", Check(body, "redis"));
            Assert.Equal("ok", Check(body, "database"));
        }
        finally
        {
            if (!redis.HasExited) redis.Kill();
        }
    }

    private static string? Check(string report, string name) =>
        JsonDocument.Parse(report).RootElement.GetProperty("checks").GetProperty(name).GetProperty("status").GetString();

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task WaitForPortAsync(int port)
    {
        for (var i = 0; i < 100; i++)
        {
            try
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) { await Task.Delay(50); }
        }
        throw new TimeoutException($"redis-server did not listen on {port}");
    }
}
