using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Dapper;
using ImageGateway.Tests.Support;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;

namespace ImageGateway.Tests.Byok;

/// <summary>DESIGN §5 end to end: the caller's own key is used first, never billed, never shown, never stored in clear.</summary>
public sealed class ByokTests : IAsyncLifetime
{
    private const string PlatformKey = "sk-platform-key-0000000000000000000000";
    private const string UserKey = "sk-proj-alice-own-key-1111111111111111111111";
    private GatewayFactory _gateway = null!;
    private FakeUpstream _openai = null!;

    public async Task InitializeAsync()
    {
        _openai = await FakeUpstream.StartAsync();
        _openai.Handler = OpenAiSuccess;
        _gateway = NewGateway(fallback: false);
    }

    public async Task DisposeAsync()
    {
        _gateway.Dispose();
        await _openai.DisposeAsync();
    }

    private GatewayFactory NewGateway(bool fallback)
    {
        var gateway = new GatewayFactory();
        gateway.Settings["Gateway:Providers:openai:BaseUrl"] = _openai.BaseUrl;
        gateway.Settings["Gateway:Providers:openai:AllowByok"] = "true";
        gateway.Settings["Gateway:Providers:openai:ApiKey"] = PlatformKey;
        gateway.Settings["Gateway:Providers:openai:RetryBaseDelayMs"] = "1";
        gateway.Settings["Gateway:Providers:openai:MaxRetries"] = "0";
        gateway.Settings["Gateway:Byok:FallbackToPlatform"] = fallback ? "true" : "false";
        return gateway;
    }

    /// <summary>The fake OpenAI: a valid image for the platform key and for Alice's key; 401 for any other key.</summary>
    private static Task OpenAiSuccess(HttpContext ctx, RecordedRequest request)
    {
        if (request.Path.StartsWith("/models"))
            return request.Authorization == $"Bearer {UserKey}"
                ? FakeUpstream.Json(ctx, 200, """{"object":"list","data":[]}""")
                : FakeUpstream.Json(ctx, 401, """{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}""");
        if (request.Authorization is not ($"Bearer {PlatformKey}" or $"Bearer {UserKey}"))
            return FakeUpstream.Json(ctx, 401, """{"error":{"message":"Incorrect API key provided: sk-bad***","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}""");
        return FakeUpstream.Json(ctx, 200, $$"""{"created":1,"data":[{"b64_json":"{{Convert.ToBase64String(FakeUpstream.Png())}}","revised_prompt":"r"}]}""");
    }

    private static object Dalle3 => new { prompt = "a fox", model = "dall-e-3", response_format = "b64_json" };

    private static async Task<JsonElement> JsonOf(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();

    private static async Task<decimal> CreditsAsync(HttpClient client) =>
        (await JsonOf(await client.GetAsync("/api/v1/llm/credits"))).GetProperty("credits_remaining").GetDecimal();

    [Fact]
    public async Task Byok_key_reaches_the_upstream_instead_of_the_platform_key_and_costs_nothing()
    {
        var (userId, key) = await _gateway.CreateUserAsync("managed", 100m);
        using var client = _gateway.ClientWithKey(key);
        var stored = await client.PostAsJsonAsync("/api/v1/llm/byok/keys", new { provider = "openai", api_key = UserKey });
        Assert.Equal(HttpStatusCode.OK, stored.StatusCode);

        var response = await client.PostAsJsonAsync("/api/v1/llm/images/generations", Dalle3);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var meta = (await JsonOf(response)).GetProperty("_metadata");
        Assert.True(meta.GetProperty("using_byok").GetBoolean());
        Assert.Equal("openai", meta.GetProperty("byok_provider").GetString());
        Assert.Equal(0m, meta.GetProperty("cost_incurred").GetDecimal());
        var generation = Assert.Single(_openai.Requests, r => r.Path == "/images/generations");
        Assert.Equal($"Bearer {UserKey}", generation.Authorization);
        Assert.DoesNotContain(_openai.Requests, r => r.Authorization == $"Bearer {PlatformKey}");
        Assert.Equal(100m, await CreditsAsync(client));
        var history = await JsonOf(await client.GetAsync("/api/v1/llm/credits/history"));
        Assert.Equal(1, history.GetProperty("total").GetInt32()); // only the initial grant: no reserve for a BYOK request
        var usage = Assert.Single(await _gateway.Service<ImageGateway.Usage.UsageStore>().RecentAsync(userId, 10));
        Assert.True(usage.Byok);
        Assert.Equal(0, usage.CostMc);
        Assert.Equal("openai", usage.Provider);
        Assert.Equal(1, usage.Images);
    }

    [Fact]
    public async Task Stored_key_appears_in_no_response_no_log_and_not_in_the_database_file()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 100m);
        using var client = _gateway.ClientWithKey(key);
        var bodies = new List<string>();
        async Task Capture(Task<HttpResponseMessage> call) => bodies.Add(await (await call).Content.ReadAsStringAsync());

        await Capture(client.PostAsJsonAsync("/api/v1/llm/byok/keys", new { provider = "openai", api_key = UserKey, metadata = new { note = "mine" } }));
        await Capture(client.GetAsync("/api/v1/llm/byok/keys"));
        await Capture(client.PostAsJsonAsync("/api/v1/llm/byok/keys/openai/toggle", new { enabled = true }));
        await Capture(client.PostAsync("/api/v1/llm/byok/keys/openai/test", null));
        await Capture(client.PostAsJsonAsync("/api/v1/llm/images/generations", Dalle3));
        await Capture(client.GetAsync("/api/v1/llm/credits/history"));
        using (var admin = _gateway.AdminClient())
        {
            await Capture(admin.GetAsync("/api/v1/admin/providers"));
            await Capture(admin.GetAsync("/api/v1/admin/users"));
        }

        var listed = JsonDocument.Parse(bodies[1]).RootElement.GetProperty("data")[0];
        Assert.Equal("sk-…1111", listed.GetProperty("masked_key").GetString());
        Assert.True(JsonDocument.Parse(bodies[3]).RootElement.GetProperty("ok").GetBoolean());
        foreach (var body in bodies) Assert.DoesNotContain(UserKey, body);
        Assert.DoesNotContain(UserKey, _gateway.Logs.All);
        Assert.DoesNotContain(PlatformKey, _gateway.Logs.All);

        SqliteConnection.ClearAllPools();
        var needle = Encoding.UTF8.GetBytes(UserKey);
        foreach (var file in Directory.GetFiles(_gateway.DataDirectory, "gateway.db*"))
            Assert.True(File.ReadAllBytes(file).AsSpan().IndexOf(needle) < 0, $"{Path.GetFileName(file)} contains the key in clear");
        await Capture(client.DeleteAsync("/api/v1/llm/byok/keys/openai"));
        Assert.DoesNotContain(UserKey, bodies[^1]);
    }

    [Fact]
    public async Task Another_tenant_can_neither_see_nor_delete_nor_use_the_key()
    {
        var (_, alice) = await _gateway.CreateUserAsync("managed", 100m, "alice");
        var (_, bob) = await _gateway.CreateUserAsync("managed", 100m, "bob");
        using var a = _gateway.ClientWithKey(alice);
        using var b = _gateway.ClientWithKey(bob);
        (await a.PostAsJsonAsync("/api/v1/llm/byok/keys", new { provider = "openai", api_key = UserKey })).EnsureSuccessStatusCode();

        var bobsList = await JsonOf(await b.GetAsync("/api/v1/llm/byok/keys"));
        Assert.Equal(0, bobsList.GetProperty("data").GetArrayLength());
        Assert.Equal(HttpStatusCode.NotFound, (await b.DeleteAsync("/api/v1/llm/byok/keys/openai")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await b.PostAsJsonAsync("/api/v1/llm/byok/keys/openai/toggle", new { enabled = false })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await b.PostAsync("/api/v1/llm/byok/keys/openai/test", null)).StatusCode);

        var bobs = await JsonOf(await b.PostAsJsonAsync("/api/v1/llm/images/generations", Dalle3));
        Assert.False(bobs.GetProperty("_metadata").GetProperty("using_byok").GetBoolean());
        Assert.Equal(48m, bobs.GetProperty("_metadata").GetProperty("cost_incurred").GetDecimal());
        Assert.Equal($"Bearer {PlatformKey}", _openai.Requests.Last().Authorization);
        Assert.Equal(1, (await JsonOf(await a.GetAsync("/api/v1/llm/byok/keys"))).GetProperty("data").GetArrayLength());
    }

    [Fact]
    public async Task Failing_own_key_returns_the_error_and_charges_nothing_without_fallback()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 100m);
        using var client = _gateway.ClientWithKey(key);
        (await client.PostAsJsonAsync("/api/v1/llm/byok/keys", new { provider = "openai", api_key = "sk-proj-revoked-key-22222222222222222222" }))
            .EnsureSuccessStatusCode();

        var response = await client.PostAsJsonAsync("/api/v1/llm/images/generations", Dalle3);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await JsonOf(response);
        Assert.Equal("byok_key_rejected", body.GetProperty("error").GetProperty("code").GetString());
        Assert.DoesNotContain("sk-proj-revoked", body.ToString());
        Assert.DoesNotContain(_openai.Requests, r => r.Authorization == $"Bearer {PlatformKey}");
        Assert.Equal(100m, await CreditsAsync(client));
    }

    [Fact]
    public async Task With_fallback_on_a_failing_own_key_is_served_by_the_platform_and_billed_once()
    {
        using var gateway = NewGateway(fallback: true);
        var (_, key) = await gateway.CreateUserAsync("managed", 100m);
        using var client = gateway.ClientWithKey(key);
        (await client.PostAsJsonAsync("/api/v1/llm/byok/keys", new { provider = "openai", api_key = "sk-proj-revoked-key-22222222222222222222" }))
            .EnsureSuccessStatusCode();

        var response = await client.PostAsJsonAsync("/api/v1/llm/images/generations", Dalle3);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var meta = (await JsonOf(response)).GetProperty("_metadata");
        Assert.False(meta.GetProperty("using_byok").GetBoolean());
        Assert.True(meta.GetProperty("byok_fallback").GetBoolean());
        Assert.Equal(48m, meta.GetProperty("cost_incurred").GetDecimal());
        Assert.Equal(52m, await CreditsAsync(client));

        // And when the platform fails too, the caller gets an error and pays nothing.
        _openai.Handler = (ctx, _) => FakeUpstream.Json(ctx, 401, """{"error":{"message":"bad","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}""");
        var failed = await client.PostAsJsonAsync("/api/v1/llm/images/generations", Dalle3);
        Assert.False(failed.IsSuccessStatusCode);
        Assert.Equal(52m, await CreditsAsync(client));
    }

    [Fact]
    public async Task Toggled_off_key_makes_routing_use_the_platform_key_billed()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 100m);
        using var client = _gateway.ClientWithKey(key);
        (await client.PostAsJsonAsync("/api/v1/llm/byok/keys", new { provider = "openai", api_key = UserKey })).EnsureSuccessStatusCode();
        var toggled = await JsonOf(await client.PostAsJsonAsync("/api/v1/llm/byok/keys/openai/toggle", new { enabled = false }));
        Assert.False(toggled.GetProperty("enabled").GetBoolean());

        var meta = (await JsonOf(await client.PostAsJsonAsync("/api/v1/llm/images/generations", Dalle3))).GetProperty("_metadata");

        Assert.False(meta.GetProperty("using_byok").GetBoolean());
        Assert.Equal($"Bearer {PlatformKey}", _openai.Requests.Last().Authorization);
        Assert.Equal(52m, await CreditsAsync(client));
    }

    [Fact]
    public async Task Own_key_serves_a_model_whose_platform_provider_has_no_key()
    {
        using var gateway = new GatewayFactory();
        gateway.Settings["Gateway:Providers:openai:BaseUrl"] = _openai.BaseUrl;
        gateway.Settings["Gateway:Providers:openai:AllowByok"] = "true";
        var (_, key) = await gateway.CreateUserAsync("managed", 0m);
        using var client = gateway.ClientWithKey(key);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.PostAsJsonAsync("/api/v1/llm/images/generations", Dalle3)).StatusCode);
        (await client.PostAsJsonAsync("/api/v1/llm/byok/keys", new { provider = "openai", api_key = UserKey })).EnsureSuccessStatusCode();

        var response = await client.PostAsJsonAsync("/api/v1/llm/images/generations", Dalle3);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(0m, await CreditsAsync(client));
    }

    [Theory]
    [InlineData("openai", "not-a-key", "api_key")]
    [InlineData("openrouter", "sk-proj-abcdefghijklmnopqrstuvwxyz", "api_key")]
    [InlineData("midjourney", "sk-abcdefghijklmnopqrstuvwxyz", "provider")]
    [InlineData(null, "sk-abcdefghijklmnopqrstuvwxyz", "provider")]
    public async Task Malformed_keys_and_unknown_providers_get_a_400_naming_the_field(string? provider, string apiKey, string param)
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 1m);
        using var client = _gateway.ClientWithKey(key);

        var response = await client.PostAsJsonAsync("/api/v1/llm/byok/keys", new { provider, api_key = apiKey });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(param, (await JsonOf(response)).GetProperty("error").GetProperty("param").GetString());
    }

    [Fact]
    public async Task Upsert_keeps_one_key_per_provider_and_delete_of_an_absent_key_is_404()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 1m);
        using var client = _gateway.ClientWithKey(key);
        (await client.PostAsJsonAsync("/api/v1/llm/byok/keys", new { provider = "openai", api_key = "sk-proj-first-key-33333333333333333333" })).EnsureSuccessStatusCode();
        (await client.PostAsJsonAsync("/api/v1/llm/byok/keys", new { provider = "openai", api_key = UserKey })).EnsureSuccessStatusCode();

        var list = (await JsonOf(await client.GetAsync("/api/v1/llm/byok/keys"))).GetProperty("data");
        Assert.Equal(1, list.GetArrayLength());
        Assert.Equal("sk-…1111", list[0].GetProperty("masked_key").GetString());
        Assert.Equal(HttpStatusCode.OK, (await client.DeleteAsync("/api/v1/llm/byok/keys/openai")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.DeleteAsync("/api/v1/llm/byok/keys/openai")).StatusCode);
    }

    [Fact]
    public async Task Key_test_reports_the_upstream_answer_and_is_limited_to_five_a_minute()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 1m);
        using var client = _gateway.ClientWithKey(key);
        (await client.PostAsJsonAsync("/api/v1/llm/byok/keys", new { provider = "openai", api_key = "sk-proj-wrong-key-44444444444444444444" })).EnsureSuccessStatusCode();

        var first = await JsonOf(await client.PostAsync("/api/v1/llm/byok/keys/openai/test", null));
        Assert.False(first.GetProperty("ok").GetBoolean());
        Assert.Equal(401, first.GetProperty("status").GetInt32());
        for (var i = 0; i < 4; i++) Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/api/v1/llm/byok/keys/openai/test", null)).StatusCode);
        var sixth = await client.PostAsync("/api/v1/llm/byok/keys/openai/test", null);
        Assert.Equal(HttpStatusCode.TooManyRequests, sixth.StatusCode);
        Assert.True(sixth.Headers.Contains("Retry-After"));
    }

    [Fact]
    public async Task An_undecryptable_key_is_an_explicit_error_never_a_billed_fallback()
    {
        var (userId, key) = await _gateway.CreateUserAsync("managed", 100m);
        using var client = _gateway.ClientWithKey(key);
        (await client.PostAsJsonAsync("/api/v1/llm/byok/keys", new { provider = "openai", api_key = UserKey })).EnsureSuccessStatusCode();
        await using (var db = new SqliteConnection($"Data Source={Path.Combine(_gateway.DataDirectory, "gateway.db")}"))
            await db.ExecuteAsync("UPDATE byok_keys SET secret = @s WHERE account_id = @userId",
                new { s = Convert.ToBase64String(new byte[64]), userId });

        var response = await client.PostAsJsonAsync("/api/v1/llm/images/generations", Dalle3);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("byok_key_unreadable", (await JsonOf(response)).GetProperty("error").GetProperty("code").GetString());
        Assert.DoesNotContain(_openai.Requests, r => r.Path == "/images/generations");
        Assert.Equal(100m, await CreditsAsync(client));
    }
}

/// <summary>The key test reaches each provider's documented cheap endpoint with the caller's key.</summary>
public sealed class ByokKeyCheckTests
{
    [Theory]
    [InlineData("openrouter", "sk-or-v1-0123456789abcdefghijklmnop", "/key")]
    [InlineData("stability", "sk-0123456789abcdefghijklmnopqrstu", "/v1/user/account")]
    public async Task Key_test_calls_the_providers_cheap_endpoint(string provider, string apiKey, string path)
    {
        await using var fake = await FakeUpstream.StartAsync();
        // Both providers check keys: any other key gets their 401.
        fake.Handler = (ctx, request) => request.Authorization == $"Bearer {apiKey}"
            ? FakeUpstream.Json(ctx, 200, "{}")
            : FakeUpstream.Json(ctx, 401, provider == "openrouter"
                ? """{"error":{"message":"User not found.","code":401}}"""
                : """{"errors":["Incorrect API key provided"],"id":"d5e5f5a5","name":"unauthorized"}""");
        using var gateway = new GatewayFactory();
        gateway.Settings[$"Gateway:Providers:{provider}:BaseUrl"] = fake.BaseUrl;
        gateway.Settings[$"Gateway:Providers:{provider}:AllowByok"] = "true";
        var (_, key) = await gateway.CreateUserAsync("managed", 1m);
        using var client = gateway.ClientWithKey(key);
        (await client.PostAsJsonAsync("/api/v1/llm/byok/keys", new { provider, api_key = apiKey })).EnsureSuccessStatusCode();

        var result = JsonDocument.Parse(await (await client.PostAsync($"/api/v1/llm/byok/keys/{provider}/test", null)).Content.ReadAsStringAsync()).RootElement;

        Assert.True(result.GetProperty("ok").GetBoolean());
        var requests = fake.Requests.ToArray();
        Assert.Equal(2, requests.Length);
        Assert.All(requests, r => Assert.Equal(path, r.Path));
        Assert.Equal($"Bearer {apiKey}", requests[0].Authorization);
        Assert.NotEqual($"Bearer {apiKey}", requests[1].Authorization);
    }
}
