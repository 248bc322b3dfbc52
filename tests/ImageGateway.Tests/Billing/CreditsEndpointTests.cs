using System.Net;
using System.Text.Json;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Billing;

/// <summary>GET /credits and GET /credits/history.</summary>
public sealed class CreditsEndpointTests : IDisposable
{
    private readonly GatewayFactory _gateway = new();

    public void Dispose() => _gateway.Dispose();

    [Theory]
    [InlineData("/api/v1/llm/credits")]
    [InlineData("/v1/credits")]
    public async Task Credits_for_a_managed_user_show_balance_tier_and_no_monthly_cap(string path)
    {
        var (userId, key) = await _gateway.CreateUserAsync("managed", 12.5m);
        using var client = _gateway.ClientWithKey(key);

        var json = await (await client.GetAsync(path)).OkJsonAsync();

        Assert.Equal(userId, json.Str("user_id"));
        Assert.Equal(12.5m, json.Dec("credits_remaining"));
        Assert.Equal(0m, json.Dec("reserved"));
        Assert.Equal("managed", json.Str("tier"));
        Assert.Equal(JsonValueKind.Null, json.GetProperty("monthly_cap").ValueKind);
        Assert.Equal(0m, json.Dec("monthly_spent"));
    }

    [Fact]
    public async Task Credits_for_a_free_user_show_the_monthly_cap_of_1000()
    {
        var (_, key) = await _gateway.CreateUserAsync("free", 5m);
        using var client = _gateway.ClientWithKey(key);

        var json = await client.CreditsAsync();

        Assert.Equal("free", json.Str("tier"));
        Assert.Equal(1000m, json.Dec("monthly_cap"));
    }

    [Fact]
    public async Task Monthly_spent_and_balance_follow_a_generation()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);

        await client.GenerateBuiltinAsync(n: 2);

        var json = await client.CreditsAsync();
        Assert.Equal(7.6m, json.Dec("credits_remaining"));
        Assert.Equal(2.4m, json.Dec("monthly_spent"));
        Assert.Equal(0m, json.Dec("reserved"));
    }

    [Fact]
    public async Task Credits_are_per_account()
    {
        var (_, rich) = await _gateway.CreateUserAsync("managed", 100m, "rich");
        var (poorId, poor) = await _gateway.CreateUserAsync("managed", 2m, "poor");
        using var richClient = _gateway.ClientWithKey(rich);
        using var poorClient = _gateway.ClientWithKey(poor);

        await richClient.GenerateBuiltinAsync();

        var json = await poorClient.CreditsAsync();
        Assert.Equal(poorId, json.Str("user_id"));
        Assert.Equal(2m, json.Dec("credits_remaining"));
        Assert.Equal(0, (await poorClient.HistoryAsync()).GetProperty("transactions").EnumerateArray().Count(t => t.Str("type") == "settle"));
    }

    [Fact]
    public async Task History_lists_entries_newest_first_with_total_and_pagination()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);
        var first = await client.GenerateBuiltinAsync("first");
        _gateway.Time.Advance(TimeSpan.FromMinutes(1));
        var second = await client.GenerateBuiltinAsync("second");

        var all = await client.HistoryAsync();

        Assert.Equal(5, all.GetProperty("total").GetInt64());
        Assert.Equal(50, all.GetProperty("limit").GetInt32());
        Assert.Equal(0, all.GetProperty("offset").GetInt32());
        var entries = all.GetProperty("transactions").EnumerateArray().ToArray();
        Assert.Equal(["settle", "reserve", "settle", "reserve", "grant"], entries.Select(e => e.Str("type")!).ToArray());
        Assert.Equal(second.GetProperty("_metadata").Str("transaction_id"), entries[0].Str("id"));
        Assert.Equal(first.GetProperty("_metadata").Str("transaction_id"), entries[2].Str("id"));
        Assert.Equal(10m, entries[4].Dec("amount"));
        var times = entries.Select(e => e.GetProperty("created_at").GetInt64()).ToArray();
        Assert.Equal(times.OrderByDescending(t => t).ToArray(), times);
        Assert.True(times[0] > times[4]);

        var page1 = await client.HistoryAsync("?limit=2&offset=0");
        var page2 = await client.HistoryAsync("?limit=2&offset=2");
        var page3 = await client.HistoryAsync("?limit=2&offset=4");
        var page4 = await client.HistoryAsync("?limit=2&offset=6");
        foreach (var page in new[] { page1, page2, page3, page4 })
        {
            Assert.Equal(5, page.GetProperty("total").GetInt64());
            Assert.Equal(2, page.GetProperty("limit").GetInt32());
        }
        Assert.Equal(4, page3.GetProperty("offset").GetInt32());
        var paged = new[] { page1, page2, page3, page4 }
            .SelectMany(p => p.GetProperty("transactions").EnumerateArray()).Select(e => e.Str("id")).ToArray();
        Assert.Equal(entries.Select(e => e.Str("id")).ToArray(), paged);
        Assert.Equal("grant", Assert.Single(page3.GetProperty("transactions").EnumerateArray()).Str("type"));
        Assert.Empty(page4.GetProperty("transactions").EnumerateArray());
    }

    [Theory]
    [InlineData("?limit=0", "limit")]
    [InlineData("?limit=-1", "limit")]
    [InlineData("?limit=201", "limit")]
    [InlineData("?offset=-1", "offset")]
    public async Task History_refuses_an_out_of_range_limit_or_offset(string query, string param)
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);

        var response = await client.GetAsync("/api/v1/llm/credits/history" + query);

        await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "invalid_value", param);
    }

    [Theory]
    [InlineData("?limit=abc")]
    [InlineData("?offset=1.5")]
    public async Task History_refuses_a_non_integer_limit_or_offset_with_a_400(string query)
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);

        var response = await client.GetAsync("/api/v1/llm/credits/history" + query);

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {body}");
        using var json = JsonDocument.Parse(body);
        Assert.Equal(["detail", "error"], json.RootElement.Names());
        Assert.Equal("invalid_request_error", json.RootElement.GetProperty("error").Str("type"));
    }
}
