using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using ImageGateway.Billing;
using ImageGateway.Tests.Providers;
using ImageGateway.Tests.Support;
using Microsoft.AspNetCore.Http;
using Xunit.Abstractions;

namespace ImageGateway.IntegrationTests.Reliability;

/// <summary>
/// The OpenAI adapter against a chaos upstream that answers each call, at random (seeded), with a
/// valid image, a 500, a connection reset, a truncated body, a stall past the gateway's timeout or
/// invalid base64. dall-e-3 fans out one call per image, so a request for n images can come back
/// with fewer. Whatever happens, a request is either a 200 charged for exactly the images returned
/// or an error charged nothing, and the ledger adds up.
/// </summary>
[Collection(ReliabilityLoadCollection.Name)]
public sealed class ChaosTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const decimal PricePerImage = 48m; // dall-e-3 standard 1024x1024: 40 × 1.2 (managed)

    private static int Requests => LoadKit.Int("IGW_RELIABILITY_CHAOS_REQUESTS", 2000);
    private static int Parallel => LoadKit.Int("IGW_RELIABILITY_CHAOS_PARALLEL", 64);
    private static int StallMs => LoadKit.Int("IGW_RELIABILITY_CHAOS_STALL_MS", 30_000);
    private static int Seed => LoadKit.Int("IGW_RELIABILITY_CHAOS_SEED", 20261123);

    private enum Fault { Valid, ServerError, Reset, Truncated, Stall, InvalidBase64 }

    private readonly GatewayFactory _gateway = new GatewayFactory().WithoutUpstreamKeys();
    private FakeUpstream _upstream = null!;
    private readonly Random _random = new(Seed);
    private readonly ConcurrentDictionary<Fault, int> _faults = new();

    public async Task InitializeAsync() => _upstream = await FakeUpstream.StartAsync();

    public async Task DisposeAsync()
    {
        _gateway.Dispose();
        await _upstream.DisposeAsync();
    }

    private Fault NextFault()
    {
        Fault fault;
        lock (_random)
        {
            // Half the calls succeed so that partial successes (some of n images) are common.
            var roll = _random.Next(20);
            fault = roll switch
            {
                < 10 => Fault.Valid,
                < 12 => Fault.ServerError,
                < 14 => Fault.Reset,
                < 16 => Fault.Truncated,
                < 18 => Fault.Stall,
                _ => Fault.InvalidBase64,
            };
        }
        _faults.AddOrUpdate(fault, 1, (_, c) => c + 1);
        return fault;
    }

    private async Task ChaosAsync(HttpContext ctx, RecordedRequest request)
    {
        switch (NextFault())
        {
            case Fault.Valid:
                await OpenAiKit.Success(ctx, request);
                return;
            case Fault.ServerError:
                await OpenAiKit.Error(ctx, 500, OpenAiKit.ServerErrorBody);
                return;
            case Fault.Reset:
                ctx.Abort();
                return;
            case Fault.Truncated:
                {
                    // Promise a whole success body, send the first part of it, then drop the connection.
                    var body = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
                    {
                        created = 1713833628,
                        data = new[] { new { b64_json = Convert.ToBase64String(OpenAiKit.ImageBytes(0)) } },
                    }));
                    ctx.Response.StatusCode = 200;
                    ctx.Response.ContentType = "application/json";
                    ctx.Response.ContentLength = body.Length;
                    await ctx.Response.Body.WriteAsync(body.AsMemory(0, body.Length / 2));
                    await ctx.Response.Body.FlushAsync();
                    ctx.Abort();
                    return;
                }
            case Fault.Stall:
                try { await Task.Delay(StallMs, ctx.RequestAborted); }
                catch (OperationCanceledException) { return; }
                await OpenAiKit.Success(ctx, request);
                return;
            case Fault.InvalidBase64:
                await FakeUpstream.Json(ctx, 200, """{"created":1713833628,"data":[{"b64_json":"this is not base64 !!!"}]}""");
                return;
        }
    }

    [Fact]
    public async Task Every_request_is_charged_exactly_for_the_images_returned_or_not_at_all()
    {
        // A 1 s timeout turns the stalls into timeouts; the circuit never opens, so the mix stays random.
        _gateway.UseOpenAi("openai", _upstream, maxRetries: 1, timeoutSeconds: 1, circuitMinimumThroughput: 100_000);
        _gateway.ServeAsItself(); // dall-e-3 as itself: one image per call, so n fans out and partial successes happen
        _upstream.Handler = ChaosAsync;
        const decimal start = 1_000_000m;
        var (userId, key) = await _gateway.CreateUserAsync("managed", start);
        await _gateway.UnlimitedAsync(userId);
        using var client = _gateway.ClientWithKey(key);
        client.Timeout = TimeSpan.FromMinutes(5);

        var requests = Requests;
        var ns = new Random(Seed + 1);
        var plan = Enumerable.Range(0, requests).Select(_ => ns.Next(1, 4)).ToArray();
        var results = new ConcurrentBag<(int N, int Status, int Images, decimal Cost, string Type)>();
        var started = DateTime.UtcNow;
        await System.Threading.Tasks.Parallel.ForEachAsync(Enumerable.Range(0, requests),
            new ParallelOptions { MaxDegreeOfParallelism = Parallel }, async (i, _) =>
            {
                var n = plan[i];
                var (response, text) = await client.GenerateAsync(OpenAiKit.DallE3($"chaos {i}", n));
                using var json = JsonDocument.Parse(text);
                var root = json.RootElement;
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    var images = root.GetProperty("data").EnumerateArray().ToArray();
                    Assert.All(images, image => Assert.True(Api.IsPng(Convert.FromBase64String(image.Str("b64_json")!))));
                    var meta = root.GetProperty("_metadata");
                    results.Add((n, 200, images.Length, meta.Dec("cost_incurred"), "ok"));
                }
                else
                {
                    Assert.True(root.TryGetProperty("error", out var error), text);
                    results.Add((n, (int)response.StatusCode, 0, 0m, error.Str("type") ?? "?"));
                }
            });
        var elapsed = DateTime.UtcNow - started;

        var all = results.ToArray();
        output.WriteLine($"{requests} requests (n 1-3, seed {Seed}, {Parallel} in parallel, stall {StallMs} ms) in {elapsed.TotalSeconds:F1}s");
        output.WriteLine("upstream calls: " + string.Join(", ", _faults.OrderBy(f => f.Key).Select(f => $"{f.Key}×{f.Value}")));
        output.WriteLine("outcomes: " + string.Join(", ", all.GroupBy(r => r.Status == 200 ? (r.Images == r.N ? "200 full" : "200 partial") : $"{r.Status} {r.Type}")
            .OrderBy(g => g.Key).Select(g => $"{g.Key}×{g.Count()}")));
        output.WriteLine("images per 200: " + string.Join(", ", all.Where(r => r.Status == 200).GroupBy(r => $"{r.Images}/{r.N}")
            .OrderBy(g => g.Key).Select(g => $"{g.Key}×{g.Count()}")));

        Assert.Equal(requests, all.Length);
        // Every fault kind was actually exercised.
        foreach (var fault in Enum.GetValues<Fault>()) Assert.True(_faults.GetValueOrDefault(fault) > 0, $"{fault} never happened");
        // No fault may surface as an internal error; upstream trouble is 502/503/504.
        Assert.DoesNotContain(all, r => r.Status == 500);
        Assert.All(all.Where(r => r.Status != 200), r => Assert.Contains(r.Status, new[] { 502, 503, 504 }));
        foreach (var ok in all.Where(r => r.Status == 200))
        {
            Assert.InRange(ok.Images, 1, ok.N);
            Assert.Equal(PricePerImage * ok.Images, ok.Cost);
        }
        Assert.Contains(all, r => r.Status == 200 && r.Images < r.N); // partial successes happened
        Assert.Contains(all, r => r.Status != 200);

        var charged = all.Sum(r => r.Cost);
        var credits = await client.CreditsAsync();
        output.WriteLine($"charged {charged} credits for {all.Sum(r => r.Images)} images; balance {credits.Dec("credits_remaining")}");
        Assert.Equal(start - charged, credits.Dec("credits_remaining"));
        Assert.Equal(0m, credits.Dec("reserved"));
        Assert.Empty(await _gateway.Service<CreditLedger>().VerifyAsync(userId));
    }
}
