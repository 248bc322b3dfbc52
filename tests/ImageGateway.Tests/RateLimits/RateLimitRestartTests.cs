using System.Net;
using System.Net.Http.Json;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.RateLimits;

/// <summary>
/// Issue 23, finding 9a: in the embedded mode the image windows live in process memory, so a
/// restart used to hand out fresh ones (a free user got 6 images in a minute across two restarts).
/// They are restored at start from the images the database says were delivered.
/// </summary>
public sealed class RateLimitRestartTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "igw-tests", Guid.NewGuid().ToString("N"));
    private readonly List<GatewayFactory> _started = [];

    // A factory deletes its data folder when disposed, so each "restart" is a new factory on the
    // same folder and all are disposed at the end (the last one removes the folder).
    public void Dispose()
    {
        foreach (var gateway in _started) gateway.Dispose();
    }

    private GatewayFactory Start(DateTimeOffset now)
    {
        var gateway = new GatewayFactory { DataDirectory = _data };
        _started.Add(gateway);
        gateway.Settings["Gateway:Database:Provider"] = "sqlite";
        gateway.Time.SetUtcNow(now);
        return gateway;
    }

    private static object Builtin => new { prompt = "a kite", model = "builtin-preview", response_format = "b64_json", size = "256x256" };

    [Fact]
    public async Task A_restart_keeps_the_minute_window_and_the_next_minute_frees_it()
    {
        var at = new DateTimeOffset(2026, 11, 23, 12, 0, 10, TimeSpan.Zero);
        var first = Start(at);
        var (_, key) = await first.CreateUserAsync("free", 100m); // 2 images a minute
        using var before = first.ClientWithKey(key);
        for (var i = 0; i < 2; i++)
            Assert.Equal(HttpStatusCode.OK, (await before.PostAsJsonAsync("/api/v1/llm/images/generations", Builtin)).StatusCode);

        using var restarted = Start(at.AddSeconds(20)).ClientWithKey(key);
        var refused = await restarted.PostAsJsonAsync("/api/v1/llm/images/generations", Builtin);

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(30), refused.Headers.RetryAfter?.Delta);

        // Next minute: the minute window is free again (the hour, still counting 2, allows more).
        using var nextMinute = Start(at.AddSeconds(55)).ClientWithKey(key);
        Assert.Equal(HttpStatusCode.OK, (await nextMinute.PostAsJsonAsync("/api/v1/llm/images/generations", Builtin)).StatusCode);
    }
}
