using System.Net;
using ImageGateway.Tests.Support;
using Microsoft.AspNetCore.Http;

namespace ImageGateway.Tests.Byok;

/// <summary>
/// Issue 23, finding 3: against an OpenAI-compatible server that checks no key (LocalAI, vLLM, a
/// proxy adding the real key), a made-up BYOK key would make every image free. BYOK is therefore
/// allowed by default only on the public OpenAI, OpenRouter and Stability hosts
/// (<c>Gateway:Providers:&lt;name&gt;:AllowByok</c> otherwise), and the key test proves the
/// upstream refuses a made-up key.
/// </summary>
public sealed class ByokAllowedTests : IAsyncLifetime
{
    private const string PlatformKey = "sk-platform-key-0000000000000000000000";
    private const string UserKey = "sk-proj-made-up-by-the-user-555555555555";
    private FakeUpstream _anyKey = null!;

    public async Task InitializeAsync()
    {
        // An OpenAI-compatible server without auth: every key "works".
        _anyKey = await FakeUpstream.StartAsync();
        _anyKey.Handler = AnyKey;
    }

    public async Task DisposeAsync() => await _anyKey.DisposeAsync();

    private static Task AnyKey(HttpContext ctx, RecordedRequest request) => request.Path.StartsWith("/models")
        ? FakeUpstream.Json(ctx, 200, """{"object":"list","data":[{"id":"gpt-image-2","object":"model","created":1,"owned_by":"local"}]}""")
        : FakeUpstream.Json(ctx, 200, $$"""{"created":1,"data":[{"b64_json":"{{Convert.ToBase64String(FakeUpstream.Png())}}"}]}""");

    private GatewayFactory Gateway(string? allowByok, string? dataDirectory = null)
    {
        var gateway = dataDirectory is null ? new GatewayFactory() : new GatewayFactory { DataDirectory = dataDirectory };
        gateway.Settings["Gateway:Providers:openai:BaseUrl"] = _anyKey.BaseUrl;
        gateway.Settings["Gateway:Providers:openai:ApiKey"] = PlatformKey;
        if (allowByok is not null) gateway.Settings["Gateway:Providers:openai:AllowByok"] = allowByok;
        if (dataDirectory is not null) gateway.Settings["Gateway:Database:Provider"] = "sqlite"; // a restart on the same file
        return gateway;
    }

    private static object Body => new { prompt = "a fox", model = "dall-e-3", response_format = "b64_json" };

    [Theory]
    [InlineData(null)]
    [InlineData("false")]
    public async Task A_provider_off_the_public_host_refuses_own_keys_unless_the_operator_allows_them(string? allowByok)
    {
        using var gateway = Gateway(allowByok);
        var (_, key) = await gateway.CreateUserAsync("managed", 10m);
        using var client = gateway.ClientWithKey(key);

        var response = await client.PostJsonAsync("/api/v1/llm/byok/keys", new { provider = "openai", api_key = UserKey });

        var error = await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "byok_not_allowed", "provider");
        Assert.Contains("billed in credits", error.Str("message"));
        Assert.Equal(0, (await (await client.GetAsync("/api/v1/llm/byok/keys")).OkJsonAsync()).GetProperty("data").GetArrayLength());
        Assert.Empty(_anyKey.Requests);
    }

    [Fact]
    public async Task The_public_hosts_take_own_keys_by_default()
    {
        using var gateway = new GatewayFactory(); // appsettings: api.openai.com, openrouter.ai, api.stability.ai
        var (_, key) = await gateway.CreateUserAsync("managed", 10m);
        using var client = gateway.ClientWithKey(key);

        foreach (var (provider, apiKey) in new[] { ("openai", UserKey), ("openrouter", "sk-or-v1-0123456789abcdefghijklmnop"), ("stability", "sk-0123456789abcdefghijklmnopqrstu") })
            await (await client.PostJsonAsync("/api/v1/llm/byok/keys", new { provider, api_key = apiKey })).OkJsonAsync();
    }

    [Fact]
    public async Task A_key_stored_before_the_operator_turned_byok_off_is_not_used()
    {
        using var before = Gateway(allowByok: "true");
        before.Settings["Gateway:Database:Provider"] = "sqlite";
        var (_, key) = await before.CreateUserAsync("managed", 100m);
        using (var client = before.ClientWithKey(key))
            await (await client.PostJsonAsync("/api/v1/llm/byok/keys", new { provider = "openai", api_key = UserKey })).OkJsonAsync();

        using var after = Gateway(allowByok: "false", dataDirectory: before.DataDirectory);
        using var restarted = after.ClientWithKey(key);
        var generated = await (await restarted.PostJsonAsync("/api/v1/llm/images/generations", Body)).OkJsonAsync();

        Assert.Equal($"Bearer {PlatformKey}", _anyKey.Requests.Single(r => r.Path.EndsWith("/images/generations")).Authorization);
        Assert.True(generated.GetProperty("_metadata").Dec("cost_incurred") > 0m);
        Assert.Equal(100m - generated.GetProperty("_metadata").Dec("cost_incurred"), (await restarted.CreditsAsync()).Dec("credits_remaining"));
    }

    [Fact]
    public async Task A_key_test_on_an_upstream_that_takes_any_key_fails_and_switches_the_key_off()
    {
        using var gateway = Gateway(allowByok: "true");
        var (_, key) = await gateway.CreateUserAsync("managed", 100m);
        using var client = gateway.ClientWithKey(key);
        await (await client.PostJsonAsync("/api/v1/llm/byok/keys", new { provider = "openai", api_key = UserKey })).OkJsonAsync();

        var test = await (await client.PostAsync("/api/v1/llm/byok/keys/openai/test", null)).OkJsonAsync();

        Assert.False(test.GetProperty("ok").GetBoolean());
        Assert.Contains("made-up key", test.Str("message"));
        var checks = _anyKey.Requests.Where(r => r.Path.StartsWith("/models")).Select(r => r.Authorization).ToArray();
        Assert.Equal(2, checks.Length);
        Assert.Equal($"Bearer {UserKey}", checks[0]);
        Assert.NotEqual($"Bearer {UserKey}", checks[1]);
        var stored = (await (await client.GetAsync("/api/v1/llm/byok/keys")).OkJsonAsync()).GetProperty("data")[0];
        Assert.False(stored.GetProperty("enabled").GetBoolean());

        // Switched off, the key serves nothing: the request is the platform's, and billed.
        await (await client.PostJsonAsync("/api/v1/llm/images/generations", Body)).OkJsonAsync();
        Assert.Equal($"Bearer {PlatformKey}", _anyKey.Requests.Single(r => r.Path.EndsWith("/images/generations")).Authorization);
        Assert.True((await client.CreditsAsync()).Dec("credits_remaining") < 100m);
    }
}
