using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ImageGateway.IntegrationTests.Support;
using Xunit.Abstractions;

namespace ImageGateway.IntegrationTests.ScaleOut;

/// <summary>
/// Issue 7: two gateway processes on different ports, sharing PostgreSQL, Redis and S3, behave
/// exactly like one: money, limits and image URLs are the same whichever process answers, and a
/// process that dies leaves nothing held.
/// </summary>
public sealed class ScaleOutTests(ITestOutputHelper output)
{
    private const string GeneratePath = "/api/v1/llm/images/generations";

    private static object Builtin(string format = "b64_json", string size = "256x256") =>
        new { prompt = "a lighthouse at dusk", model = "builtin-preview", n = 1, response_format = format, size };

    private static async Task<decimal> UnitCostAsync(GatewayProcess gateway, string key)
    {
        using var client = gateway.Client(key);
        var response = await client.PostAsJsonAsync("/api/v1/llm/image/estimate", Builtin());
        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("unit_cost").GetDecimal();
    }

    private static void AssertLedgerInvariants(ScaleOutCluster.LedgerState ledger)
    {
        Assert.Equal(ledger.EntriesSumMc, ledger.BalanceMc);
        Assert.Equal(ledger.HoldsSumMc, ledger.ReservedMc);
        Assert.Equal(ledger.OpenReservationsMc, ledger.ReservedMc);
    }

    [SkippableFact]
    public async Task Four_hundred_concurrent_requests_over_two_processes_serve_exactly_what_the_balance_covers()
    {
        await using var cluster = await ScaleOutCluster.StartAsync();
        var (probeId, probeKey) = await cluster.CreateUserAsync(10m);
        var unit = await UnitCostAsync(cluster.A, probeKey);
        var (userId, key) = await cluster.CreateUserAsync(150 * unit);

        using var a = cluster.A.Client(key);
        using var b = cluster.B.Client(key);
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var requests = Enumerable.Range(0, 400).Select(i => Task.Run(async () =>
        {
            await start.Task;
            using var response = await (i % 2 == 0 ? a : b).PostAsJsonAsync(GeneratePath, Builtin());
            return (Process: i % 2, response.StatusCode);
        })).ToArray();
        start.SetResult();
        var results = await Task.WhenAll(requests);

        var ok = results.Count(r => r.StatusCode == HttpStatusCode.OK);
        var paymentRequired = results.Count(r => r.StatusCode == HttpStatusCode.PaymentRequired);
        output.WriteLine($"(a) unit cost {unit} credits, balance {150 * unit}: {ok} × 200 (A {results.Count(r => r.StatusCode == HttpStatusCode.OK && r.Process == 0)}, "
            + $"B {results.Count(r => r.StatusCode == HttpStatusCode.OK && r.Process == 1)}), {paymentRequired} × 402, "
            + $"other: {string.Join(", ", results.Where(r => r.StatusCode is not (HttpStatusCode.OK or HttpStatusCode.PaymentRequired)).Select(r => (int)r.StatusCode))}");
        Assert.Equal(150, ok);
        Assert.Equal(250, paymentRequired);
        Assert.Equal(0m, await cluster.A.CreditsAsync(key));
        Assert.Equal(0m, await cluster.B.CreditsAsync(key));

        var ledger = await cluster.LedgerAsync(userId);
        output.WriteLine($"(a) ledger: {ledger}");
        AssertLedgerInvariants(ledger);
        Assert.Equal(0, ledger.BalanceMc);
        Assert.Equal(0, ledger.OpenReservations);
        Assert.Equal(150, ledger.SettledReservations);
        AssertLedgerInvariants(await cluster.LedgerAsync(probeId));
    }

    [SkippableFact]
    public async Task One_rate_limit_window_is_enforced_across_both_processes_together()
    {
        await using var cluster = await ScaleOutCluster.StartAsync();
        var (userId, key) = await cluster.CreateUserAsync(1000m, perMinute: 30);

        // All requests must fall in one minute window.
        await MinuteWindow.EnsureLeftAsync(TimeSpan.FromSeconds(20));

        using var a = cluster.A.Client(key);
        using var b = cluster.B.Client(key);
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var requests = Enumerable.Range(0, 100).Select(i => Task.Run(async () =>
        {
            await start.Task;
            using var response = await (i % 2 == 0 ? a : b).PostAsJsonAsync(GeneratePath, Builtin());
            var limit = response.Headers.TryGetValues("X-RateLimit-Limit", out var values) ? values.Single() : null;
            return (response.StatusCode, limit);
        })).ToArray();
        start.SetResult();
        var results = await Task.WhenAll(requests);

        var ok = results.Count(r => r.StatusCode == HttpStatusCode.OK);
        var limited = results.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests);
        output.WriteLine($"(b) per_minute 30, 100 concurrent over two processes: {ok} × 200, {limited} × 429");
        Assert.Equal(30, ok);
        Assert.Equal(70, limited);
        Assert.All(results, r => Assert.Equal("30", r.limit));

        var ledger = await cluster.LedgerAsync(userId);
        AssertLedgerInvariants(ledger);
        Assert.Equal(30, ledger.SettledReservations);
    }

    [SkippableFact]
    public async Task An_image_url_answered_by_one_process_downloads_from_the_other_and_both_are_ready()
    {
        await using var cluster = await ScaleOutCluster.StartAsync();
        var (_, key) = await cluster.CreateUserAsync(100m);

        using var a = cluster.A.Client(key);
        var response = await a.PostAsJsonAsync(GeneratePath, Builtin("url"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var url = new Uri(json.RootElement.GetProperty("data")[0].GetProperty("url").GetString()!);
        Assert.Equal(cluster.A.BaseUrl.Port, url.Port); // answered by A

        using var anonymousB = cluster.B.Client();
        var fromB = await anonymousB.GetAsync(url.PathAndQuery);
        Assert.Equal(HttpStatusCode.OK, fromB.StatusCode);
        Assert.Equal("image/png", fromB.Content.Headers.ContentType?.MediaType);
        var bytes = await fromB.Content.ReadAsByteArrayAsync();
        Assert.True(bytes.AsSpan().StartsWith(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }));
        using var anonymousA = cluster.A.Client();
        Assert.Equal(bytes, await anonymousA.GetByteArrayAsync(url.PathAndQuery));
        output.WriteLine($"(c) URL from A ({url.Port}) downloaded from B ({cluster.B.BaseUrl.Port}): {(int)fromB.StatusCode}, {bytes.Length} bytes, identical to A's");

        // B checks A's signature with the shared key: a tampered one is still refused.
        var tampered = url.PathAndQuery.Replace("sig=", "sig=x", StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, (await anonymousB.GetAsync(tampered)).StatusCode);

        foreach (var gateway in new[] { cluster.A, cluster.B })
        {
            var ready = await gateway.Client().GetAsync("/readyz");
            var body = await ready.Content.ReadAsStringAsync();
            output.WriteLine($"/readyz {gateway.BaseUrl.Port}: {(int)ready.StatusCode} {body}");
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            using var readiness = JsonDocument.Parse(body);
            Assert.Equal("ok", readiness.RootElement.GetProperty("status").GetString());
            var checks = readiness.RootElement.GetProperty("checks");
            foreach (var dependency in new[] { "database", "storage", "redis" })
                Assert.Equal("ok", checks.GetProperty(dependency).GetProperty("status").GetString());
            Assert.Equal("postgres", checks.GetProperty("database").GetProperty("detail").GetString());
            Assert.Contains(cluster.Bucket, checks.GetProperty("storage").GetProperty("detail").GetString());
        }
    }

    [SkippableFact]
    public async Task When_one_process_is_killed_mid_load_the_other_keeps_serving_and_releases_its_holds()
    {
        await using var cluster = await ScaleOutCluster.StartAsync(new Dictionary<string, string>
        {
            ["Gateway__Billing__HoldTimeoutSeconds"] = "8",
            ["Gateway__Storage__SweepIntervalSeconds"] = "1",
        });
        var (userId, key) = await cluster.CreateUserAsync(100_000m);
        var before = await cluster.A.CreditsAsync(key);

        using var a = cluster.A.Client(key);
        using var b = cluster.B.Client(key);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var servedByA = 0;
        var servedByB = 0;
        var failedOnA = 0;
        var bFailures = new System.Collections.Concurrent.ConcurrentBag<string>();
        var aRefusals = new System.Collections.Concurrent.ConcurrentBag<string>();
        var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        async Task WorkerAsync(HttpClient client, bool isA)
        {
            for (var i = 0; i < 25 && !stop.IsCancellationRequested; i++)
            {
                try
                {
                    using var response = await client.PostAsJsonAsync(GeneratePath, Builtin(size: "512x512"), stop.Token);
                    if (response.StatusCode == HttpStatusCode.OK && isA) Interlocked.Increment(ref servedByA);
                    else if (response.StatusCode == HttpStatusCode.OK) Interlocked.Increment(ref servedByB);
                    else if (isA) aRefusals.Add($"{(int)response.StatusCode}");
                    else bFailures.Add($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                }
                catch (HttpRequestException) when (isA)
                {
                    Interlocked.Increment(ref failedOnA);
                    await killed.Task; // A is gone: nothing more to send there
                    return;
                }
                catch (Exception e) when (!isA)
                {
                    bFailures.Add(e.GetType().Name + ": " + e.Message);
                }
            }
        }

        var workers = Enumerable.Range(0, 4).Select(_ => WorkerAsync(a, true))
            .Concat(Enumerable.Range(0, 4).Select(_ => WorkerAsync(b, false))).ToList();
        while (Volatile.Read(ref servedByA) < 20 && !stop.IsCancellationRequested) await Task.Delay(20);
        cluster.A.Kill();
        killed.SetResult();
        var openAtKill = (await cluster.LedgerAsync(userId)).OpenReservations;
        await Task.WhenAll(workers);

        // The survivor's sweeper releases what A held once the hold timeout passes.
        var deadline = DateTime.UtcNow.AddSeconds(45);
        var ledger = await cluster.LedgerAsync(userId);
        while (ledger.OpenReservations > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
            ledger = await cluster.LedgerAsync(userId);
        }
        output.WriteLine($"(d) A served {servedByA} then was killed ({failedOnA} requests to A failed, {openAtKill} holds open right after the kill); "
            + $"A refusals {aRefusals.Count}; "
            + $"B served {servedByB} with {bFailures.Count} failures {string.Join(" | ", bFailures.Take(3))}; after the sweep: {ledger}");

        Assert.Empty(bFailures);
        Assert.Equal(4 * 25, servedByB);
        Assert.Equal(0, ledger.OpenReservations);
        Assert.Equal(0, ledger.ReservedMc);
        AssertLedgerInvariants(ledger);
        Assert.Empty(aRefusals); // before the kill, A answered every request
        // A request A settled just before it died may never have reached the client; nothing else is charged.
        Assert.InRange(ledger.SettledReservations, servedByA + servedByB, servedByA + servedByB + failedOnA);
        var unit = await UnitCostAsync(cluster.B, key);
        Assert.Equal(before - ledger.SettledReservations * unit, await cluster.B.CreditsAsync(key));
        using var afterwards = await b.PostAsJsonAsync(GeneratePath, Builtin());
        Assert.Equal(HttpStatusCode.OK, afterwards.StatusCode);
    }
}
