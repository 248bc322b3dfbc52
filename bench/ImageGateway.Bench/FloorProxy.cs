using System.Net;
using ImageGateway.Accounts;
using ImageGateway.Billing;
using ImageGateway.Data;
using ImageGateway.Usage;

namespace ImageGateway.Bench;

/// <summary>
/// The least an ASP.NET Core gateway can do for scenario (b): Kestrel takes the POST, one shared
/// HttpClient sends it on to the upstream, the answer is read whole and written back. No key
/// check, validation, rate limit, ledger, JSON parsing or logging. Measured beside the gateway it
/// shows how much of the gateway's cost per request is the framework's HTTP in and out, which no
/// change to the gateway's own code can remove. Scenario (f) of the benchmark; not part of any goal.
/// With a ledger folder it is scenario (g): the same, plus the gateway's own ledger work for each
/// request (a hold before the upstream call; the settle and its usage event in one write after
/// it, or a release when the upstream failed), through the gateway's <see cref="CreditLedger"/>
/// on an SQLite file of its own. What (g) costs over (f) is what the durable ledger costs.
/// </summary>
public static class FloorProxy
{
    public static async Task<int> RunAsync(int port, Uri upstream, string? ledgerFolder = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, AutomaticDecompression = DecompressionMethods.None })
        {
            BaseAddress = new Uri(upstream.ToString().TrimEnd('/') + "/"),
        };
        var ledger = ledgerFolder is null ? null : await FloorLedger.OpenAsync(ledgerFolder);

        app.MapGet("/", () => "floor proxy");
        app.MapPost("/v1/images/generations", async (HttpContext http) =>
        {
            var hold = ledger is null ? null : await ledger.HoldAsync();
            int status;
            byte[] bytes;
            try
            {
                var length = (int)(http.Request.ContentLength ?? 0);
                var body = new byte[length];
                await http.Request.Body.ReadExactlyAsync(body);
                using var request = new HttpRequestMessage(HttpMethod.Post, "images/generations") { Content = new ByteArrayContent(body) };
                request.Content.Headers.ContentType = new("application/json");
                request.Headers.TryAddWithoutValidation("Authorization", "Bearer sk-floor");
                using var answer = await client.SendAsync(request, http.RequestAborted);
                bytes = await answer.Content.ReadAsByteArrayAsync(http.RequestAborted);
                status = (int)answer.StatusCode;
            }
            catch when (hold is not null)
            {
                await ledger!.CloseAsync(hold, served: false);
                throw;
            }
            if (hold is not null) await ledger!.CloseAsync(hold, served: status is >= 200 and < 300);
            http.Response.StatusCode = status;
            http.Response.ContentType = "application/json";
            http.Response.ContentLength = bytes.Length;
            await http.Response.Body.WriteAsync(bytes, http.RequestAborted);
        });

        await app.StartAsync();
        Console.WriteLine($"floor proxy on http://127.0.0.1:{port} → {upstream}{(ledger is null ? "" : $", ledger in {ledgerFolder}")}");
        await app.WaitForShutdownAsync();
        if (ledger is not null) await ledger.DisposeAsync();
        return 0;
    }

    /// <summary>One account on a fresh database file, charged what the gateway charges the bench user for a dall-e-3 1024x1024 image.</summary>
    private sealed class FloorLedger(SqliteDialect dialect, Database db, CreditLedger ledger, UsageStore usage, string accountId) : IAsyncDisposable
    {
        // 40 credits (dall-e-3, standard, 1024x1024) × 1.2 (tier managed), DESIGN.md §2. The gateway's
        // catalog is not used: it is built from the gateway's configuration, which this process does not load.
        // The amount does not change what a hold or a settle costs to write.
        private static readonly Millicredits Price = new(48_000);

        public static async Task<FloorLedger> OpenAsync(string folder)
        {
            Directory.CreateDirectory(folder);
            var dialect = SqliteDialect.ForFile(Path.Combine(folder, "floor-ledger.db"));
            var db = new Database(dialect);
            await db.MigrateAsync(TimeProvider.System);
            var account = await new AccountStore(db, TimeProvider.System).CreateAccountAsync("floor", "managed");
            var ledger = new CreditLedger(db, TimeProvider.System);
            await ledger.AdjustAsync(account.Id, new Millicredits(1_000_000_000_000_000), LedgerKind.Grant, "floor bench");
            return new FloorLedger(dialect, db, ledger, new UsageStore(db, TimeProvider.System), account.Id);
        }

        public async Task<Reservation> HoldAsync() =>
            (await ledger.ReserveAsync(accountId, Price, TimeSpan.FromMinutes(5), "dall-e-3 x1")).Reservation
            ?? throw new InvalidOperationException("the floor's account ran out of credits");

        public Task CloseAsync(Reservation hold, bool served) => served
            ? db.WriteAsync(async scope =>
            {
                var settled = await ledger.SettleAsync(scope, hold, Price, "dall-e-3 via openai");
                await usage.RecordAsync(scope, new UsageEvent(accountId, "key_floor", "dall-e-3", "openai", "managed", "1024x1024",
                    "standard", 1, Price.Value, false, 200, null, 1));
                return settled;
            })
            : ledger.ReleaseAsync(hold, "upstream failed");

        public ValueTask DisposeAsync() => dialect.DisposeAsync();
    }
}
