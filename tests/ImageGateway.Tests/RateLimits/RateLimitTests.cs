using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.RateLimits;

/// <summary>Per-tier image windows and monthly caps (DESIGN §2, §7): atomic, exact, with honest headers.</summary>
public sealed class RateLimitTests : IDisposable
{
    private readonly GatewayFactory _gateway = new();

    public void Dispose() => _gateway.Dispose();

    private static object Builtin(int n = 1) => new { prompt = "a kite", model = "builtin-preview", n, response_format = "b64_json", size = "256x256" };

    private static async Task<JsonElement> JsonOf(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();

    private static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.Single() : throw new Xunit.Sdk.XunitException($"missing header {name}");

    private async Task SetLimitsAsync(string userId, object limits)
    {
        using var admin = _gateway.AdminClient();
        var response = await admin.PutAsJsonAsync($"/api/v1/admin/users/{userId}/limits", limits);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Free_tier_third_image_in_a_minute_is_refused_until_the_window_passes()
    {
        _gateway.Time.SetUtcNow(new DateTimeOffset(2026, 11, 23, 12, 0, 15, TimeSpan.Zero));
        var (_, key) = await _gateway.CreateUserAsync("free", 100m);
        using var client = _gateway.ClientWithKey(key);

        var first = await client.PostAsJsonAsync("/api/v1/llm/images/generations", Builtin());
        var second = await client.PostAsJsonAsync("/api/v1/llm/images/generations", Builtin());
        var third = await client.PostAsJsonAsync("/api/v1/llm/images/generations", Builtin());

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
        Assert.Equal("45", Header(third, "Retry-After"));
        var error = (await JsonOf(third)).GetProperty("error");
        Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
        Assert.Equal("rate_limit_error", error.GetProperty("type").GetString());

        _gateway.Time.Advance(TimeSpan.FromSeconds(45));
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/api/v1/llm/images/generations", Builtin())).StatusCode);
    }

    [Fact]
    public async Task A_refused_request_counts_nothing_reserves_nothing_and_charges_nothing()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 100m); // 10 images a minute
        using var client = _gateway.ClientWithKey(key);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/api/v1/llm/images/generations", Builtin(8))).StatusCode);
        var historyBefore = (await JsonOf(await client.GetAsync("/api/v1/llm/credits/history"))).GetProperty("total").GetInt32();

        var tooMany = await client.PostAsJsonAsync("/api/v1/llm/images/generations", Builtin(3));

        Assert.Equal(HttpStatusCode.TooManyRequests, tooMany.StatusCode);
        Assert.Equal("2", Header(tooMany, "X-RateLimit-Remaining"));
        var credits = await JsonOf(await client.GetAsync("/api/v1/llm/credits"));
        Assert.Equal(100m - 8 * 1.2m, credits.GetProperty("credits_remaining").GetDecimal());
        Assert.Equal(0m, credits.GetProperty("reserved").GetDecimal());
        Assert.Equal(historyBefore, (await JsonOf(await client.GetAsync("/api/v1/llm/credits/history"))).GetProperty("total").GetInt32());
        // The remaining two were not consumed by the refused request.
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/api/v1/llm/images/generations", Builtin(2))).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await client.PostAsJsonAsync("/api/v1/llm/images/generations", Builtin())).StatusCode);
    }

    [Fact]
    public async Task Two_hundred_concurrent_requests_against_a_twenty_image_window_serve_exactly_twenty()
    {
        var (userId, key) = await _gateway.CreateUserAsync("managed", 1000m);
        await SetLimitsAsync(userId, new { per_minute = 20, per_hour = 0, per_day = 0, per_month = 0 });
        using var client = _gateway.ClientWithKey(key);

        var responses = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ =>
            client.PostAsJsonAsync("/api/v1/llm/images/generations", Builtin())));

        Assert.Equal(20, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        Assert.Equal(180, responses.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests));
        var credits = await JsonOf(await client.GetAsync("/api/v1/llm/credits"));
        Assert.Equal(1000m - 20 * 1.2m, credits.GetProperty("credits_remaining").GetDecimal());
        Assert.Equal(0m, credits.GetProperty("reserved").GetDecimal());
    }

    [Fact]
    public async Task Headers_describe_the_tightest_window_on_success_and_on_refusal()
    {
        _gateway.Time.SetUtcNow(new DateTimeOffset(2026, 11, 23, 12, 0, 20, TimeSpan.Zero));
        var (_, key) = await _gateway.CreateUserAsync("free", 100m);
        using var client = _gateway.ClientWithKey(key);
        var windowEnd = new DateTimeOffset(2026, 11, 23, 12, 1, 0, TimeSpan.Zero).ToUnixTimeSeconds().ToString();

        var ok = await client.PostAsJsonAsync("/api/v1/llm/images/generations", Builtin());
        Assert.Equal("2", Header(ok, "X-RateLimit-Limit"));
        Assert.Equal("1", Header(ok, "X-RateLimit-Remaining"));
        Assert.Equal(windowEnd, Header(ok, "X-RateLimit-Reset"));

        await client.PostAsJsonAsync("/api/v1/llm/images/generations", Builtin());
        var refused = await client.PostAsJsonAsync("/api/v1/llm/images/generations", Builtin());
        Assert.Equal("2", Header(refused, "X-RateLimit-Limit"));
        Assert.Equal("0", Header(refused, "X-RateLimit-Remaining"));
        Assert.Equal(windowEnd, Header(refused, "X-RateLimit-Reset"));
        Assert.Equal(long.Parse(windowEnd) - _gateway.Time.GetUtcNow().ToUnixTimeSeconds(), long.Parse(Header(refused, "Retry-After")));
    }

    [Fact]
    public async Task An_admin_override_raises_one_users_limit_without_changing_the_tier()
    {
        var (userId, key) = await _gateway.CreateUserAsync("free", 100m);
        var (_, otherKey) = await _gateway.CreateUserAsync("free", 100m, "other");
        await SetLimitsAsync(userId, new { per_minute = 5 });
        using var client = _gateway.ClientWithKey(key);
        using var other = _gateway.ClientWithKey(otherKey);

        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/api/v1/llm/images/generations", Builtin(5))).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await other.PostAsJsonAsync("/api/v1/llm/images/generations", Builtin(3))).StatusCode);
        using var admin = _gateway.AdminClient();
        var limits = await JsonOf(await admin.GetAsync($"/api/v1/admin/users/{userId}/limits"));
        Assert.Equal("free", limits.GetProperty("tier").GetString());
        Assert.Equal(5, limits.GetProperty("effective").GetProperty("per_minute").GetInt32());
        Assert.Equal(10, limits.GetProperty("effective").GetProperty("per_hour").GetInt32());
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.PutAsJsonAsync($"/api/v1/admin/users/{userId}/limits", new { per_minute = -1 })).StatusCode);
    }

    [Fact]
    public async Task The_monthly_cap_refuses_at_the_right_spend_and_the_next_month_resets_it()
    {
        _gateway.Settings["Gateway:Tiers:free:MonthlyCap"] = "4.5";
        _gateway.Time.SetUtcNow(new DateTimeOffset(2026, 11, 30, 23, 59, 0, TimeSpan.Zero));
        var (userId, key) = await _gateway.CreateUserAsync("free", 100m);
        await SetLimitsAsync(userId, new { per_minute = 0, per_hour = 0, per_day = 0, per_month = 0 });
        using var client = _gateway.ClientWithKey(key);

        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/api/v1/llm/images/generations", Builtin(2))).StatusCode); // 3.00
        var overCap = await client.PostAsJsonAsync("/api/v1/llm/images/generations", Builtin(2)); // would be 6.00
        Assert.Equal(HttpStatusCode.TooManyRequests, overCap.StatusCode);
        var error = (await JsonOf(overCap)).GetProperty("error");
        Assert.Equal("monthly_cap_exceeded", error.GetProperty("code").GetString());
        Assert.Contains("4.50", error.GetProperty("message").GetString());
        Assert.Contains("3.00 spent", error.GetProperty("message").GetString());
        Assert.Equal("60", Header(overCap, "Retry-After"));
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/api/v1/llm/images/generations", Builtin(1))).StatusCode); // 4.50 exactly
        Assert.Equal(HttpStatusCode.TooManyRequests, (await client.PostAsJsonAsync("/api/v1/llm/images/generations", Builtin(1))).StatusCode);
        var credits = await JsonOf(await client.GetAsync("/api/v1/llm/credits"));
        Assert.Equal(4.5m, credits.GetProperty("monthly_cap").GetDecimal());
        Assert.Equal(4.5m, credits.GetProperty("monthly_spent").GetDecimal());
        Assert.Equal(100m - 4.5m, credits.GetProperty("credits_remaining").GetDecimal());

        _gateway.Time.Advance(TimeSpan.FromMinutes(1)); // December
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/api/v1/llm/images/generations", Builtin(2))).StatusCode);
        Assert.Equal(3m, (await JsonOf(await client.GetAsync("/api/v1/llm/credits"))).GetProperty("monthly_spent").GetDecimal());
    }

    [Fact]
    public async Task Concurrent_requests_cannot_spend_past_the_monthly_cap()
    {
        _gateway.Settings["Gateway:Tiers:managed:MonthlyCap"] = "12"; // ten builtin images at 1.2
        var (userId, key) = await _gateway.CreateUserAsync("managed", 1000m);
        await SetLimitsAsync(userId, new { per_minute = 0, per_hour = 0, per_day = 0, per_month = 0 });
        using var client = _gateway.ClientWithKey(key);

        var responses = await Task.WhenAll(Enumerable.Range(0, 60).Select(_ =>
            client.PostAsJsonAsync("/api/v1/llm/images/generations", Builtin())));

        Assert.Equal(10, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        Assert.Equal(1000m - 12m, (await JsonOf(await client.GetAsync("/api/v1/llm/credits"))).GetProperty("credits_remaining").GetDecimal());
    }
}
