using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using ImageGateway.Billing;
using ImageGateway.Data;
using ImageGateway.IntegrationTests.Support;
using Microsoft.Data.Sqlite;
using Xunit.Abstractions;

namespace ImageGateway.IntegrationTests.Reliability;

/// <summary>
/// Issue 23, finding 2: kill -9 with 64 keyed generations in flight, half of them released by the
/// upstream just before the kill, so some are charged and some of those are not yet delivered.
/// After the restart every key is sent again with its body: each must either replay the charged
/// answer byte for byte or run again; none may be stuck (409), and none may be charged twice.
/// </summary>
public sealed class IdempotencyCrashTests(ITestOutputHelper output)
{
    private const int InFlight = 64;
    private const decimal Start = 100_000m;

    private static Dictionary<string, string> Settings(SlowOpenAi upstream) => new()
    {
        ["Gateway__Providers__openai__BaseUrl"] = upstream.BaseUrl.ToString().TrimEnd('/'),
        ["Gateway__Providers__openai__ApiKey"] = "sk-crash-test-key",
        ["Gateway__Providers__openai__TimeoutSeconds"] = "600",
        ["Gateway__Providers__openai__MaxRetries"] = "0",
        ["Gateway__Providers__openrouter__ApiKey"] = "",
        ["OPENAI_API_KEY"] = "",
        ["OPENROUTER_API_KEY"] = "",
    };

    private static HttpRequestMessage Keyed(int i)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/llm/images/generations")
        {
            Content = JsonContent.Create(new { model = "dall-e-3", prompt = $"keyed {i}", size = "1024x1024", response_format = "url" }),
        };
        request.Headers.Add("Idempotency-Key", $"crash-key-{i}");
        return request;
    }

    [Fact]
    public async Task After_kill_9_every_key_replays_its_charged_answer_or_runs_again_and_none_is_charged_twice()
    {
        await using var upstream = await SlowOpenAi.StartAsync(answerFirst: 0);
        var data = Path.Combine(Path.GetTempPath(), "igw-crash", Guid.NewGuid().ToString("N"));
        var first = await GatewayProcess.StartAsync(Settings(upstream), data);
        GatewayProcess? second = null;
        try
        {
            var (userId, key) = await first.CreateUserAsync("managed", Start);
            using (var admin = first.Client(GatewayProcess.AdminKey))
                (await admin.PutAsJsonAsync($"/api/v1/admin/users/{userId}/limits",
                    new { per_minute = 0, per_hour = 0, per_day = 0, per_month = 0 })).EnsureSuccessStatusCode();

            using var client = first.Client(key);
            client.Timeout = TimeSpan.FromMinutes(5);
            var pending = Enumerable.Range(0, InFlight).Select(i => client.SendAsync(Keyed(i))).ToArray();
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (upstream.Stalled < InFlight && DateTime.UtcNow < deadline) await Task.Delay(50);
            Assert.Equal(InFlight, upstream.Stalled);

            // Half the upstream calls answer; the process dies while their charges and answers are on the way.
            // The kill comes as soon as the first charges are committed, so others are mid-way.
            upstream.Release(InFlight / 2);
            var dbPath = Path.Combine(data, "gateway.db");
            await using (var watch = new SqliteConnection($"Data Source={dbPath};Mode=ReadOnly"))
            {
                deadline = DateTime.UtcNow.AddSeconds(30);
                while (DateTime.UtcNow < deadline && await watch.ExecuteScalarAsync<long>(
                    "SELECT COUNT(*) FROM ledger_entries WHERE kind = 'settle'") < 1)
                {
                    // No delay: the kill must land while the other charges and answers are on their way.
                }
            }
            first.Kill();

            var delivered = new Dictionary<int, string>();
            for (var i = 0; i < InFlight; i++)
            {
                try
                {
                    var response = await pending[i];
                    if (response.StatusCode == HttpStatusCode.OK) delivered[i] = await response.Content.ReadAsStringAsync();
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException) { }
            }
            SqliteConnection.ClearAllPools();
            long settledBefore;
            await using (var db = new SqliteConnection($"Data Source={dbPath}"))
                settledBefore = await db.ExecuteScalarAsync<long>(
                    "SELECT COUNT(*) FROM ledger_entries WHERE account_id = @userId AND kind = 'settle'", new { userId });
            output.WriteLine($"before restart: {delivered.Count} delivered, {settledBefore} charged, {InFlight - settledBefore} not charged");
            SqliteConnection.ClearAllPools();

            upstream.AnswerFirst = int.MaxValue; // after the restart the upstream answers at once
            second = await GatewayProcess.StartAsync(Settings(upstream), data);
            using var after = second.Client(key);
            var (replayed, ranAgain) = (0, 0);
            decimal paid = 0;
            for (var i = 0; i < InFlight; i++)
            {
                var response = await after.SendAsync(Keyed(i));
                var text = await response.Content.ReadAsStringAsync();
                Assert.True(response.StatusCode == HttpStatusCode.OK, $"key {i}: {(int)response.StatusCode} {text}");
                var isReplay = response.Headers.TryGetValues("Idempotent-Replayed", out var values) && values.Single() == "true";
                if (isReplay) replayed++; else ranAgain++;
                if (delivered.TryGetValue(i, out var original))
                {
                    Assert.True(isReplay, $"key {i} was delivered before the crash but ran again");
                    Assert.Equal(original, text); // byte for byte
                }
                using var json = JsonDocument.Parse(text);
                paid += json.RootElement.GetProperty("_metadata").GetProperty("cost_incurred").GetDecimal();
            }
            output.WriteLine($"after restart: {replayed} replayed, {ranAgain} ran again");
            Assert.Equal(settledBefore, replayed); // every charged key replays; every uncharged one runs

            using (var credits = JsonDocument.Parse(await after.GetStringAsync("/api/v1/llm/credits")))
            {
                Assert.Equal(Start - paid, credits.RootElement.GetProperty("credits_remaining").GetDecimal());
                Assert.Equal(0m, credits.RootElement.GetProperty("reserved").GetDecimal());
            }
            var ledger = new CreditLedger(new Database(SqliteDialect.ForFile(dbPath)), TimeProvider.System);
            Assert.Empty(await ledger.VerifyAsync(userId));
            await using (var db = new SqliteConnection($"Data Source={dbPath};Mode=ReadOnly"))
            {
                Assert.Equal((long)InFlight, await db.ExecuteScalarAsync<long>(
                    "SELECT COUNT(*) FROM ledger_entries WHERE account_id = @userId AND kind = 'settle'", new { userId }));
                Assert.Equal(0L, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM idempotency_keys WHERE state = 'running'"));
            }
        }
        finally
        {
            first.Kill();
            if (second is not null) await second.DisposeAsync();
            await first.DisposeAsync();
        }
    }
}
