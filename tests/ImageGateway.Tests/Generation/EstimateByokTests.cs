using System.Net;
using ImageGateway.Tests.Providers;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Generation;

/// <summary>
/// /image/estimate and /image/models for a caller with their own provider key: the same routing
/// decision as generate, so a BYOK user with no credits is told the truth (served, 0 credits).
/// </summary>
public sealed class EstimateByokTests : IAsyncLifetime
{
    private const string UserKey = "sk-proj-own-key-2222222222222222222222222";
    private readonly GatewayFactory _gateway = new GatewayFactory().WithoutUpstreamKeys();
    private FakeUpstream _openai = null!;

    public async Task InitializeAsync()
    {
        _openai = await FakeUpstream.StartAsync();
        _openai.Handler = (ctx, req) => OpenAiKit.B64Images(ctx, req, revisedPrompt: null);
        // No platform key: only a caller's own key can serve the OpenAI models.
        _gateway.UseOpenAi("openai", _openai, apiKey: null, maxRetries: 0);
        _gateway.Settings["Gateway:Providers:openai:AllowByok"] = "true";
    }

    public async Task DisposeAsync()
    {
        _gateway.Dispose();
        await _openai.DisposeAsync();
    }

    private static object Dalle3 => new { prompt = "a fox", model = "dall-e-3", size = "1024x1024", response_format = "b64_json" };

    private async Task<HttpClient> UserAsync(bool withKey, decimal credits = 0m)
    {
        var (_, key) = await _gateway.CreateUserAsync("byok", credits);
        var client = _gateway.ClientWithKey(key);
        if (withKey)
            await (await client.PostJsonAsync("/api/v1/llm/byok/keys", new { provider = "openai", api_key = UserKey })).OkJsonAsync();
        return client;
    }

    [Fact]
    public async Task A_byok_tier_user_with_a_stored_key_and_no_credits_is_served_at_zero_cost()
    {
        using var client = await UserAsync(withKey: true);

        var estimate = await (await client.PostJsonAsync("/v1/image/estimate", Dalle3)).OkJsonAsync();

        Assert.True(estimate.GetProperty("provider_available").GetBoolean());
        Assert.True(estimate.GetProperty("sufficient").GetBoolean());
        Assert.True(estimate.GetProperty("using_byok").GetBoolean());
        Assert.Equal("openai", estimate.Str("byok_provider"));
        Assert.Equal(0m, estimate.Dec("estimated_cost"));
        Assert.Equal(0m, estimate.Dec("max_cost"));
        Assert.Equal(40m, estimate.Dec("platform_cost")); // dall-e-3 standard 1024x1024 × 1.0
    }

    [Fact]
    public async Task The_byok_estimate_equals_what_generate_then_charges()
    {
        using var client = await UserAsync(withKey: true);

        var estimate = await (await client.PostJsonAsync("/v1/image/estimate", Dalle3)).OkJsonAsync();
        var (response, text) = await client.GenerateAsync(Dalle3);

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var meta = System.Text.Json.JsonDocument.Parse(text).RootElement.GetProperty("_metadata");
        Assert.True(meta.GetProperty("using_byok").GetBoolean());
        Assert.Equal(estimate.Dec("estimated_cost"), meta.Dec("cost_incurred"));
        Assert.Equal(estimate.Str("byok_provider"), meta.Str("byok_provider"));
        Assert.Equal(0m, (await client.CreditsAsync()).Dec("credits_remaining"));
    }

    [Fact]
    public async Task Without_a_key_the_estimate_is_unchanged_no_provider_and_insufficient()
    {
        using var client = await UserAsync(withKey: false);

        var estimate = await (await client.PostJsonAsync("/v1/image/estimate", Dalle3)).OkJsonAsync();

        Assert.False(estimate.GetProperty("provider_available").GetBoolean());
        Assert.False(estimate.GetProperty("sufficient").GetBoolean());
        Assert.False(estimate.GetProperty("using_byok").GetBoolean());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, estimate.GetProperty("byok_provider").ValueKind);
        Assert.Equal(40m, estimate.Dec("estimated_cost"));
        Assert.Equal(estimate.Dec("estimated_cost"), estimate.Dec("platform_cost"));
    }

    [Fact]
    public async Task A_disabled_key_no_longer_counts()
    {
        using var client = await UserAsync(withKey: true);
        await (await client.PostJsonAsync("/api/v1/llm/byok/keys/openai/toggle", new { enabled = false })).OkJsonAsync();

        var estimate = await (await client.PostJsonAsync("/v1/image/estimate", Dalle3)).OkJsonAsync();

        Assert.False(estimate.GetProperty("using_byok").GetBoolean());
        Assert.False(estimate.GetProperty("provider_available").GetBoolean());
    }

    [Fact]
    public async Task The_catalog_marks_models_usable_with_the_callers_own_key()
    {
        using var withKey = await UserAsync(withKey: true);
        using var withoutKey = await UserAsync(withKey: false);

        var mine = Model(await (await withKey.GetAsync("/v1/image/models")).OkJsonAsync(), "dall-e-3");
        var theirs = Model(await (await withoutKey.GetAsync("/v1/image/models")).OkJsonAsync(), "dall-e-3");
        var builtin = Model(await (await withoutKey.GetAsync("/v1/image/models")).OkJsonAsync(), "builtin-preview");

        Assert.False(mine.GetProperty("available").GetBoolean());
        Assert.True(mine.GetProperty("usable").GetBoolean());
        Assert.Equal("openai", mine.Str("byok_provider"));
        Assert.False(theirs.GetProperty("usable").GetBoolean());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, theirs.GetProperty("byok_provider").ValueKind);
        Assert.True(builtin.GetProperty("usable").GetBoolean());
    }

    private static System.Text.Json.JsonElement Model(System.Text.Json.JsonElement list, string id) =>
        list.GetProperty("data").EnumerateArray().Single(m => m.Str("id") == id);
}
