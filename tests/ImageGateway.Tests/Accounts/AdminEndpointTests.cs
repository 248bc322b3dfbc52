using System.Net;
using System.Text.Json;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Accounts;

/// <summary>/api/v1/admin: users, tiers, credit grants, keys (DESIGN §11).</summary>
public sealed class AdminEndpointTests : IDisposable
{
    private readonly GatewayFactory _gateway = new();

    public void Dispose() => _gateway.Dispose();

    [Fact]
    public async Task Create_user_returns_201_with_id_name_tier_credits_and_a_working_user_key()
    {
        using var admin = _gateway.AdminClient();

        var response = await admin.PostJsonAsync("/api/v1/admin/users", new { name = "Ada", tier = "starter", credits = 25.5m });

        var json = await response.OkJsonAsync(HttpStatusCode.Created);
        Assert.Equal(["api_key", "credits_remaining", "id", "name", "tier"], json.Names());
        Assert.StartsWith("usr_", json.Str("id"));
        Assert.Equal("Ada", json.Str("name"));
        Assert.Equal("starter", json.Str("tier"));
        Assert.Equal(25.5m, json.Dec("credits_remaining"));
        var key = json.Str("api_key")!;
        Assert.StartsWith("uc_", key);

        using var user = _gateway.ClientWithKey(key);
        var credits = await user.CreditsAsync();
        Assert.Equal(json.Str("id"), credits.Str("user_id"));
        Assert.Equal(25.5m, credits.Dec("credits_remaining"));
        Assert.Equal("starter", credits.Str("tier"));
        // The first key is a user key, not an admin key.
        await Api.AssertErrorAsync(await user.GetAsync("/api/v1/admin/users"), HttpStatusCode.Forbidden, "permission_error", "admin_required");
    }

    [Fact]
    public async Task Create_user_with_an_unknown_tier_is_a_400_naming_tier_and_creates_nobody()
    {
        using var admin = _gateway.AdminClient();

        var response = await admin.PostJsonAsync("/api/v1/admin/users", new { name = "Bad Tier", tier = "platinum", credits = 5 });

        await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "invalid_value", "tier");
        var users = await (await admin.GetAsync("/api/v1/admin/users")).OkJsonAsync();
        Assert.DoesNotContain(users.GetProperty("data").EnumerateArray(), u => u.Str("name") == "Bad Tier");
    }

    [Theory]
    [InlineData("""{"tier":"free","credits":5}""", "name", "missing_required_parameter")]
    [InlineData("""{"name":"   ","tier":"free"}""", "name", "missing_required_parameter")]
    [InlineData("""{"name":"neg","tier":"free","credits":-1}""", "credits", "invalid_value")]
    [InlineData("""{"name":"fine","tier":"free","credits":0.0001}""", "credits", "invalid_value")]
    public async Task Create_user_with_a_missing_or_invalid_field_is_a_400_naming_it(string body, string param, string code)
    {
        using var admin = _gateway.AdminClient();

        var response = await admin.PostAsync("/api/v1/admin/users", Api.Raw(body));

        await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", code, param);
        var users = await (await admin.GetAsync("/api/v1/admin/users")).OkJsonAsync();
        Assert.Single(users.GetProperty("data").EnumerateArray()); // only the bootstrap admin
    }

    [Fact]
    public async Task Create_user_with_bad_json_is_a_400()
    {
        using var admin = _gateway.AdminClient();

        var response = await admin.PostAsync("/api/v1/admin/users", Api.Raw("{\"name\": \"x\", "));

        await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "invalid_json");
    }

    [Fact]
    public async Task List_users_includes_created_users_with_their_balance()
    {
        var (aliceId, _) = await _gateway.CreateUserAsync("free", 7m, "alice");
        var (bobId, _) = await _gateway.CreateUserAsync("managed", 9m, "bob");
        using var admin = _gateway.AdminClient();

        var json = await (await admin.GetAsync("/api/v1/admin/users")).OkJsonAsync();

        var users = json.GetProperty("data").EnumerateArray().ToArray();
        var alice = users.Single(u => u.Str("id") == aliceId);
        var bob = users.Single(u => u.Str("id") == bobId);
        Assert.Equal("alice", alice.Str("name"));
        Assert.Equal("free", alice.Str("tier"));
        Assert.Equal(7m, alice.Dec("credits_remaining"));
        Assert.Equal("managed", bob.Str("tier"));
        Assert.Equal(9m, bob.Dec("credits_remaining"));
        Assert.Contains(users, u => u.Str("name") == "admin"); // the bootstrap account

        var page = await (await admin.GetAsync("/api/v1/admin/users?limit=1&offset=1")).OkJsonAsync();
        Assert.Single(page.GetProperty("data").EnumerateArray());
        await Api.AssertErrorAsync(await admin.GetAsync("/api/v1/admin/users?limit=0"), HttpStatusCode.BadRequest,
            "invalid_request_error", "invalid_value", "limit");
    }

    [Fact]
    public async Task Get_user_returns_the_user_with_balance_and_key_prefixes_only()
    {
        var (id, key) = await _gateway.CreateUserAsync("managed", 3m, "carol");
        using var admin = _gateway.AdminClient();

        var response = await admin.GetAsync($"/api/v1/admin/users/{id}");
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(key, text);
        using var json = JsonDocument.Parse(text);
        var user = json.RootElement;
        Assert.Equal(id, user.Str("id"));
        Assert.Equal("carol", user.Str("name"));
        Assert.Equal("managed", user.Str("tier"));
        Assert.Equal(3m, user.Dec("credits_remaining"));
        var keys = user.GetProperty("keys").EnumerateArray().ToArray();
        Assert.Single(keys);
        Assert.StartsWith(keys[0].Str("prefix")!.TrimEnd('…'), key);
    }

    [Fact]
    public async Task Get_unknown_user_is_a_404()
    {
        using var admin = _gateway.AdminClient();

        await Api.AssertErrorAsync(await admin.GetAsync("/api/v1/admin/users/usr_doesnotexist0000"),
            HttpStatusCode.NotFound, "not_found_error", "not_found");
    }

    [Fact]
    public async Task Patch_tier_changes_the_price_of_the_next_generation()
    {
        var (id, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var admin = _gateway.AdminClient();
        using var user = _gateway.ClientWithKey(key);
        Assert.Equal(1.2m, (await user.GenerateBuiltinAsync("before")).GetProperty("_metadata").Dec("cost_incurred"));

        var patched = await (await admin.PatchAsync($"/api/v1/admin/users/{id}", Api.Json(new { tier = "free" }))).OkJsonAsync();

        Assert.Equal("free", patched.Str("tier"));
        var after = await user.GenerateBuiltinAsync("after");
        Assert.Equal(1.5m, after.GetProperty("_metadata").Dec("cost_incurred"));
        Assert.Equal("free", after.GetProperty("_metadata").Str("user_tier"));
        Assert.Equal(7.3m, after.GetProperty("_metadata").Dec("credits_remaining"));
        Assert.Equal("free", (await user.CreditsAsync()).Str("tier"));

        await admin.PatchAsync($"/api/v1/admin/users/{id}", Api.Json(new { tier = "vip_founder" }));
        Assert.Equal(1m, (await user.GenerateBuiltinAsync("vip")).GetProperty("_metadata").Dec("cost_incurred"));
    }

    [Fact]
    public async Task Patch_with_an_unknown_tier_is_a_400_and_keeps_the_tier()
    {
        var (id, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var admin = _gateway.AdminClient();

        var response = await admin.PatchAsync($"/api/v1/admin/users/{id}", Api.Json(new { tier = "gold" }));

        await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "invalid_value", "tier");
        using var user = _gateway.ClientWithKey(key);
        Assert.Equal("managed", (await user.CreditsAsync()).Str("tier"));
    }

    [Fact]
    public async Task Patch_unknown_user_is_a_404()
    {
        using var admin = _gateway.AdminClient();

        var response = await admin.PatchAsync("/api/v1/admin/users/usr_doesnotexist0000", Api.Json(new { tier = "free" }));

        await Api.AssertErrorAsync(response, HttpStatusCode.NotFound, "not_found_error", "not_found");
    }

    [Fact]
    public async Task Credit_grants_add_and_negative_adjustments_may_go_down_to_zero()
    {
        var (id, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var admin = _gateway.AdminClient();
        using var user = _gateway.ClientWithKey(key);

        var granted = await (await admin.PostJsonAsync($"/api/v1/admin/users/{id}/credits", new { amount = 5.25m, reason = "bonus" })).OkJsonAsync();
        Assert.Equal(id, granted.Str("user_id"));
        Assert.Equal(15.25m, granted.Dec("credits_remaining"));
        Assert.Equal(15.25m, (await user.CreditsAsync()).Dec("credits_remaining"));

        var zeroed = await (await admin.PostJsonAsync($"/api/v1/admin/users/{id}/credits", new { amount = -15.25m, reason = "refund" })).OkJsonAsync();
        Assert.Equal(0m, zeroed.Dec("credits_remaining"));
        Assert.Equal(0m, (await user.CreditsAsync()).Dec("credits_remaining"));

        var history = await user.HistoryAsync();
        var types = history.GetProperty("transactions").EnumerateArray().Select(t => t.Str("type")!).ToArray();
        Assert.Equal(["adjustment", "grant", "grant"], types);
        Assert.Equal(-15.25m, history.GetProperty("transactions")[0].Dec("amount"));
        Assert.Equal("refund", history.GetProperty("transactions")[0].Str("description"));
    }

    [Fact]
    public async Task A_negative_adjustment_below_zero_is_a_400_and_leaves_the_balance()
    {
        var (id, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var admin = _gateway.AdminClient();
        using var user = _gateway.ClientWithKey(key);
        var totalBefore = (await user.HistoryAsync()).GetProperty("total").GetInt64();

        var response = await admin.PostJsonAsync($"/api/v1/admin/users/{id}/credits", new { amount = -10.001m, reason = "too much" });

        await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "invalid_value", "amount");
        Assert.Equal(10m, (await user.CreditsAsync()).Dec("credits_remaining"));
        Assert.Equal(totalBefore, (await user.HistoryAsync()).GetProperty("total").GetInt64());
    }

    [Theory]
    [InlineData("""{"reason":"no amount"}""", "amount", "missing_required_parameter")]
    [InlineData("""{"amount":0}""", "amount", "invalid_value")]
    [InlineData("""{"amount":1.0001}""", "amount", "invalid_value")]
    public async Task Credit_adjustment_with_a_missing_or_invalid_amount_is_a_400(string body, string param, string code)
    {
        var (id, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var admin = _gateway.AdminClient();

        var response = await admin.PostAsync($"/api/v1/admin/users/{id}/credits", Api.Raw(body));

        await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", code, param);
        using var user = _gateway.ClientWithKey(key);
        Assert.Equal(10m, (await user.CreditsAsync()).Dec("credits_remaining"));
    }

    [Fact]
    public async Task Credit_adjustment_for_an_unknown_user_is_a_404()
    {
        using var admin = _gateway.AdminClient();

        var response = await admin.PostJsonAsync("/api/v1/admin/users/usr_doesnotexist0000/credits", new { amount = 5 });

        await Api.AssertErrorAsync(response, HttpStatusCode.NotFound, "not_found_error", "not_found");
    }

    [Fact]
    public async Task Admin_can_issue_another_key_for_a_user_and_it_works()
    {
        var (id, firstKey) = await _gateway.CreateUserAsync("managed", 10m);
        using var admin = _gateway.AdminClient();

        var created = await (await admin.PostJsonAsync($"/api/v1/admin/users/{id}/keys", new { name = "second" })).OkJsonAsync(HttpStatusCode.Created);

        var key = created.Str("key")!;
        Assert.StartsWith("uc_", key);
        Assert.NotEqual(firstKey, key);
        Assert.Equal("user", created.Str("scope"));
        using var user = _gateway.ClientWithKey(key);
        Assert.Equal(id, (await user.CreditsAsync()).Str("user_id"));
        var detail = await (await admin.GetAsync($"/api/v1/admin/users/{id}")).OkJsonAsync();
        Assert.Equal(2, detail.GetProperty("keys").GetArrayLength());
    }

    [Fact]
    public async Task Issuing_a_key_for_an_unknown_user_is_a_404()
    {
        using var admin = _gateway.AdminClient();

        var response = await admin.PostJsonAsync("/api/v1/admin/users/usr_doesnotexist0000/keys", new { name = "x" });

        await Api.AssertErrorAsync(response, HttpStatusCode.NotFound, "not_found_error", "not_found");
    }
}
