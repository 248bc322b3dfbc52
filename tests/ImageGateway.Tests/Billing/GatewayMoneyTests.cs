using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using ImageGateway.Billing;
using ImageGateway.Tests.Support;
using Xunit.Abstractions;

namespace ImageGateway.Tests.Billing;

public sealed class SqliteGatewayMoneyTests(ITestOutputHelper output) : GatewayMoneyTests(output)
{
    protected override DbKind Kind => DbKind.Sqlite;
}

/// <summary>
/// Money through the HTTP API under concurrency, on each database kind: the balance check, the
/// monthly cap and the ledger invariants must hold exactly however the requests interleave.
/// PostgresGatewayMoneyTests (in ImageGateway.IntegrationTests) runs them on PostgreSQL.
/// </summary>
public abstract class GatewayMoneyTests(ITestOutputHelper output) : DualDatabaseTests
{
    private const decimal BuiltinPrice = 1.2m; // managed tier, one 256x256 builtin image

    protected override bool CreatesDatabase => false; // the gateway gets its own, of Kind

    private readonly GatewayFactory _gateway = new();

    public override Task InitializeAsync() => UseKindAsync(_gateway);

    public override Task DisposeAsync()
    {
        _gateway.Dispose();
        return Task.CompletedTask;
    }

    /// <summary>A managed user with no rate-limit windows, so only money can refuse a request.</summary>
    private async Task<(string UserId, string Key)> UnlimitedUserAsync(decimal credits, decimal monthlyCap = 0m)
    {
        var (userId, key) = await _gateway.CreateUserAsync("managed", credits);
        using var admin = _gateway.AdminClient();
        var response = await admin.PutAsJsonAsync($"/api/v1/admin/users/{userId}/limits",
            new { per_minute = 0, per_hour = 0, per_day = 0, per_month = 0, monthly_cap = monthlyCap });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (userId, key);
    }

    private async Task AssertLedgerSoundAsync(string userId)
    {
        var problems = await _gateway.Service<CreditLedger>().VerifyAsync(userId);
        Assert.True(problems.Count == 0, "ledger problems:\n" + string.Join("\n", problems));
    }

    private async Task<HttpResponseMessage[]> FireAsync(HttpClient client, int requests)
    {
        // The gateway really runs on the database this class is about.
        Assert.Equal(Kind == DbKind.Postgres ? "postgres" : "sqlite", _gateway.Service<ImageGateway.Data.Database>().Dialect.Name);
        var watch = Stopwatch.StartNew();
        var responses = await Task.WhenAll(Enumerable.Range(0, requests).Select(i =>
            client.PostJsonAsync("/api/v1/llm/images/generations", Api.BuiltinBody($"concurrent {i}", format: "b64_json"))));
        output.WriteLine($"{Kind}: {requests} concurrent generations in {watch.ElapsedMilliseconds} ms: " +
            string.Join(", ", responses.GroupBy(r => (int)r.StatusCode).OrderBy(g => g.Key).Select(g => $"{g.Count()} x {g.Key}")));
        return responses;
    }

    [SkippableFact]
    public async Task Two_hundred_concurrent_generations_on_a_balance_for_seventy_serve_exactly_seventy()
    {
        const int covered = 70;
        var (userId, key) = await UnlimitedUserAsync(covered * BuiltinPrice);
        using var client = _gateway.ClientWithKey(key);

        var responses = await FireAsync(client, 200);

        Assert.Equal(covered, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        var refused = responses.Where(r => r.StatusCode != HttpStatusCode.OK).ToArray();
        Assert.Equal(200 - covered, refused.Length);
        foreach (var response in refused.Take(5))
            await Api.AssertErrorAsync(response, HttpStatusCode.PaymentRequired, "insufficient_quota", "insufficient_credits");
        Assert.All(refused, r => Assert.Equal(HttpStatusCode.PaymentRequired, r.StatusCode));

        var credits = await client.CreditsAsync();
        Assert.Equal(0m, credits.Dec("credits_remaining"));
        Assert.Equal(0m, credits.Dec("reserved"));
        // The grant, then a reserve and a settle per served image; refusals write nothing.
        Assert.Equal(1 + 2 * covered, (await client.HistoryAsync()).GetProperty("total").GetInt32());
        await AssertLedgerSoundAsync(userId);
    }

    [SkippableFact]
    public async Task Concurrent_generations_cannot_spend_past_the_monthly_cap()
    {
        var (userId, key) = await UnlimitedUserAsync(1000m, monthlyCap: 25 * BuiltinPrice);
        using var client = _gateway.ClientWithKey(key);

        var responses = await FireAsync(client, 120);

        Assert.Equal(25, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        Assert.Equal(95, responses.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests));
        var credits = await client.CreditsAsync();
        Assert.Equal(1000m - 25 * BuiltinPrice, credits.Dec("credits_remaining"));
        Assert.Equal(25 * BuiltinPrice, credits.Dec("monthly_spent"));
        Assert.Equal(0m, credits.Dec("reserved"));
        await AssertLedgerSoundAsync(userId);
    }

    [SkippableFact]
    public async Task Concurrent_generations_from_many_accounts_charge_each_exactly()
    {
        var users = new List<(string UserId, string Key)>();
        for (var i = 0; i < 8; i++) users.Add(await UnlimitedUserAsync(10 * BuiltinPrice));
        var clients = users.Select(u => _gateway.ClientWithKey(u.Key)).ToArray();
        Assert.Equal(Kind == DbKind.Postgres ? "postgres" : "sqlite", _gateway.Service<ImageGateway.Data.Database>().Dialect.Name);
        try
        {
            // 15 requests per account for 10 images' worth of credits, all accounts at once.
            var responses = await Task.WhenAll(clients.SelectMany((c, i) => Enumerable.Range(0, 15).Select(async j =>
                (Account: i, Response: await c.PostJsonAsync("/api/v1/llm/images/generations",
                    Api.BuiltinBody($"account {i} request {j}", format: "b64_json"))))));

            for (var i = 0; i < users.Count; i++)
            {
                var mine = responses.Where(r => r.Account == i).Select(r => r.Response.StatusCode).ToArray();
                Assert.Equal(10, mine.Count(s => s == HttpStatusCode.OK));
                Assert.Equal(5, mine.Count(s => s == HttpStatusCode.PaymentRequired));
                Assert.Equal(0m, (await clients[i].CreditsAsync()).Dec("credits_remaining"));
                await AssertLedgerSoundAsync(users[i].UserId);
            }
        }
        finally
        {
            foreach (var c in clients) c.Dispose();
        }
    }
}
