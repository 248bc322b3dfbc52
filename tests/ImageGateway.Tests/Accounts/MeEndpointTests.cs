using System.Net;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Accounts;

/// <summary>/api/v1/me: who a key acts for, readable by any key, so the console needs no admin probe.</summary>
public sealed class MeEndpointTests : IDisposable
{
    private readonly GatewayFactory _gateway = new();

    public void Dispose() => _gateway.Dispose();

    [Fact]
    public async Task A_user_key_gets_its_account_name_tier_and_is_not_admin()
    {
        var (userId, key) = await _gateway.CreateUserAsync("starter", 5m, name: "Ada Lovelace");
        using var client = _gateway.ClientWithKey(key);

        var me = await (await client.GetAsync("/api/v1/me")).OkJsonAsync();

        Assert.Equal(userId, me.Str("user_id"));
        Assert.Equal("Ada Lovelace", me.Str("name"));
        Assert.Equal("starter", me.Str("tier"));
        Assert.False(me.GetProperty("is_admin").GetBoolean());
    }

    [Fact]
    public async Task An_admin_key_is_told_it_is_admin()
    {
        using var client = _gateway.AdminClient();

        var me = await (await client.GetAsync("/api/v1/me")).OkJsonAsync();

        Assert.True(me.GetProperty("is_admin").GetBoolean());
    }

    [Fact]
    public async Task Without_a_key_it_is_401()
    {
        using var client = _gateway.CreateClient();

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/v1/me")).StatusCode);
    }
}
