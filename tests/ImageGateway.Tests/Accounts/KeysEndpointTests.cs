using System.Net;
using System.Text.Json;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Accounts;

/// <summary>/api/v1/keys: a user's own gateway API keys (DESIGN §7).</summary>
public sealed class KeysEndpointTests : IDisposable
{
    private readonly GatewayFactory _gateway = new();

    public void Dispose() => _gateway.Dispose();

    [Fact]
    public async Task Create_returns_201_with_the_full_key_once_and_the_key_authenticates_as_the_same_user()
    {
        var (userId, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);

        var created = await (await client.PostJsonAsync("/api/v1/keys", new { name = "ci" })).OkJsonAsync(HttpStatusCode.Created);

        var newKey = created.Str("key")!;
        Assert.StartsWith("uc_", newKey);
        Assert.True(newKey.Length >= 43, "uc_ + at least 40 random characters");
        Assert.True(newKey[3..].All(char.IsAsciiLetterOrDigit));
        Assert.NotEqual(key, newKey);
        Assert.StartsWith("key_", created.Str("id"));
        Assert.Equal("ci", created.Str("name"));
        Assert.Equal("user", created.Str("scope"));
        Assert.StartsWith(created.Str("prefix")!.TrimEnd('…'), newKey, StringComparison.Ordinal);
        Assert.True(created.Str("prefix")!.TrimEnd('…').Length < newKey.Length);
        Assert.Equal(JsonValueKind.Null, created.GetProperty("expires_at").ValueKind);

        using var other = _gateway.ClientWithKey(newKey);
        Assert.Equal(userId, (await other.CreditsAsync()).Str("user_id"));
    }

    [Fact]
    public async Task List_shows_only_prefixes_never_a_full_key()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);
        var created = await (await client.PostJsonAsync("/api/v1/keys", new { name = "second" })).OkJsonAsync(HttpStatusCode.Created);
        var secondKey = created.Str("key")!;

        var response = await client.GetAsync("/api/v1/keys");
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(key, text);
        Assert.DoesNotContain(secondKey, text);
        Assert.DoesNotContain(ImageGateway.Accounts.ApiKeys.Hash(key), text);
        using var json = JsonDocument.Parse(text);
        var items = json.RootElement.GetProperty("data").EnumerateArray().ToArray();
        Assert.Equal(2, items.Length);
        Assert.Contains(items, i => i.Str("id") == created.Str("id"));
        foreach (var item in items)
        {
            Assert.False(item.TryGetProperty("key", out _));
            Assert.True(item.GetProperty("active").GetBoolean());
            var prefix = item.Str("prefix")!.TrimEnd('…');
            Assert.True(prefix.Length <= 16, $"prefix '{prefix}' is too long to be only a display prefix");
            Assert.True(key.StartsWith(prefix, StringComparison.Ordinal) || secondKey.StartsWith(prefix, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task A_revoked_key_stops_working_and_is_listed_as_revoked()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);
        var created = await (await client.PostJsonAsync("/api/v1/keys", new { name = "temp" })).OkJsonAsync(HttpStatusCode.Created);
        var id = created.Str("id")!;
        using var temp = _gateway.ClientWithKey(created.Str("key")!);
        Assert.Equal(HttpStatusCode.OK, (await temp.GetAsync("/api/v1/keys")).StatusCode);

        var revoked = await (await client.DeleteAsync($"/api/v1/keys/{id}")).OkJsonAsync();

        Assert.Equal(id, revoked.Str("id"));
        Assert.True(revoked.GetProperty("revoked").GetBoolean());
        await Api.AssertErrorAsync(await temp.GetAsync("/api/v1/llm/credits"), HttpStatusCode.Unauthorized, "authentication_error", "invalid_api_key");
        await Api.AssertErrorAsync(await temp.PostJsonAsync("/v1/images/generations", Api.BuiltinBody()),
            HttpStatusCode.Unauthorized, "authentication_error", "invalid_api_key");
        var list = await (await client.GetAsync("/api/v1/keys")).OkJsonAsync();
        var item = list.GetProperty("data").EnumerateArray().Single(k => k.Str("id") == id);
        Assert.False(item.GetProperty("active").GetBoolean());
        Assert.Equal(JsonValueKind.Number, item.GetProperty("revoked_at").ValueKind);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/llm/credits")).StatusCode);
    }

    [Fact]
    public async Task Revoking_another_users_key_is_a_404_and_leaves_it_working()
    {
        var (_, aliceKey) = await _gateway.CreateUserAsync("managed", 10m, "alice");
        var (_, bobKey) = await _gateway.CreateUserAsync("managed", 10m, "bob");
        using var alice = _gateway.ClientWithKey(aliceKey);
        using var bob = _gateway.ClientWithKey(bobKey);
        var bobKeyId = (await (await bob.GetAsync("/api/v1/keys")).OkJsonAsync()).GetProperty("data")[0].Str("id");

        var response = await alice.DeleteAsync($"/api/v1/keys/{bobKeyId}");

        await Api.AssertErrorAsync(response, HttpStatusCode.NotFound, "not_found_error", "not_found");
        Assert.Equal(HttpStatusCode.OK, (await bob.GetAsync("/api/v1/llm/credits")).StatusCode);
        var bobList = await (await bob.GetAsync("/api/v1/keys")).OkJsonAsync();
        Assert.True(bobList.GetProperty("data")[0].GetProperty("active").GetBoolean());
    }

    [Fact]
    public async Task Revoking_an_unknown_key_id_is_a_404()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);

        await Api.AssertErrorAsync(await client.DeleteAsync("/api/v1/keys/key_doesnotexist0000"),
            HttpStatusCode.NotFound, "not_found_error", "not_found");
    }

    [Fact]
    public async Task The_user_listing_keys_sees_only_its_own()
    {
        var (_, aliceKey) = await _gateway.CreateUserAsync("managed", 10m, "alice");
        var (_, bobKey) = await _gateway.CreateUserAsync("managed", 10m, "bob");
        using var alice = _gateway.ClientWithKey(aliceKey);
        using var bob = _gateway.ClientWithKey(bobKey);
        var bobKeyId = (await (await bob.GetAsync("/api/v1/keys")).OkJsonAsync()).GetProperty("data")[0].Str("id");

        var list = await (await alice.GetAsync("/api/v1/keys")).OkJsonAsync();

        Assert.Single(list.GetProperty("data").EnumerateArray());
        Assert.DoesNotContain(list.GetProperty("data").EnumerateArray(), k => k.Str("id") == bobKeyId);
    }

    [Fact]
    public async Task A_user_key_cannot_create_an_admin_key()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);

        var response = await client.PostJsonAsync("/api/v1/keys", new { name = "escalate", scope = "admin" });

        await Api.AssertErrorAsync(response, HttpStatusCode.Forbidden, "permission_error", "admin_required");
        var list = await (await client.GetAsync("/api/v1/keys")).OkJsonAsync();
        Assert.Single(list.GetProperty("data").EnumerateArray());
    }

    [Fact]
    public async Task An_admin_key_can_create_an_admin_key_that_works_on_admin_routes()
    {
        using var admin = _gateway.AdminClient();

        var created = await (await admin.PostJsonAsync("/api/v1/keys", new { name = "ops", scope = "admin" })).OkJsonAsync(HttpStatusCode.Created);

        Assert.Equal("admin", created.Str("scope"));
        using var second = _gateway.ClientWithKey(created.Str("key")!);
        Assert.Equal(HttpStatusCode.OK, (await second.GetAsync("/api/v1/admin/users")).StatusCode);
    }

    [Theory]
    [InlineData("""{"scope":"root"}""", "scope")]
    [InlineData("""{"expires_in_days":0}""", "expires_in_days")]
    [InlineData("""{"expires_in_days":5000}""", "expires_in_days")]
    public async Task Create_refuses_invalid_fields_with_a_400(string body, string param)
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);

        var response = await client.PostAsync("/api/v1/keys", Api.Raw(body));

        await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "invalid_value", param);
    }

    [Fact]
    public async Task Create_with_bad_json_is_a_400()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);

        var response = await client.PostAsync("/api/v1/keys", Api.Raw("{\"name\":"));

        await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "invalid_json");
    }
}
