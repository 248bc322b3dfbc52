using System.Net;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Generation;

/// <summary>POST /image/estimate: the exact cost generate would charge, the balance, whether it suffices; charges nothing.</summary>
public sealed class EstimateEndpointTests : IDisposable
{
    private readonly GatewayFactory _gateway = new();

    public void Dispose() => _gateway.Dispose();

    [Theory]
    [InlineData("/api/v1/llm/image/estimate")]
    [InlineData("/v1/image/estimate")]
    public async Task Estimate_returns_the_exact_cost_and_balance_and_charges_nothing(string path)
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);
        var historyBefore = await client.HistoryAsync();

        var json = await (await client.PostJsonAsync(path, Api.BuiltinBody(n: 2))).OkJsonAsync();

        Assert.Equal("builtin-preview", json.Str("model"));
        Assert.Equal(2, json.GetProperty("n").GetInt32());
        Assert.Equal("managed", json.Str("tier"));
        Assert.Equal(1.2m, json.Dec("unit_cost"));
        Assert.Equal(2.4m, json.Dec("estimated_cost"));
        Assert.Equal(10m, json.Dec("credits_remaining"));
        Assert.Equal(10m, json.Dec("available"));
        Assert.True(json.GetProperty("sufficient").GetBoolean());
        Assert.True(json.GetProperty("provider_available").GetBoolean());

        var credits = await client.CreditsAsync();
        Assert.Equal(10m, credits.Dec("credits_remaining"));
        Assert.Equal(0m, credits.Dec("reserved"));
        Assert.Equal(historyBefore.GetProperty("total").GetInt64(), (await client.HistoryAsync()).GetProperty("total").GetInt64());
        Assert.Empty(_gateway.StoredImageFiles());
    }

    [Fact]
    public async Task Estimate_matches_what_generate_then_charges()
    {
        var (_, key) = await _gateway.CreateUserAsync("free", 10m);
        using var client = _gateway.ClientWithKey(key);

        var estimate = await (await client.PostJsonAsync("/api/v1/llm/image/estimate", Api.BuiltinBody(n: 2))).OkJsonAsync();
        var generated = await client.GenerateBuiltinAsync(n: 2);

        Assert.Equal(3m, estimate.Dec("estimated_cost"));
        Assert.Equal(estimate.Dec("estimated_cost"), generated.GetProperty("_metadata").Dec("cost_incurred"));
    }

    [Fact]
    public async Task Estimate_says_insufficient_when_the_balance_does_not_cover_the_cost()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 1m);
        using var client = _gateway.ClientWithKey(key);

        var json = await (await client.PostJsonAsync("/api/v1/llm/image/estimate", Api.BuiltinBody())).OkJsonAsync();

        Assert.Equal(1.2m, json.Dec("estimated_cost"));
        Assert.Equal(1m, json.Dec("credits_remaining"));
        Assert.False(json.GetProperty("sufficient").GetBoolean());
        Assert.Equal(1m, (await client.CreditsAsync()).Dec("credits_remaining"));
    }

    [Fact]
    public async Task Estimate_prices_models_without_a_provider_and_says_so()
    {
        _gateway.WithoutUpstreamKeys();
        var (_, key) = await _gateway.CreateUserAsync("free", 200m);
        using var client = _gateway.ClientWithKey(key);

        var json = await (await client.PostJsonAsync("/api/v1/llm/image/estimate",
            new { prompt = "x", model = "dall-e-3", size = "1024x1024", quality = "hd" })).OkJsonAsync();

        Assert.Equal(120m, json.Dec("estimated_cost")); // 80 × 1.5
        Assert.True(json.GetProperty("sufficient").GetBoolean());
        Assert.False(json.GetProperty("provider_available").GetBoolean());
    }

    [Fact]
    public async Task Estimate_validates_the_body_like_generate()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);

        var response = await client.PostJsonAsync("/api/v1/llm/image/estimate", new { prompt = "x", model = Api.Builtin, size = "3x3" });

        await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "invalid_value", "size");
    }

    [Theory]
    [InlineData("/v1/image/estimate")]
    [InlineData("/v1/images/generations")]
    public async Task N_of_zero_is_a_400_invalid_n_not_priced_as_one(string path)
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);

        var response = await client.PostJsonAsync(path, new { prompt = "x", model = Api.Builtin, size = "256x256", n = 0 });

        await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "invalid_value", "n");
        Assert.Equal(10m, (await client.CreditsAsync()).Dec("credits_remaining"));
        Assert.Empty(_gateway.StoredImageFiles());
    }
}
