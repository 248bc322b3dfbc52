using System.Net;
using ImageGateway.Tests.Support;
using Microsoft.AspNetCore.Http;

namespace ImageGateway.Tests.Byok;

/// <summary>
/// Issue 23, finding 1: a caller's own key can never take the platform's provider offline. The
/// fake is OpenAI's images API: the platform key gets images, the attacker's keys get OpenAI's
/// real refusals (429 <c>insufficient_quota</c>, or 500s), and the circuit breaker is set to open
/// after two failures in the window, so the old shared breaker opens on the attacker's first calls.
/// </summary>
public sealed class ByokIsolationTests : IAsyncLifetime
{
    private const string PlatformKey = "sk-platform-key-0000000000000000000000";
    private const string NoQuotaKey = "sk-proj-attacker-no-quota-22222222222222";
    private const string BrokenKey = "sk-proj-attacker-broken-3333333333333333";
    private const string NoQuota =
        """{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}""";
    private const string ServerError =
        """{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}""";

    private FakeUpstream _openai = null!;
    private GatewayFactory _gateway = null!;

    public async Task InitializeAsync()
    {
        _openai = await FakeUpstream.StartAsync();
        _openai.Handler = Answer;
        _gateway = new GatewayFactory();
        _gateway.Settings["Gateway:Providers:openai:BaseUrl"] = _openai.BaseUrl;
        _gateway.Settings["Gateway:Providers:openai:AllowByok"] = "true";
        _gateway.Settings["Gateway:Providers:openai:ApiKey"] = PlatformKey;
        _gateway.Settings["Gateway:Providers:openai:MaxRetries"] = "0";
        _gateway.Settings["Gateway:Providers:openai:CircuitMinimumThroughput"] = "2";
        _gateway.Settings["Gateway:Providers:openai:CircuitFailureRatio"] = "0.5";
        _gateway.Settings["Gateway:Providers:openai:CircuitSamplingSeconds"] = "600";
        _gateway.Settings["Gateway:Providers:openai:CircuitBreakSeconds"] = "600";
    }

    public async Task DisposeAsync()
    {
        _gateway.Dispose();
        await _openai.DisposeAsync();
    }

    private static Task Answer(HttpContext ctx, RecordedRequest request) => request.Authorization switch
    {
        $"Bearer {PlatformKey}" => FakeUpstream.Json(ctx, 200,
            $$"""{"created":1,"data":[{"b64_json":"{{Convert.ToBase64String(FakeUpstream.Png())}}"}]}"""),
        $"Bearer {NoQuotaKey}" => FakeUpstream.Json(ctx, 429, NoQuota),
        $"Bearer {BrokenKey}" => FakeUpstream.Json(ctx, 500, ServerError),
        _ => FakeUpstream.Json(ctx, 401,
            """{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"""),
    };

    private static object Body => new { prompt = "a fox", model = "dall-e-3", response_format = "b64_json" };

    private async Task<HttpClient> AttackerAsync(string ownKey)
    {
        var (_, key) = await _gateway.CreateUserAsync("byok", 0m, "attacker");
        var client = _gateway.ClientWithKey(key);
        (await client.PostJsonAsync("/api/v1/llm/byok/keys", new { provider = "openai", api_key = ownKey })).EnsureSuccessStatusCode();
        return client;
    }

    private async Task<string> PlatformCircuitAsync()
    {
        using var admin = _gateway.AdminClient();
        var providers = await (await admin.GetAsync("/api/v1/admin/providers")).OkJsonAsync();
        return providers.GetProperty("data").EnumerateArray().Single(p => p.Str("name") == "openai").Str("circuit")!;
    }

    [Theory]
    [InlineData(NoQuotaKey)]
    [InlineData(BrokenKey)]
    public async Task A_failing_own_key_never_stops_another_tenants_platform_requests(string attackerKey)
    {
        using var attacker = await AttackerAsync(attackerKey);
        var (_, victimKey) = await _gateway.CreateUserAsync("managed", 1000m, "victim");
        using var victim = _gateway.ClientWithKey(victimKey);

        var victimStatuses = new List<HttpStatusCode>();
        for (var i = 0; i < 10; i++)
        {
            var attack = await attacker.PostJsonAsync("/api/v1/llm/images/generations", Body);
            Assert.NotEqual(HttpStatusCode.OK, attack.StatusCode);
            victimStatuses.Add((await victim.PostJsonAsync("/api/v1/llm/images/generations", Body)).StatusCode);
        }

        Assert.All(victimStatuses, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Equal("closed", await PlatformCircuitAsync());
        Assert.Equal(10, _openai.Requests.Count(r => r.Authorization == $"Bearer {PlatformKey}"));
    }

    [Fact]
    public async Task A_broken_own_key_opens_only_its_own_circuit_and_says_so()
    {
        using var attacker = await AttackerAsync(BrokenKey);
        for (var i = 0; i < 2; i++)
            Assert.Equal(HttpStatusCode.BadGateway, (await attacker.PostJsonAsync("/api/v1/llm/images/generations", Body)).StatusCode);
        var callsBefore = _openai.Requests.Count;

        var paused = await attacker.PostJsonAsync("/api/v1/llm/images/generations", Body);

        Assert.Equal(HttpStatusCode.BadGateway, paused.StatusCode);
        Assert.Contains("your own key", (await paused.ReadJsonAsync()).GetProperty("error").Str("message"));
        Assert.Equal(callsBefore, _openai.Requests.Count); // its circuit is open: the upstream was not called
        Assert.Equal("closed", await PlatformCircuitAsync());
    }

    [Fact]
    public async Task A_platform_key_without_quota_is_reported_but_does_not_open_the_circuit()
    {
        _openai.Handler = (ctx, _) => FakeUpstream.Json(ctx, 429, NoQuota);
        var (_, key) = await _gateway.CreateUserAsync("managed", 1000m);
        using var client = _gateway.ClientWithKey(key);

        for (var i = 0; i < 5; i++)
            Assert.NotEqual(HttpStatusCode.OK, (await client.PostJsonAsync("/api/v1/llm/images/generations", Body)).StatusCode);

        // Every call reached the upstream (no circuit cut it short), and the operator sees why they failed.
        Assert.Equal(5, _openai.Requests.Count);
        Assert.Equal("closed", await PlatformCircuitAsync());
        using var admin = _gateway.AdminClient();
        var openai = (await (await admin.GetAsync("/api/v1/admin/providers")).OkJsonAsync())
            .GetProperty("data").EnumerateArray().Single(p => p.Str("name") == "openai");
        Assert.Equal(5, openai.GetProperty("recent_failures").GetArrayLength());
        Assert.Equal(1000m, (await client.CreditsAsync()).Dec("credits_remaining"));
    }
}
