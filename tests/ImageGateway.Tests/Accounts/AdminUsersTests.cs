using System.Net;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Accounts;

/// <summary>The operator's user views: search with a total, one user's full detail, suspend and unsuspend.</summary>
public sealed class AdminUsersTests : IDisposable
{
    private readonly GatewayFactory _gateway = new();

    public void Dispose() => _gateway.Dispose();

    [Fact]
    public async Task Search_matches_name_or_id_case_insensitively_and_counts_all_matches()
    {
        var (aliceId, _) = await _gateway.CreateUserAsync(name: "Alice Liddell");
        await _gateway.CreateUserAsync(name: "alice_two");
        await _gateway.CreateUserAsync(name: "bob");
        using var admin = _gateway.AdminClient();

        var byName = await (await admin.GetAsync("/api/v1/admin/users?q=ALICE&limit=1")).OkJsonAsync();
        var byId = await (await admin.GetAsync($"/api/v1/admin/users?q={aliceId.ToUpperInvariant()}")).OkJsonAsync();
        var literal = await (await admin.GetAsync("/api/v1/admin/users?q=e_t")).OkJsonAsync();
        var all = await (await admin.GetAsync("/api/v1/admin/users")).OkJsonAsync();

        Assert.Equal(2, byName.GetProperty("total").GetInt64());
        Assert.Single(byName.GetProperty("data").EnumerateArray());
        Assert.Equal(aliceId, Assert.Single(byId.GetProperty("data").EnumerateArray()).Str("id"));
        Assert.Equal("alice_two", Assert.Single(literal.GetProperty("data").EnumerateArray()).Str("name")); // '_' is not a wildcard
        Assert.Equal(4, all.GetProperty("total").GetInt64()); // three users and the admin
    }

    [Fact]
    public async Task A_suspended_users_keys_are_refused_with_403_until_unsuspended()
    {
        var (userId, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);
        using var admin = _gateway.AdminClient();

        var suspended = await (await admin.PostAsync($"/api/v1/admin/users/{userId}/suspend", null)).OkJsonAsync();
        var refused = await client.GetAsync("/api/v1/llm/credits");
        var listed = await (await admin.GetAsync($"/api/v1/admin/users?q={userId}")).OkJsonAsync();

        Assert.True(suspended.GetProperty("suspended").GetBoolean());
        await Api.AssertErrorAsync(refused, HttpStatusCode.Forbidden, "permission_error", "account_suspended");
        Assert.True(listed.GetProperty("data")[0].GetProperty("suspended").GetBoolean());

        var back = await (await admin.PostAsync($"/api/v1/admin/users/{userId}/unsuspend", null)).OkJsonAsync();
        Assert.False(back.GetProperty("suspended").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/llm/credits")).StatusCode);
    }

    [Fact]
    public async Task An_admin_cannot_suspend_their_own_account_and_unknown_users_are_404()
    {
        using var admin = _gateway.AdminClient();

        await Api.AssertErrorAsync(await admin.PostAsync("/api/v1/admin/users/usr_admin/suspend", null), HttpStatusCode.BadRequest, "invalid_request_error", "invalid_value", "id");
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsync("/api/v1/admin/users/usr_nobody/suspend", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/v1/admin/users")).StatusCode);
    }

    [Fact]
    public async Task A_user_cannot_suspend_anyone()
    {
        var (userId, key) = await _gateway.CreateUserAsync();
        using var client = _gateway.ClientWithKey(key);

        var response = await client.PostAsync($"/api/v1/admin/users/{userId}/suspend", null);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/llm/credits")).StatusCode);
    }

    [Fact]
    public async Task The_user_detail_carries_keys_limits_and_recent_ledger_entries()
    {
        var (userId, key) = await _gateway.CreateUserAsync("free", 10m);
        using var client = _gateway.ClientWithKey(key);
        await client.GenerateBuiltinAsync();
        using var admin = _gateway.AdminClient();

        var detail = await (await admin.GetAsync($"/api/v1/admin/users/{userId}")).OkJsonAsync();

        Assert.Single(detail.GetProperty("keys").EnumerateArray());
        Assert.Equal("free", detail.GetProperty("limits").Str("tier"));
        Assert.Equal(1, detail.GetProperty("limits").GetProperty("windows")[0].GetProperty("used").GetInt32());
        var recent = detail.GetProperty("recent_transactions").EnumerateArray().Select(t => t.Str("type")).ToArray();
        Assert.Equal("settle", recent[0]); // newest first
        Assert.Equal("grant", recent[^1]);
        Assert.False(detail.GetProperty("suspended").GetBoolean());
    }
}
