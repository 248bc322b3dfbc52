using System.Net;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Accounts;

/// <summary>DELETE /api/v1/admin/users/{id}/keys/{keyId}: an operator revokes one of a user's keys.</summary>
public sealed class AdminKeyRevokeTests : IDisposable
{
    private readonly GatewayFactory _gateway = new();

    public void Dispose() => _gateway.Dispose();

    [Fact]
    public async Task Admin_revokes_a_users_key_and_it_is_refused_at_once()
    {
        var (userId, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var user = _gateway.ClientWithKey(key);
        using var admin = _gateway.AdminClient();
        Assert.Equal(HttpStatusCode.OK, (await user.GetAsync("/api/v1/llm/credits")).StatusCode);
        var keyId = (await (await admin.GetAsync($"/api/v1/admin/users/{userId}")).OkJsonAsync()).GetProperty("keys")[0].Str("id")!;

        var revoked = await (await admin.DeleteAsync($"/api/v1/admin/users/{userId}/keys/{keyId}")).OkJsonAsync();

        Assert.Equal(keyId, revoked.Str("id"));
        Assert.True(revoked.GetProperty("revoked").GetBoolean());
        Assert.Equal(HttpStatusCode.Unauthorized, (await user.GetAsync("/api/v1/llm/credits")).StatusCode);
        var listed = (await (await admin.GetAsync($"/api/v1/admin/users/{userId}")).OkJsonAsync()).GetProperty("keys")[0];
        Assert.False(listed.GetProperty("active").GetBoolean());
        Assert.NotEqual(System.Text.Json.JsonValueKind.Null, listed.GetProperty("revoked_at").ValueKind);
    }

    [Fact]
    public async Task Another_users_key_id_is_a_404_and_that_key_keeps_working()
    {
        var (aliceId, _) = await _gateway.CreateUserAsync(name: "alice");
        var (bobId, bobKey) = await _gateway.CreateUserAsync(name: "bob");
        using var admin = _gateway.AdminClient();
        using var bob = _gateway.ClientWithKey(bobKey);
        var bobKeyId = (await (await admin.GetAsync($"/api/v1/admin/users/{bobId}")).OkJsonAsync()).GetProperty("keys")[0].Str("id")!;

        var response = await admin.DeleteAsync($"/api/v1/admin/users/{aliceId}/keys/{bobKeyId}");

        await Api.AssertErrorAsync(response, HttpStatusCode.NotFound, "not_found_error", "not_found");
        Assert.Equal(HttpStatusCode.OK, (await bob.GetAsync("/api/v1/llm/credits")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync($"/api/v1/admin/users/usr_nobody/keys/{bobKeyId}")).StatusCode);
    }

    [Fact]
    public async Task A_user_key_cannot_revoke_anyones_key()
    {
        var (aliceId, aliceKey) = await _gateway.CreateUserAsync(name: "alice");
        using var alice = _gateway.ClientWithKey(aliceKey);
        using var admin = _gateway.AdminClient();
        var keyId = (await (await admin.GetAsync($"/api/v1/admin/users/{aliceId}")).OkJsonAsync()).GetProperty("keys")[0].Str("id")!;

        var response = await alice.DeleteAsync($"/api/v1/admin/users/{aliceId}/keys/{keyId}");

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await alice.GetAsync("/api/v1/llm/credits")).StatusCode);
    }
}
