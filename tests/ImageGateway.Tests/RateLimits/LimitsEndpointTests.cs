using System.Net;
using System.Text.Json;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.RateLimits;

/// <summary>GET /api/v1/limits: the caller's tier, each image window (used, remaining, when it frees) and the monthly cap.</summary>
public sealed class LimitsEndpointTests : IDisposable
{
    private readonly GatewayFactory _gateway = new();

    public void Dispose() => _gateway.Dispose();

    private static JsonElement Window(JsonElement limits, string name) =>
        limits.GetProperty("windows").EnumerateArray().Single(w => w.Str("window") == name);

    [Fact]
    public async Task Limits_show_the_tier_each_window_used_and_remaining_and_the_monthly_cap()
    {
        var (userId, key) = await _gateway.CreateUserAsync("free", 100m);
        using var client = _gateway.ClientWithKey(key);
        await client.GenerateBuiltinAsync();

        var limits = await (await client.GetAsync("/api/v1/limits")).OkJsonAsync();

        Assert.Equal(userId, limits.Str("user_id"));
        Assert.Equal("free", limits.Str("tier"));
        Assert.Equal(1.5m, limits.Dec("multiplier"));
        Assert.False(limits.GetProperty("customized").GetBoolean());
        Assert.Equal(["minute", "hour", "day", "month"], limits.GetProperty("windows").EnumerateArray().Select(w => w.Str("window")));
        var minute = Window(limits, "minute");
        Assert.Equal((2, 1, 1), (minute.GetProperty("limit").GetInt32(), minute.GetProperty("used").GetInt32(), minute.GetProperty("remaining").GetInt32()));
        Assert.Equal(_gateway.UnixNow() + 60, minute.GetProperty("resets_at").GetInt64()); // the clock stands at a full minute
        Assert.Equal(199, Window(limits, "month").GetProperty("remaining").GetInt32());
        Assert.Equal(1000m, limits.Dec("monthly_cap"));
        Assert.Equal(1.5m, limits.Dec("month_spent"));
        Assert.Equal(998.5m, limits.Dec("month_remaining"));
        Assert.Equal(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds(), limits.GetProperty("month_resets_at").GetInt64());
    }

    [Fact]
    public async Task Unlimited_windows_and_no_cap_are_null_and_admin_overrides_show_as_customized()
    {
        var (userId, key) = await _gateway.CreateUserAsync("enterprise", 10m);
        using var client = _gateway.ClientWithKey(key);
        using var admin = _gateway.AdminClient();
        await (await admin.PutAsync($"/api/v1/admin/users/{userId}/limits", Api.Json(new { per_minute = 3 }))).OkJsonAsync();

        var limits = await (await client.GetAsync("/api/v1/limits")).OkJsonAsync();

        Assert.True(limits.GetProperty("customized").GetBoolean());
        Assert.Equal(3, Window(limits, "minute").GetProperty("limit").GetInt32());
        var month = Window(limits, "month");
        Assert.Equal(JsonValueKind.Null, month.GetProperty("limit").ValueKind);
        Assert.Equal(JsonValueKind.Null, month.GetProperty("remaining").ValueKind);
        Assert.Equal(JsonValueKind.Null, limits.GetProperty("monthly_cap").ValueKind);
        Assert.Equal(JsonValueKind.Null, limits.GetProperty("month_remaining").ValueKind);
    }

    [Fact]
    public async Task Limits_are_the_callers_own_and_need_a_key()
    {
        var (_, key) = await _gateway.CreateUserAsync("free", 10m);
        var (_, other) = await _gateway.CreateUserAsync("free", 10m);
        using var client = _gateway.ClientWithKey(key);
        await client.GenerateBuiltinAsync();
        using var otherClient = _gateway.ClientWithKey(other);

        var theirs = await (await otherClient.GetAsync("/api/v1/limits")).OkJsonAsync();

        Assert.Equal(0, Window(theirs, "minute").GetProperty("used").GetInt32());
        Assert.Equal(HttpStatusCode.Unauthorized, (await _gateway.AnonymousClient().GetAsync("/api/v1/limits")).StatusCode);
    }

    [Fact]
    public async Task A_429_from_the_image_limiter_says_images_and_carries_Retry_After()
    {
        var (_, key) = await _gateway.CreateUserAsync("free", 100m);
        using var client = _gateway.ClientWithKey(key);
        await client.GenerateBuiltinAsync(n: 2);

        var response = await client.PostJsonAsync("/v1/images/generations", Api.BuiltinBody());

        var error = await Api.AssertErrorAsync(response, HttpStatusCode.TooManyRequests, "rate_limit_error", "rate_limit_exceeded");
        Assert.Contains("images per minute", error.Str("message"));
        Assert.True(int.Parse(response.Headers.GetValues("Retry-After").Single()) is > 0 and <= 60);
        var limits = await (await client.GetAsync("/api/v1/limits")).OkJsonAsync();
        Assert.Equal(0, Window(limits, "minute").GetProperty("remaining").GetInt32());
    }
}
