using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using ImageGateway.IntegrationTests.Support;

namespace ImageGateway.IntegrationTests.Observability;

/// <summary>/metrics of a gateway process of its own, so no other test's traffic is counted.</summary>
public sealed class MetricsTests
{
    private static double Sample(string metrics, string name, params string[] labels)
    {
        var line = metrics.Split('\n').FirstOrDefault(l => l.StartsWith(name + "{", StringComparison.Ordinal)
            && labels.All(label => l.Contains(label, StringComparison.Ordinal)));
        Assert.True(line is not null, $"no sample {name} with {string.Join(",", labels)}:\n{string.Join('\n', metrics.Split('\n').Where(l => l.StartsWith(name)))}");
        return double.Parse(Regex.Match(line!, @"\}\s+(\S+)").Groups[1].Value, CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Metrics_count_requests_images_credits_and_rejections_exactly()
    {
        await using var gateway = await GatewayProcess.StartAsync();
        var (_, managed) = await gateway.CreateUserAsync("managed", 100m);
        var (_, free) = await gateway.CreateUserAsync("free", 100m);
        using var client = gateway.Client(managed);
        using var freeClient = gateway.Client(free);
        await MinuteWindow.EnsureLeftAsync(TimeSpan.FromSeconds(20));   // the free user's third request must meet the same minute
        for (var i = 0; i < 3; i++)
            Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/v1/images/generations",
                new { prompt = "a boat", model = "builtin-preview", n = 2, size = "256x256", response_format = "b64_json" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/v1/images/generations",
            new { prompt = "a boat", model = "builtin-preview", size = "256x256" })).StatusCode); // url: stored
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.PostAsJsonAsync("/v1/images/generations", new { prompt = "x", model = "dall-e-3" })).StatusCode);
        for (var i = 0; i < 3; i++)
            await freeClient.PostAsJsonAsync("/v1/images/generations", new { prompt = "x", model = "builtin-preview", size = "256x256", response_format = "b64_json" });

        var metrics = await gateway.Client().GetStringAsync("/metrics");

        // 4 from the managed user, 2 from the free user before its per-minute limit (2 images).
        Assert.Equal(6, Sample(metrics, "imagegateway_generate_requests_total", "model=\"builtin-preview\"", "provider=\"builtin\"", "status=\"200\"", "byok=\"false\""));
        Assert.Equal(1, Sample(metrics, "imagegateway_generate_requests_total", "model=\"dall-e-3\"", "status=\"503\""));
        Assert.Equal(1, Sample(metrics, "imagegateway_generate_requests_total", "status=\"429\""));
        Assert.Equal(9, Sample(metrics, "imagegateway_images_generated_total", "model=\"builtin-preview\""));
        Assert.Equal(8400, Sample(metrics, "imagegateway_credits_charged_total", "tier=\"managed\"")); // millicredits
        Assert.Equal(3000, Sample(metrics, "imagegateway_credits_charged_total", "tier=\"free\""));
        Assert.Equal(1, Sample(metrics, "imagegateway_ratelimit_rejections_total", "tier=\"free\"", "reason=\"window\""));
        Assert.Equal(0, Sample(metrics, "imagegateway_reservations_open"));
        // Each delivered request wrote its reserve and its settle; one SQLite commit may carry several writes.
        var writes = Sample(metrics, "imagegateway_db_writes_total");
        var commits = Sample(metrics, "imagegateway_db_commits_total");
        Assert.True(writes >= 2 * 6, $"{writes} writes");
        Assert.InRange(commits, 1, writes);
        Assert.True(Sample(metrics, "imagegateway_storage_written_bytes_total") > 1000);
        Assert.Equal(7, Sample(metrics, "imagegateway_generate_duration_seconds_count", "part=\"gateway\"", "model=\"builtin-preview\"")); // + the 429
        Assert.Equal(6, Sample(metrics, "imagegateway_generate_duration_seconds_count", "part=\"upstream\"", "model=\"builtin-preview\""));
        Assert.Equal(0, Sample(metrics, "imagegateway_provider_circuit_state", "provider=\"openai\""));
        // The framework's request durations are exported; its per-request counters that cost more than they tell are not.
        Assert.True(Sample(metrics, "http_server_request_duration_seconds_count", "http_route=\"/v1/images/generations\"", "http_response_status_code=\"200\"") >= 6);
        // The runtime's own meter: collections happened while the gateway started and served these requests.
        Assert.True(Sample(metrics, "dotnet_gc_heap_total_allocated_bytes_total") > 1_000_000);
        Assert.Contains("dotnet_gc_pause_time_seconds_total{", metrics);
        Assert.DoesNotContain("aspnetcore_routing_match_attempts", metrics);
        Assert.DoesNotContain("aspnetcore_memory_pool", metrics);
        Assert.DoesNotContain("http_server_active_requests", metrics);
    }
}
