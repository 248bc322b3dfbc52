using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Http;

/// <summary>Framework binding failures still name the field in the client's terms, never an internal type.</summary>
public sealed class BindingErrorTests : IDisposable
{
    private readonly GatewayFactory _gateway = new();

    public void Dispose() => _gateway.Dispose();

    private static async Task<JsonElement> ErrorOf(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("ImageGateway.", body);
        Assert.DoesNotContain("Nullable", body);
        return JsonDocument.Parse(body).RootElement.GetProperty("error").Clone();
    }

    [Fact]
    public async Task A_body_field_of_the_wrong_type_is_named()
    {
        using var admin = _gateway.AdminClient();
        var error = await ErrorOf(await admin.PostAsync("/api/v1/admin/users",
            new StringContent("""{"name":"x","credits":"lots"}""", System.Text.Encoding.UTF8, "application/json")));
        Assert.Equal("invalid_type", error.GetProperty("code").GetString());
        Assert.Equal("credits", error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task A_query_parameter_that_does_not_parse_is_named()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 1m);
        using var client = _gateway.ClientWithKey(key);
        var error = await ErrorOf(await client.GetAsync("/api/v1/llm/credits/history?limit=abc"));
        Assert.Equal("limit", error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task A_grant_past_the_maximum_balance_is_a_400_not_a_500()
    {
        var (userId, _) = await _gateway.CreateUserAsync("managed", 1m);
        using var admin = _gateway.AdminClient();
        var error = await ErrorOf(await admin.PostAsJsonAsync($"/api/v1/admin/users/{userId}/credits", new { amount = 9_000_000_000_000m }));
        Assert.Equal("amount", error.GetProperty("param").GetString());
        var user = JsonDocument.Parse(await admin.GetStringAsync($"/api/v1/admin/users/{userId}")).RootElement;
        Assert.Equal(1m, user.GetProperty("credits_remaining").GetDecimal());
    }
}
