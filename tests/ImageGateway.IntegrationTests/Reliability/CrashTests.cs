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
/// kill -9 with generations in flight: the gateway process is killed (SIGKILL: Process.Kill on
/// Linux) while a slow upstream holds 50 generations, then restarted on the same data folder. The
/// credit holds those requests took must all be released, the balance must be exactly what the
/// finished requests paid, and no half-written image may ever be served.
/// </summary>
public sealed class CrashTests(ITestOutputHelper output)
{
    private const decimal PricePerImage = 48m; // dall-e-3 standard 1024x1024: 40 × 1.2 (managed)
    private const decimal Start = 10_000m;
    private const int Finished = 5;

    private static int InFlight =>
        int.TryParse(System.Environment.GetEnvironmentVariable("IGW_RELIABILITY_CRASH_IN_FLIGHT"), out var n) && n > 0 ? n : 50;

    private static Dictionary<string, string> Settings(SlowOpenAi upstream, int holdTimeoutSeconds) => new()
    {
        ["Gateway__Providers__openai__BaseUrl"] = upstream.BaseUrl.ToString().TrimEnd('/'),
        ["Gateway__Providers__openai__ApiKey"] = "sk-crash-test-key",
        ["Gateway__Providers__openai__TimeoutSeconds"] = "600",
        ["Gateway__Providers__openai__MaxRetries"] = "0",
        ["Gateway__Providers__openrouter__ApiKey"] = "",
        ["OPENAI_API_KEY"] = "",
        ["OPENROUTER_API_KEY"] = "",
        ["Gateway__Billing__HoldTimeoutSeconds"] = holdTimeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private static object Body(string prompt) =>
        new { model = "dall-e-3", prompt, size = "1024x1024", response_format = "url" };

    [Fact]
    public async Task Killing_the_process_mid_generation_releases_every_hold_and_serves_no_partial_file()
    {
        var inFlight = InFlight;
        await using var upstream = await SlowOpenAi.StartAsync(answerFirst: Finished);
        var data = Path.Combine(Path.GetTempPath(), "igw-crash", Guid.NewGuid().ToString("N"));
        var first = await GatewayProcess.StartAsync(Settings(upstream, holdTimeoutSeconds: 900), data);
        GatewayProcess? second = null;
        try
        {
            var (userId, key) = await first.CreateUserAsync("managed", Start);
            using (var admin = first.Client(GatewayProcess.AdminKey))
            {
                var limits = await admin.PutAsJsonAsync($"/api/v1/admin/users/{userId}/limits",
                    new { per_minute = 0, per_hour = 0, per_day = 0, per_month = 0 });
                Assert.True(limits.IsSuccessStatusCode, await limits.Content.ReadAsStringAsync());
            }

            // A few generations finish before the crash: their images are complete files.
            using var client = first.Client(key);
            var urls = new List<string>();
            for (var i = 0; i < Finished; i++)
            {
                var response = await client.PostAsJsonAsync("/api/v1/llm/images/generations", Body($"finished {i}"));
                var text = await response.Content.ReadAsStringAsync();
                Assert.True(response.StatusCode == HttpStatusCode.OK, text);
                using var json = JsonDocument.Parse(text);
                urls.Add(json.RootElement.GetProperty("data")[0].GetProperty("url").GetString()!);
            }

            // Then the slow upstream holds the next ones.
            using var flightClient = first.Client(key);
            flightClient.Timeout = TimeSpan.FromMinutes(5);
            var pending = Enumerable.Range(0, inFlight)
                .Select(i => flightClient.PostAsJsonAsync("/api/v1/llm/images/generations", Body($"in flight {i}")))
                .ToArray();
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (upstream.Stalled < inFlight && DateTime.UtcNow < deadline) await Task.Delay(50);
            Assert.Equal(inFlight, upstream.Stalled);
            using (var during = JsonDocument.Parse(await client.GetStringAsync("/api/v1/llm/credits")))
                Assert.Equal(inFlight * PricePerImage, during.RootElement.GetProperty("reserved").GetDecimal());

            first.Kill(); // SIGKILL: no shutdown hook, no finally block in the gateway runs
            foreach (var request in pending)
                await Assert.ThrowsAnyAsync<Exception>(() => request); // none of them got an answer
            var dbPath = Path.Combine(data, "gateway.db");
            SqliteConnection.ClearAllPools();

            // The crash left the holds open in the database; only the restart can release them.
            await using (var db = new SqliteConnection($"Data Source={dbPath}"))
            {
                Assert.Equal((long)inFlight, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM reservations WHERE state = 'open'"));
                Assert.Equal((long)(inFlight * PricePerImage * 1000),
                    await db.ExecuteScalarAsync<long>("SELECT reserved_mc FROM accounts WHERE id = @userId", new { userId }));
            }

            // A write cut off by the crash leaves only a .tmp: simulate one for the last finished image.
            var images = Path.Combine(data, "images");
            var victimUrl = urls[^1];
            var victimName = new Uri(victimUrl).Segments[^1];
            var victimPath = Path.Combine(images, victimName);
            var victimBytes = await File.ReadAllBytesAsync(victimPath);
            File.Delete(victimPath);
            await File.WriteAllBytesAsync(victimPath + ".tmp", victimBytes.AsMemory(0, victimBytes.Length / 2).ToArray());
            SqliteConnection.ClearAllPools();

            second = await GatewayProcess.StartAsync(Settings(upstream, holdTimeoutSeconds: 2), data);
            Assert.Contains($"Released {inFlight} credit holds left open by a previous run", second.Output);

            using var after = second.Client(key);
            using (var credits = JsonDocument.Parse(await after.GetStringAsync("/api/v1/llm/credits")))
            {
                output.WriteLine($"after restart: {credits.RootElement}");
                Assert.Equal(Start - Finished * PricePerImage, credits.RootElement.GetProperty("credits_remaining").GetDecimal());
                Assert.Equal(0m, credits.RootElement.GetProperty("reserved").GetDecimal());
            }

            var ledger = new CreditLedger(new Database(SqliteDialect.ForFile(dbPath)), TimeProvider.System);
            Assert.Empty(await ledger.VerifyAsync(userId));
            await using (var db = new SqliteConnection($"Data Source={dbPath};Mode=ReadOnly"))
            {
                Assert.Equal(0L, await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM reservations WHERE state = 'open'"));
                Assert.Equal((long)inFlight, await db.ExecuteScalarAsync<long>(
                    "SELECT COUNT(*) FROM ledger_entries WHERE account_id = @userId AND kind = 'expire_hold'", new { userId }));
                Assert.Equal((long)Finished, await db.ExecuteScalarAsync<long>(
                    "SELECT COUNT(*) FROM ledger_entries WHERE account_id = @userId AND kind = 'settle'", new { userId }));
                var sum = await db.ExecuteScalarAsync<long>("SELECT SUM(amount_mc) FROM ledger_entries WHERE account_id = @userId", new { userId });
                Assert.Equal((long)((Start - Finished * PricePerImage) * 1000), sum);
                var open = await db.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM reservations WHERE account_id = @userId", new { userId });
                output.WriteLine($"reservations for the user: {open} (finished {Finished}, released at start-up {inFlight}); ledger Σ amount {sum} mc");
            }

            // No partial file is served: the finished images are whole PNGs, the cut-off one is a 404
            // under its own URL and under the .tmp name.
            using var anonymous = second.Client();
            foreach (var url in urls.Take(Finished - 1))
            {
                var response = await anonymous.GetAsync(new Uri(url).PathAndQuery); // the URL names the old process's port
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.True(IsCompletePng(await response.Content.ReadAsByteArrayAsync()));
            }
            var victim = new Uri(victimUrl);
            Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync(victim.PathAndQuery)).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync(victim.AbsolutePath + ".tmp" + victim.Query)).StatusCode);
            var files = Directory.GetFiles(images).Where(f => !f.EndsWith(".tmp", StringComparison.Ordinal)).ToArray();
            Assert.Equal(Finished - 1, files.Length);
            Assert.All(files, f => Assert.True(IsCompletePng(File.ReadAllBytes(f)), f));
        }
        finally
        {
            first.Kill();
            if (second is not null) await second.DisposeAsync();
            await first.DisposeAsync();
        }
    }

    /// <summary>A PNG signature at the start and the IEND chunk (with its CRC) as the last 12 bytes.</summary>
    private static bool IsCompletePng(byte[] bytes) =>
        bytes.Length > 57
        && bytes.AsSpan(0, 8).SequenceEqual(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A })
        && bytes.AsSpan(bytes.Length - 12).SequenceEqual(new byte[] { 0, 0, 0, 0, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82 });
}
