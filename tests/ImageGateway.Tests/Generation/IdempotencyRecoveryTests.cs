using System.Net;
using System.Text;
using System.Text.Json;
using Dapper;
using ImageGateway.Hosting;
using ImageGateway.Tests.Support;
using Microsoft.Data.Sqlite;

namespace ImageGateway.Tests.Generation;

/// <summary>
/// Issue 23, findings 2 and 9: an Idempotency-Key left <c>running</c> by a request that died is
/// released (at start-up when the gateway is the only process, by the sweeper once the hold timeout
/// has passed), and an answer too large to keep is not kept, but its replay still says it was charged.
/// </summary>
public sealed class IdempotencyRecoveryTests
{
    private const string Body = """{"prompt":"a lantern","model":"builtin-preview","size":"256x256","response_format":"b64_json"}""";

    private static HttpRequestMessage Generate(string key) => new(HttpMethod.Post, "/api/v1/llm/images/generations")
    {
        Content = new StringContent(Body, Encoding.UTF8, "application/json"),
        Headers = { { "Idempotency-Key", key } },
    };

    /// <summary>The gateway's hash of the body (SHA-256 of its bytes, lower-case hex): the same request sent again.</summary>
    private static readonly string BodyHash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(Body)));

    /// <summary>What a request that died between its claim and its charge leaves: the key, running.</summary>
    private static async Task LeaveRunningKeyAsync(GatewayFactory gateway, string userId, string key, DateTimeOffset at)
    {
        await using var db = new SqliteConnection($"Data Source={Path.Combine(gateway.DataDirectory, "gateway.db")}");
        await db.ExecuteAsync(
            "INSERT INTO idempotency_keys (account_id, key, request_hash, state, created_at) VALUES (@userId, @key, @hash, 'running', @at)",
            new { userId, key, hash = BodyHash, at = at.ToUnixTimeMilliseconds() });
    }

    /// <summary>These tests read and write the SQLite file itself, whatever database the suite runs on.</summary>
    private static GatewayFactory Sqlite(string? dataDirectory = null)
    {
        var gateway = dataDirectory is null ? new GatewayFactory() : new GatewayFactory { DataDirectory = dataDirectory };
        gateway.Settings["Gateway:Database:Provider"] = "sqlite";
        return gateway;
    }

    private static async Task<decimal> BalanceAsync(HttpClient client) =>
        (await client.CreditsAsync()).Dec("credits_remaining");

    [Fact]
    public async Task A_key_left_running_by_a_crash_is_released_at_the_next_start()
    {
        using var before = Sqlite();
        var (userId, key) = await before.CreateUserAsync("managed", 10m);
        using (var client = before.ClientWithKey(key)) Assert.Equal(10m, await BalanceAsync(client));
        await LeaveRunningKeyAsync(before, userId, "order-1", before.Time.GetUtcNow());
        using (var client = before.ClientWithKey(key))
            Assert.Equal(HttpStatusCode.Conflict, (await client.SendAsync(Generate("order-1"))).StatusCode); // it looks live

        using var after = Sqlite(before.DataDirectory);
        using var restarted = after.ClientWithKey(key);
        var response = await restarted.SendAsync(Generate("order-1"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(response.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(8.8m, await BalanceAsync(restarted));
        Assert.Contains("Released 1 Idempotency-Keys", after.Logs.All);
    }

    [Fact]
    public async Task The_sweeper_releases_a_running_key_once_its_hold_has_timed_out()
    {
        using var gateway = Sqlite();
        gateway.Settings["Gateway:Billing:HoldTimeoutSeconds"] = "60";
        var (userId, key) = await gateway.CreateUserAsync("managed", 10m);
        using var client = gateway.ClientWithKey(key);
        await LeaveRunningKeyAsync(gateway, userId, "young", gateway.Time.GetUtcNow());
        await LeaveRunningKeyAsync(gateway, userId, "old", gateway.Time.GetUtcNow().AddSeconds(-61));

        await gateway.Service<Housekeeping>().RunOnceAsync(CancellationToken.None);

        // A request younger than the hold timeout may still be running on another process: its key stays.
        Assert.Equal(HttpStatusCode.Conflict, (await client.SendAsync(Generate("young"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(Generate("old"))).StatusCode);
        Assert.Equal(8.8m, await BalanceAsync(client));
    }

    [Fact]
    public async Task An_answer_over_the_size_kept_replays_as_a_409_that_says_it_was_charged_and_never_runs_again()
    {
        using var gateway = Sqlite();
        gateway.Settings["Gateway:Idempotency:MaxStoredAnswerBytes"] = "2048"; // a 256x256 b64 answer is larger
        var (_, key) = await gateway.CreateUserAsync("managed", 10m);
        using var client = gateway.ClientWithKey(key);

        var first = await client.SendAsync(Generate("big"));
        var firstText = await first.Content.ReadAsStringAsync();
        var replay = await client.SendAsync(Generate("big"));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.True(Encoding.UTF8.GetByteCount(firstText) > 2048);
        var error = await Api.AssertErrorAsync(replay, HttpStatusCode.Conflict, "invalid_request_error", "idempotency_answer_not_kept");
        Assert.Equal("true", replay.Headers.GetValues("Idempotent-Replayed").Single());
        var transaction = JsonDocument.Parse(firstText).RootElement.GetProperty("_metadata").Str("transaction_id")!;
        Assert.Contains("charged 1.2 credits", error.Str("message"));
        Assert.Contains(transaction, error.Str("message"));
        Assert.Contains("response_format \"url\"", error.Str("message"));
        Assert.Equal(8.8m, await BalanceAsync(client)); // charged once

        await using var db = new SqliteConnection($"Data Source={Path.Combine(gateway.DataDirectory, "gateway.db")};Mode=ReadOnly");
        Assert.True(await db.ExecuteScalarAsync<long>("SELECT LENGTH(response) FROM idempotency_keys WHERE key = 'big'") < 2048);
    }
}
