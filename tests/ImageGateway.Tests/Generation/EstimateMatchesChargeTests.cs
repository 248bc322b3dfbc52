using System.Net;
using System.Text.Json;
using ImageGateway.Billing;
using ImageGateway.Tests.Catalog;
using ImageGateway.Tests.Providers;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Generation;

/// <summary>
/// For every per-image row of the catalog (DESIGN §2), every tier and n = 1 and 3: what
/// <c>/image/estimate</c> says is exactly what the generate request charges and the ledger records,
/// and it is the hand-written base price × multiplier × n.
/// </summary>
public sealed class EstimateMatchesChargeTests : IAsyncLifetime
{
    private readonly GatewayFactory _gateway = new GatewayFactory().WithoutUpstreamKeys();
    private FakeUpstream _upstream = null!;

    public async Task InitializeAsync()
    {
        _upstream = await FakeUpstream.StartAsync();
        // Every model served by one fake OpenAI-wire upstream, so nothing but the price differs between rows.
        _gateway.UseOpenAi("openai", _upstream, maxRetries: 0);
        foreach (var model in PricingTests.BaseTable.Select(r => r.Model).Distinct().Where(m => !m.StartsWith("dall-e", StringComparison.Ordinal)))
            _gateway.OnlyStep(model, "openai", "gpt-image-2");
        foreach (var (tier, _) in PricingTests.TierTable)
            foreach (var window in new[] { "PerMinute", "PerHour", "PerDay", "PerMonth", "MonthlyCap" })
                _gateway.Settings[$"Gateway:Tiers:{tier}:{window}"] = "0";
        _gateway.Settings["Gateway:Providers:openai:AllowByok"] = "true";
        _upstream.Handler = (ctx, req) => OpenAiKit.B64Images(ctx, req, revisedPrompt: null);
    }

    public async Task DisposeAsync()
    {
        _gateway.Dispose();
        await _upstream.DisposeAsync();
    }

    [Fact]
    public async Task Estimate_equals_the_charge_for_every_per_image_row_tier_and_n()
    {
        var checkedRows = 0;
        foreach (var (tier, multiplier) in PricingTests.TierTable)
        {
            var (userId, key) = await _gateway.CreateUserAsync(tier, 1_000_000m);
            using var client = _gateway.ClientWithKey(key);
            foreach (var (model, quality, size, credits) in PricingTests.BaseTable)
                foreach (var n in new[] { 1, 3 })
                {
                    var body = new { model, prompt = "a red kite", quality, size, n, response_format = "b64_json" };
                    var estimate = await (await client.PostJsonAsync("/v1/image/estimate", body)).OkJsonAsync();
                    var (response, text) = await client.GenerateAsync(body);
                    Assert.True(response.StatusCode == HttpStatusCode.OK, $"{model} {quality} {size} n={n} {tier}: {text}");

                    var expected = credits * multiplier * n;
                    var charged = JsonDocument.Parse(text).RootElement.GetProperty("_metadata").Dec("cost_incurred");
                    var settle = (await client.HistoryAsync("?limit=1")).Transactions()[0];
                    var row = $"{model} {quality} {size} n={n} {tier}";
                    Assert.True(expected == estimate.Dec("estimated_cost"), $"{row}: estimate {estimate.Dec("estimated_cost")}, expected {expected}");
                    Assert.True(expected == estimate.Dec("max_cost"), $"{row}: max {estimate.Dec("max_cost")}");
                    Assert.True(expected == charged, $"{row}: charged {charged}");
                    Assert.Equal(("settle", -expected), (settle.Str("type"), settle.Dec("amount")));
                    Assert.Equal("per_image", estimate.Str("pricing"));
                    checkedRows++;
                }
            Assert.Empty(await _gateway.Service<CreditLedger>().VerifyAsync(userId));
        }
        Assert.Equal(PricingTests.TierTable.Length * PricingTests.BaseTable.Length * 2, checkedRows);
    }

    [Fact]
    public async Task With_the_callers_own_key_the_estimate_and_the_charge_are_both_zero_for_every_row()
    {
        var (userId, key) = await _gateway.CreateUserAsync("managed", 5m);
        using var client = _gateway.ClientWithKey(key);
        await (await client.PostJsonAsync("/api/v1/llm/byok/keys", new { provider = "openai", api_key = "sk-proj-own-key-3333333333333333333333333" })).OkJsonAsync();
        foreach (var (model, quality, size, credits) in PricingTests.BaseTable)
        {
            var body = new { model, prompt = "a red kite", quality, size, n = 1, response_format = "b64_json" };
            var estimate = await (await client.PostJsonAsync("/v1/image/estimate", body)).OkJsonAsync();
            var (response, text) = await client.GenerateAsync(body);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{model} {quality} {size}: {text}");

            var meta = JsonDocument.Parse(text).RootElement.GetProperty("_metadata");
            Assert.True(estimate.GetProperty("using_byok").GetBoolean(), $"{model}: {estimate}");
            Assert.Equal(meta.Dec("cost_incurred"), estimate.Dec("estimated_cost"));
            Assert.Equal(0m, estimate.Dec("estimated_cost"));
            Assert.Equal(credits * 1.2m, estimate.Dec("platform_cost"));
            Assert.True(estimate.GetProperty("sufficient").GetBoolean());
        }
        Assert.Equal(5m, (await client.CreditsAsync()).Dec("credits_remaining"));
        Assert.Empty(await _gateway.Service<CreditLedger>().VerifyAsync(userId));
    }
}
