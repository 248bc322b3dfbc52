using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ImageGateway.IntegrationTests.Support;
using OpenAI;
using OpenAI.Images;

namespace ImageGateway.IntegrationTests.Compat;

/// <summary>
/// The gateway's own per-minute limit (free tier: 2 images a minute) against both official SDKs.
/// The windows are calendar minutes, so Retry-After is the time to the next minute: the retry test
/// waits for it once, with both SDKs at the same time, in its own gateway process so the
/// request count read from the gateway's log belongs to it alone.
/// </summary>
public sealed class RateLimitRetryTests(CompatGateway fixture) : IClassFixture<CompatGateway>
{
    private GatewayProcess Gateway => fixture.Gateway;

    [SkippableFact]
    public async Task A_per_minute_429_is_retried_after_Retry_After_by_both_sdks_and_then_succeeds()
    {
        _ = TestServices.NodeModules;
        // Exhausting the window and the SDK's first call must fall in the same minute.
        await MinuteWindow.EnsureLeftAsync(TimeSpan.FromSeconds(15));

        await Task.WhenAll(NodeRetriesAsync(), DotnetRetriesAsync());
    }

    private async Task NodeRetriesAsync()
    {
        const string path = "/v1/images/generations";
        var before = await fixture.FinishedPostsWhenQuietAsync(path);
        var key = await ExhaustedFreeUserAsync(path);

        var outcome = await NodeOpenAi.GenerateAsync(new Uri(Gateway.BaseUrl, "/v1"), key,
            new { model = "builtin-preview", prompt = "node retry", size = "256x256", response_format = "b64_json" });

        Assert.True(outcome.GetProperty("ok").GetBoolean(), outcome.ToString());
        var exchanges = NodeOpenAi.Exchanges(outcome);
        Assert.Equal([429, 200], exchanges.Select(e => e.GetProperty("status").GetInt32()));
        var refused = exchanges[0];
        OpenAiSchema.AssertError(refused.GetProperty("body").GetString()!, "rate_limit_error", "rate_limit_exceeded");
        var retryAfter = int.Parse(refused.GetProperty("headers").GetProperty("retry-after").GetString()!);
        Assert.InRange(retryAfter, 1, 60);
        Assert.Equal("0", refused.GetProperty("requestHeaders").GetProperty("x-stainless-retry-count").GetString());
        Assert.Equal("1", exchanges[1].GetProperty("requestHeaders").GetProperty("x-stainless-retry-count").GetString());
        var waited = exchanges[1].GetProperty("at").GetInt64() - refused.GetProperty("at").GetInt64();
        Assert.True(waited >= retryAfter * 1000 - 50, $"retried after {waited} ms although Retry-After was {retryAfter} s");
        OpenAiSchema.AssertImages(exchanges[1].GetProperty("body").GetString()!, "b64_json", count: 1);
        // At the gateway: the exhausting request, the refused call and the one retry.
        Assert.Equal(new Dictionary<int, int> { [200] = 2, [429] = 1 }, await fixture.PostsSinceAsync(path, before));
    }

    private async Task DotnetRetriesAsync()
    {
        const string path = "/api/v1/llm/images/generations";
        var before = await fixture.FinishedPostsWhenQuietAsync(path);
        var key = await ExhaustedFreeUserAsync(path);
        var wire = new RecordingHandler();
        var images = new ImageClient("builtin-preview", new ApiKeyCredential(key), new OpenAIClientOptions
        {
            Endpoint = new Uri(Gateway.BaseUrl, "/api/v1/llm"),
            Transport = new HttpClientPipelineTransport(new HttpClient(wire)),
        });

        ClientResult<GeneratedImage> result = await images.GenerateImageAsync("dotnet retry",
            new ImageGenerationOptions { Size = GeneratedImageSize.W256xH256, ResponseFormat = GeneratedImageFormat.Bytes });

        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, result.Value.ImageBytes.ToArray()[..4]);
        var exchanges = wire.Exchanges.ToArray();
        Assert.Equal([429, 200], exchanges.Select(e => e.Status));
        OpenAiSchema.AssertError(exchanges[0].ResponseBody, "rate_limit_error", "rate_limit_exceeded");
        var retryAfter = int.Parse(exchanges[0].ResponseHeaders["Retry-After"]);
        var waited = exchanges[1].At - exchanges[0].At;
        Assert.True(waited >= TimeSpan.FromSeconds(retryAfter) - TimeSpan.FromMilliseconds(50),
            $"retried after {waited.TotalMilliseconds} ms although Retry-After was {retryAfter} s");
        OpenAiSchema.AssertImages(exchanges[1].ResponseBody, "b64_json", count: 1);
        Assert.Equal(new Dictionary<int, int> { [200] = 2, [429] = 1 }, await fixture.PostsSinceAsync(path, before));
    }

    [SkippableFact]
    public async Task A_429_is_a_RateLimitError_for_npm_openai_and_carries_the_rate_limit_headers()
    {
        _ = TestServices.NodeModules;
        var (userId, key) = await Gateway.CreateUserAsync("free", 100m);
        await SetPerMinuteAsync(userId, 1);
        // Two images never fit a one-image minute: refused whatever the clock says.
        var outcome = await NodeOpenAi.GenerateAsync(new Uri(Gateway.BaseUrl, "/v1"), key,
            new { model = "builtin-preview", prompt = "two at once", n = 2 }, maxRetries: 0);

        Assert.False(outcome.GetProperty("ok").GetBoolean());
        var error = outcome.GetProperty("error");
        Assert.True(error.GetProperty("isRateLimitError").GetBoolean());
        Assert.Equal(429, error.GetProperty("status").GetInt32());
        Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
        var exchange = Assert.Single(NodeOpenAi.Exchanges(outcome));
        OpenAiSchema.AssertError(exchange.GetProperty("body").GetString()!, "rate_limit_error", "rate_limit_exceeded");
        var headers = exchange.GetProperty("headers");
        Assert.InRange(int.Parse(headers.GetProperty("retry-after").GetString()!), 1, 60);
        Assert.Equal("1", headers.GetProperty("x-ratelimit-limit").GetString());
        Assert.Equal(100m, await Gateway.CreditsAsync(key));
    }

    private async Task<string> ExhaustedFreeUserAsync(string path)
    {
        var (_, key) = await Gateway.CreateUserAsync("free", 100m);
        using var client = Gateway.Client(key);
        var response = await client.PostAsJsonAsync(path,
            new { model = "builtin-preview", prompt = "use up the minute", n = 2, size = "256x256", response_format = "b64_json" });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("0", response.Headers.GetValues("X-RateLimit-Remaining").Single());
        return key;
    }

    private async Task SetPerMinuteAsync(string userId, int perMinute)
    {
        using var admin = Gateway.Client(GatewayProcess.AdminKey);
        var response = await admin.PutAsJsonAsync($"/api/v1/admin/users/{userId}/limits", new { per_minute = perMinute });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(perMinute, json.RootElement.GetProperty("effective").GetProperty("per_minute").GetInt32());
    }
}
