using System.Net;
using ImageGateway.Tests.Providers;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Reliability;

/// <summary>
/// Issue 23, finding 4: client input that used to answer 500 (and sometimes store something) is a
/// 400 with the JSON error body, and nothing is stored.
/// </summary>
public sealed class InputHardeningTests : IDisposable
{
    private readonly GatewayFactory _gateway = new();

    public void Dispose() => _gateway.Dispose();

    private async Task<HttpClient> UserAsync()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        return _gateway.ClientWithKey(key);
    }

    private static async Task AssertNoByokKeysAsync(HttpClient client) =>
        Assert.Empty((await (await client.GetAsync("/api/v1/llm/byok/keys")).OkJsonAsync()).GetProperty("data").EnumerateArray());

    [Theory]
    [InlineData("sk-proj-alice-own-key-1111111111111111111111\n")]   // .NET's $ matched before a final newline
    [InlineData("sk-proj-alice-own-key-1111111111111111111111\r\n")]
    public async Task A_byok_key_with_a_trailing_newline_is_a_400_and_not_stored(string apiKey)
    {
        using var client = await UserAsync();

        var response = await client.PostJsonAsync("/api/v1/llm/byok/keys", new { provider = "openai", api_key = apiKey });

        await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "invalid_value", "api_key");
        await AssertNoByokKeysAsync(client);
    }

    [Theory]
    [InlineData("""{"note":"\ud800"}""")]
    [InlineData("""{"\udc00":"x"}""")]
    [InlineData("""{"list":["ok","\ud83d"]}""")]
    public async Task Byok_metadata_with_a_lone_surrogate_is_a_400_and_not_stored(string metadata)
    {
        using var client = await UserAsync();

        var response = await client.PostAsync("/api/v1/llm/byok/keys",
            Api.Raw($$"""{"provider":"openai","api_key":"sk-proj-alice-own-key-1111111111111111111111","metadata":{{metadata}}}"""));

        await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "invalid_value", "metadata");
        await AssertNoByokKeysAsync(client);
    }

    [Fact]
    public async Task Byok_metadata_with_a_proper_surrogate_pair_is_kept()
    {
        using var client = await UserAsync();

        var response = await client.PostAsync("/api/v1/llm/byok/keys",
            Api.Raw("""{"provider":"openai","api_key":"sk-proj-alice-own-key-1111111111111111111111","metadata":{"note":"\ud83d\ude00"}}"""));

        var json = await response.OkJsonAsync();
        Assert.Equal("😀", json.GetProperty("metadata").Str("note"));
    }

    [Theory]
    [InlineData("/api/v1/admin/users", """{"name":"x","tier":"managed","credits":79300000000000000000000000}""", "credits")]
    [InlineData("/api/v1/admin/users", """{"name":"x","tier":"managed","credits":7.9e27}""", "credits")]
    public async Task Huge_admin_amounts_are_a_400_not_an_overflow(string path, string body, string param)
    {
        using var admin = _gateway.AdminClient();
        var before = (await (await admin.GetAsync("/api/v1/admin/users")).OkJsonAsync()).GetProperty("data").GetArrayLength();

        var response = await admin.PostAsync(path, Api.Raw(body));

        var error = await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "invalid_value", param);
        Assert.DoesNotContain("Exception", error.Str("message"));
        Assert.Equal(before, (await (await admin.GetAsync("/api/v1/admin/users")).OkJsonAsync()).GetProperty("data").GetArrayLength());
    }

    [Theory]
    [InlineData("credits", """{"amount":9000000000000000000000000000,"reason":"x"}""", "amount")]
    [InlineData("limits", """{"monthly_cap":79300000000000000000000000}""", "monthly_cap")]
    public async Task Huge_grants_and_caps_are_a_400_and_change_nothing(string what, string body, string param)
    {
        var (userId, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var admin = _gateway.AdminClient();
        using var client = _gateway.ClientWithKey(key);

        var response = what == "credits"
            ? await admin.PostAsync($"/api/v1/admin/users/{userId}/credits", Api.Raw(body))
            : await admin.PutAsync($"/api/v1/admin/users/{userId}/limits", Api.Raw(body));

        await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "invalid_value", param);
        Assert.Equal(10m, (await client.CreditsAsync()).Dec("credits_remaining"));
        Assert.Equal(["grant"], (await client.HistoryAsync()).Transactions().Select(t => t.Str("type")!).ToArray());
    }
}
