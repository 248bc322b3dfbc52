using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Generation;

/// <summary>Idempotency-Key with Stripe semantics (DESIGN §3): replays never charge twice.</summary>
public sealed class IdempotencyTests : IDisposable
{
    private readonly GatewayFactory _gateway = new();

    public void Dispose() => _gateway.Dispose();

    private const string Body = """{"prompt":"a lantern","model":"builtin-preview","size":"256x256","response_format":"b64_json"}""";

    private static HttpRequestMessage Generate(string key, string body = Body) => new(HttpMethod.Post, "/api/v1/llm/images/generations")
    {
        Content = new StringContent(body, Encoding.UTF8, "application/json"),
        Headers = { { "Idempotency-Key", key } },
    };

    private static async Task<(decimal Balance, int Settles)> MoneyAsync(HttpClient client)
    {
        var credits = JsonDocument.Parse(await client.GetStringAsync("/api/v1/llm/credits")).RootElement;
        var history = JsonDocument.Parse(await client.GetStringAsync("/api/v1/llm/credits/history?limit=200")).RootElement;
        return (credits.GetProperty("credits_remaining").GetDecimal(),
            history.GetProperty("transactions").EnumerateArray().Count(t => t.GetProperty("type").GetString() == "settle"));
    }

    [Fact]
    public async Task The_same_key_and_body_replays_the_identical_response_with_one_charge()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);

        var first = await client.SendAsync(Generate("order-1"));
        _gateway.Time.Advance(TimeSpan.FromMinutes(5));
        var second = await client.SendAsync(Generate("order-1"));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(await first.Content.ReadAsByteArrayAsync(), await second.Content.ReadAsByteArrayAsync());
        Assert.Equal("true", second.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal((8.8m, 1), await MoneyAsync(client));
    }

    [Fact]
    public async Task Twenty_concurrent_copies_produce_one_charge()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => client.SendAsync(Generate("burst"))));

        Assert.All(responses, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.Conflict }));
        Assert.Contains(responses, r => r.StatusCode == HttpStatusCode.OK);
        Assert.Equal((8.8m, 1), await MoneyAsync(client));
        // Once the first has finished, a retry replays it.
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(Generate("burst"))).StatusCode);
        Assert.Equal((8.8m, 1), await MoneyAsync(client));
    }

    [Fact]
    public async Task The_same_key_with_a_different_body_is_422()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);
        (await client.SendAsync(Generate("k"))).EnsureSuccessStatusCode();

        var reused = await client.SendAsync(Generate("k", Body.Replace("a lantern", "a kettle")));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, reused.StatusCode);
        var error = JsonDocument.Parse(await reused.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal("idempotency_key_reused", error.GetProperty("code").GetString());
        Assert.Equal((8.8m, 1), await MoneyAsync(client));
    }

    [Fact]
    public async Task Keys_are_scoped_per_account()
    {
        var (_, alice) = await _gateway.CreateUserAsync("managed", 10m, "alice");
        var (_, bob) = await _gateway.CreateUserAsync("managed", 10m, "bob");
        using var a = _gateway.ClientWithKey(alice);
        using var b = _gateway.ClientWithKey(bob);

        var first = await a.SendAsync(Generate("shared-key"));
        var other = await b.SendAsync(Generate("shared-key"));

        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        Assert.False(other.Headers.Contains("Idempotent-Replayed"));
        Assert.NotEqual(await first.Content.ReadAsStringAsync(), await other.Content.ReadAsStringAsync());
        Assert.Equal((8.8m, 1), await MoneyAsync(a));
        Assert.Equal((8.8m, 1), await MoneyAsync(b));
    }

    [Fact]
    public async Task Keys_expire_after_24_hours()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);
        (await client.SendAsync(Generate("daily"))).EnsureSuccessStatusCode();

        _gateway.Time.Advance(TimeSpan.FromHours(23));
        Assert.True((await client.SendAsync(Generate("daily"))).Headers.Contains("Idempotent-Replayed"));
        Assert.Equal((8.8m, 1), await MoneyAsync(client));

        _gateway.Time.Advance(TimeSpan.FromHours(1));
        var fresh = await client.SendAsync(Generate("daily"));
        Assert.Equal(HttpStatusCode.OK, fresh.StatusCode);
        Assert.False(fresh.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal((7.6m, 2), await MoneyAsync(client));
    }

    [Fact]
    public async Task A_failed_request_frees_its_key_for_a_retry()
    {
        var (userId, key) = await _gateway.CreateUserAsync("managed", 1m);
        using var client = _gateway.ClientWithKey(key);

        Assert.Equal(HttpStatusCode.PaymentRequired, (await client.SendAsync(Generate("retry-me"))).StatusCode);
        using (var admin = _gateway.AdminClient())
            (await admin.PostAsJsonAsync($"/api/v1/admin/users/{userId}/credits", new { amount = 5 })).EnsureSuccessStatusCode();
        var retried = await client.SendAsync(Generate("retry-me"));

        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        Assert.Equal((4.8m, 1), await MoneyAsync(client));
    }
}
