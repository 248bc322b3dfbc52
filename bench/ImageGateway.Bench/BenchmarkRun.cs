using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace ImageGateway.Bench;

/// <summary>One measured point of the table: a scenario at a number of connections.</summary>
/// <summary>One measured load point. <see cref="StealPercent"/> is the share of the machine's CPU time the hypervisor took during it.</summary>
public sealed record Point(string Scenario, string Title, int Connections, WrkResult? Result, double? CpuSeconds, string? NotAvailable = null,
    int Round = 1, double? StealPercent = null, int Attempts = 1);

public sealed record MemoryResult(Point Load, long PeakRssBytes, long MaxSampledRssBytes);

/// <summary>The two ledger points of each round, measured back to back.</summary>
public sealed record LedgerResult(IReadOnlyList<Point> OneAccount, IReadOnlyList<Point> Seeded, LedgerSeeder.SeedResult Seed);

/// <summary>
/// The orchestrator: starts the fake upstream, gateways and Portkey as child processes, drives each
/// scenario with wrk (warm-up, then the measured run) and reports one table plus the goals.
/// </summary>
public sealed class BenchmarkRun
{
    private const string Prompt = "a lighthouse on a cliff at dusk";

    private readonly Options _options;
    private readonly string _work;
    private readonly string _upstreamKey = "sk-bench-" + Guid.NewGuid().ToString("N");
    private readonly string _adminKey = BenchGateway.NewAdminKey();
    private readonly List<Point> _points = [];
    private ChildProcess? _fake;
    private string _fakeUrl = "";

    private BenchmarkRun(Options options, string work)
    {
        _options = options;
        _work = work;
    }

    public static async Task<int> RunAsync(Options options)
    {
        var work = Path.Combine(Path.GetTempPath(), "igw-bench", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture) + "-" + Environment.ProcessId);
        Directory.CreateDirectory(work);
        // Children must not outlive the benchmark, whichever way it ends: Ctrl-C, kill, hang-up or an exception.
        var onSignal = (PosixSignalContext context) => OnSignal(context, work);
        using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, onSignal);
        using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, onSignal);
        using var onHangUp = PosixSignalRegistration.Create(PosixSignal.SIGHUP, onSignal);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => ChildProcess.KillAll();

        var run = new BenchmarkRun(options, work);
        var total = Stopwatch.StartNew();
        try
        {
            var exit = await run.ExecuteAsync(total);
            Directory.Delete(work, recursive: true);
            return exit;
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or HttpRequestException or IOException)
        {
            if (s_signalExitCode != 0) return s_signalExitCode;
            Console.Error.WriteLine($"benchmark failed: {e.Message}");
            Console.Error.WriteLine($"(logs kept in {work})");
            return 1;
        }
        finally
        {
            ChildProcess.KillAll();
        }
    }

    /// <summary>Set when a signal stops the run: the main flow, failing against the killed children, then exits with it quietly.</summary>
    private static volatile int s_signalExitCode;

    /// <summary>Stops the children and exits at once with the usual 128 + signal number.</summary>
    private static void OnSignal(PosixSignalContext context, string work)
    {
        context.Cancel = true;
        s_signalExitCode = context.Signal switch { PosixSignal.SIGINT => 130, PosixSignal.SIGHUP => 129, _ => 143 };
        ChildProcess.KillAll();
        Console.Error.WriteLine($"{context.Signal}: child processes stopped");
        // Twice: the main flow may still be creating a file in it (a wrk script) the first time.
        for (var attempt = 0; attempt < 2 && Directory.Exists(work); attempt++)
        {
            try { Directory.Delete(work, recursive: true); }
            catch (IOException) { Thread.Sleep(200); }
            catch (UnauthorizedAccessException) { break; }
        }
        Environment.Exit(s_signalExitCode);
    }

    private async Task<int> ExecuteAsync(Stopwatch total)
    {
        var gatewayDll = Path.Combine(AppContext.BaseDirectory, "ImageGateway.dll");
        if (!File.Exists(gatewayDll)) throw new InvalidOperationException($"{gatewayDll} is missing: build the bench project first");
        if (!File.Exists(Wrk.Executable)) throw new InvalidOperationException($"{Wrk.Executable} is missing: apt-get install wrk");

        // Start from a quiet disk: dirty pages another program (or an earlier run's seed) left in the
        // OS cache would otherwise be written back, and steal the VM's time, during the measurements.
        using (var sync = Process.Start("sync")) sync?.WaitForExit();

        var machine = Report.MachineInfo();
        Console.WriteLine(machine);
        await StartFakeUpstreamAsync();

        // Every process of the main scenarios runs for the whole of them, and the scenarios take
        // turns round after round: the VM's steal time comes and goes by the minute, and this way
        // it falls on all of them alike instead of on whichever happened to run at a bad moment.
        using (var gateway = await StartGatewayAsync("main"))
        {
            var key = await gateway.CreateBenchUserAsync();
            await WarmUpGatewayAsync(gateway, key);
            var portkey = await StartPortkeyAsync();
            var floor = await StartFloorProxyAsync("f", withLedger: false);
            var floorLedger = await StartFloorProxyAsync("g", withLedger: true);
            try
            {
                var scenarios = new List<Scenario>
                {
                    new("a", "direct to fake upstream", _fake!, DirectSpec, "b64_json"),
                    new("b", "gateway, b64_json", gateway.Process, c => GatewaySpec(gateway, key, ImageBody("dall-e-3", "b64_json"), c), "b64_json"),
                    new("c", "gateway, url", gateway.Process, c => GatewaySpec(gateway, key, ImageBody("dall-e-3", "url"), c), "url"),
                    // Not part of any goal and ~50 ms of CPU per image: measured in the first round only.
                    new("d", "gateway, builtin-preview", gateway.Process, c => GatewaySpec(gateway, key, ImageBody("builtin-preview", "b64_json"), c), "b64_json", FirstRoundOnly: true),
                };
                if (portkey is not null) scenarios.Add(new("e", PortkeyTitle, portkey.Process, PortkeySpec(portkey), "b64_json"));
                scenarios.Add(new("f", FloorTitle, floor.Process, c => FloorSpec(floor, c), "b64_json"));
                scenarios.Add(new("g", FloorLedgerTitle, floorLedger.Process, c => FloorSpec(floorLedger, c), "b64_json"));
                foreach (var scenario in scenarios) await PreflightAsync(scenario.Name, scenario.Spec(1), scenario.Expect);
                for (var round = 1; round <= _options.Rounds; round++)
                    foreach (var scenario in scenarios.Where(x => round == 1 || !x.FirstRoundOnly))
                        foreach (var connections in new[] { 1, 32 })
                            _points.Add(await MeasureAsync(scenario.Name, scenario.Title, scenario.Spec(connections), scenario.CpuOf, round));
            }
            finally
            {
                portkey?.Process.Stop();
                floor.Process.Stop();
                floorLedger.Process.Stop();
            }
            gateway.Stop();
        }

        var memory = await MeasureMemoryAsync();
        var ledger = _options.SkipLedger ? null : await MeasureLedgerScaleAsync();
        _fake!.Stop();

        var report = Report.Markdown(machine, _options, _points, memory, ledger, total.Elapsed);
        Console.WriteLine();
        Console.WriteLine(report);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(_options.OutFile))!);
        await File.WriteAllTextAsync(_options.OutFile, report);
        Console.WriteLine($"written to {_options.OutFile}; whole run {total.Elapsed.TotalSeconds:F0} s");

        var errors = _points.Concat(memory is null ? [] : [memory.Load]).Concat(ledger is null ? [] : ledger.OneAccount.Concat(ledger.Seeded))
            .Where(p => p.Result is { } r && r.StatusErrors + r.SocketErrors > 0).ToList();
        if (_options.Smoke && errors.Count > 0)
        {
            Console.Error.WriteLine($"smoke: errors in {string.Join(", ", errors.Select(p => $"({p.Scenario}) at {p.Connections}"))}");
            return 1;
        }
        return 0;
    }

    private async Task StartFakeUpstreamAsync()
    {
        var port = ChildProcess.FreePort();
        _fakeUrl = $"http://127.0.0.1:{port}/v1";
        _fake = ChildProcess.Start("fake upstream", Path.Combine(_work, "fake-upstream.log"), "dotnet",
            [typeof(BenchmarkRun).Assembly.Location, "fake-upstream", "--port", port.ToString(CultureInfo.InvariantCulture)]);
        await _fake.WaitForHttpAsync($"{_fakeUrl}/models", TimeSpan.FromSeconds(30));
    }

    private async Task<BenchGateway> StartGatewayAsync(string name) =>
        await BenchGateway.StartAsync(Path.Combine(_work, name), _fakeUrl, _upstreamKey, _adminKey);

    private static string ImageBody(string model, string responseFormat, int n = 1) =>
        JsonSerializer.Serialize(new { model, prompt = Prompt, n, size = "1024x1024", response_format = responseFormat });

    private LoadSpec DirectSpec(int connections) =>
        Spec($"{_fakeUrl}/images/generations", ImageBody("dall-e-3", "b64_json"), _upstreamKey, connections);

    private static LoadSpec GatewaySpec(BenchGateway gateway, string key, string body, int connections) =>
        Spec($"{gateway.Url}/v1/images/generations", body, key, connections);

    private static LoadSpec Spec(string url, string body, string bearer, int connections, IReadOnlyDictionary<string, string>? extra = null)
    {
        var headers = new Dictionary<string, string> { ["Content-Type"] = "application/json", ["Authorization"] = $"Bearer {bearer}" };
        foreach (var (name, value) in extra ?? new Dictionary<string, string>()) headers[name] = value;
        // One wrk thread drives one connection; two threads (one per core) drive the rest.
        return new LoadSpec(url, body, headers, Threads: connections == 1 ? 1 : 2, Connections: connections);
    }

    private sealed record Scenario(string Name, string Title, ChildProcess CpuOf, Func<int, LoadSpec> Spec, string Expect, bool FirstRoundOnly = false);

    /// <summary>
    /// Load on a freshly started gateway before anything is measured on it: .NET compiles hot
    /// methods again, optimised, in the background (tiered JIT), and on two shared cores that
    /// takes some 20–30 s of traffic. A 3 s warm-up per point measured the JIT, not the gateway.
    /// Half b64_json, half url, at 32 connections. The memory scenario is left cold on purpose.
    /// </summary>
    private async Task WarmUpGatewayAsync(BenchGateway gateway, string key)
    {
        if (_options.GatewayWarmupSeconds <= 0) return;
        var half = Math.Max(1, _options.GatewayWarmupSeconds / 2);
        await Wrk.RunAsync(GatewaySpec(gateway, key, ImageBody("dall-e-3", "b64_json"), 32), half, _work);
        await Wrk.RunAsync(GatewaySpec(gateway, key, ImageBody("dall-e-3", "url"), 32), half, _work);
    }

    /// <summary>
    /// Warm-up run, then the measured run, with the CPU time <paramref name="cpuOf"/> used during
    /// the latter and the machine's steal time over it. A run during which the hypervisor took
    /// more than <see cref="Options.MaxStealPercent"/> of the CPU is measured again, at most twice
    /// more, and the attempt with the least steal is kept: the choice looks only at steal, never at
    /// the result, and the report shows the steal and the number of attempts of every point.
    /// </summary>
    private async Task<Point> MeasureAsync(string scenario, string title, LoadSpec spec, ChildProcess cpuOf, int round = 1)
    {
        Point? kept = null;
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            if (_options.WarmupSeconds > 0) await Wrk.RunAsync(spec, _options.WarmupSeconds, _work);
            var cpuBefore = cpuOf.CpuSeconds();
            var stealBefore = StealTicks();
            var result = await Wrk.RunAsync(spec, _options.DurationSeconds, _work);
            var cpu = cpuOf.CpuSeconds() - cpuBefore;
            var stealAfter = StealTicks();
            double? steal = stealBefore is { } s0 && stealAfter is { } s1 && s1.Total > s0.Total
                ? 100.0 * (s1.Steal - s0.Steal) / (s1.Total - s0.Total) : null;
            Console.WriteLine(FormattableString.Invariant(
                $"[{round}] ({scenario}) {title} @{spec.Connections}: {result.RequestsPerSecond:F0} req/s, p50 {result.P50Us / 1000:F3} ms, p99 {result.P99Us / 1000:F3} ms, errors {result.StatusErrors}+{result.SocketErrors}, CPU {cpu:F2} s, steal {steal:F0} %{(attempt > 1 ? $" (attempt {attempt})" : "")}"));
            var point = new Point(scenario, title, spec.Connections, result, cpu, Round: round, StealPercent: steal, Attempts: attempt);
            if (kept is null || (point.StealPercent ?? 0) < (kept.StealPercent ?? 0)) kept = point;
            kept = kept with { Attempts = attempt };
            if (steal is null || steal <= _options.MaxStealPercent) break;
        }
        return kept!;
    }

    /// <summary>The steal and total ticks of the first line of /proc/stat; null where there is none.</summary>
    private static (long Steal, long Total)? StealTicks()
    {
        try
        {
            var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest time is already in user)
            var ticks = fields.Skip(1).Take(8).Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
            return ticks.Length == 8 ? (ticks[7], ticks.Sum()) : null;
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>One request like the load will send, checked for status 200 and the expected shape before anything is measured.</summary>
    internal static async Task PreflightAsync(string scenario, LoadSpec spec, string expect, int images = 1)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        using var request = new HttpRequestMessage(HttpMethod.Post, spec.Url) { Content = new StringContent(spec.Body, Encoding.UTF8, "application/json") };
        foreach (var (name, value) in spec.Headers)
            if (name != "Content-Type") request.Headers.TryAddWithoutValidation(name, value);
        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        string? problem = null;
        if ((int)response.StatusCode != 200) problem = $"status {(int)response.StatusCode}";
        else
        {
            try
            {
                using var json = JsonDocument.Parse(body);
                var data = json.RootElement.GetProperty("data");
                if (data.GetArrayLength() != images) problem = $"{data.GetArrayLength()} images instead of {images}";
                foreach (var item in data.EnumerateArray())
                {
                    var value = item.TryGetProperty(expect, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : null;
                    // A PNG's base64 always starts with the encoded signature.
                    if (value is null || (expect == "b64_json" && !value.StartsWith("iVBORw0KGgo", StringComparison.Ordinal))
                        || (expect == "url" && !Uri.TryCreate(value, UriKind.Absolute, out _)))
                        problem = $"an item without a valid {expect}";
                }
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                problem = $"unexpected JSON ({e.Message})";
            }
        }
        if (problem is not null)
            throw new InvalidOperationException($"pre-flight request for ({scenario}) to {spec.Url} failed: {problem}:\n{Truncate(body, 2000)}");
    }

    private const string PortkeyTitle = "Portkey gateway (node)";

    /// <summary>
    /// (e) The Portkey AI gateway (node), pointed at the same fake upstream. Anything that keeps it
    /// from starting or answering makes its points n/a with the reason, not a failed run.
    /// </summary>
    private async Task<Portkey?> StartPortkeyAsync()
    {
        if (_options.SkipPortkey)
        {
            AddNotAvailable("e", PortkeyTitle, _options.Smoke ? "skipped (--smoke)" : "skipped (--skip-portkey)");
            return null;
        }
        Portkey? portkey = null;
        try
        {
            portkey = await Portkey.StartAsync(_work);
            await PreflightAsync("e", PortkeySpec(portkey)(1), "b64_json");
            return portkey;
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or HttpRequestException or IOException)
        {
            Console.Error.WriteLine($"(e) Portkey n/a: {e.Message}");
            portkey?.Process.Stop();
            AddNotAvailable("e", PortkeyTitle, Truncate(e.Message.ReplaceLineEndings(" "), 300));
            return null;
        }
    }

    private Func<int, LoadSpec> PortkeySpec(Portkey portkey) => connections =>
        Spec($"{portkey.Url}/v1/images/generations", ImageBody("dall-e-3", "b64_json"), _upstreamKey, connections,
            new Dictionary<string, string> { ["x-portkey-provider"] = "openai", ["x-portkey-custom-host"] = _fakeUrl });

    private const string FloorTitle = "floor: bare ASP.NET Core proxy";
    private const string FloorLedgerTitle = "floor + the gateway's ledger";

    /// <summary>
    /// (f) <see cref="FloorProxy"/>, this assembly's own minimal forwarder, and (g) the same with the
    /// gateway's ledger work per request on an SQLite file of its own, both with the gateway's GC
    /// settings (workstation, concurrent). Warmed up like the gateway, for a third of the time.
    /// </summary>
    private async Task<(ChildProcess Process, string Url)> StartFloorProxyAsync(string scenario, bool withLedger)
    {
        var port = ChildProcess.FreePort();
        var url = $"http://127.0.0.1:{port}";
        string[] args = [typeof(BenchmarkRun).Assembly.Location, "floor-proxy", "--port", port.ToString(CultureInfo.InvariantCulture), "--upstream", _fakeUrl];
        if (withLedger) args = [.. args, "--ledger", Path.Combine(_work, "floor-ledger")];
        var process = ChildProcess.Start(withLedger ? "floor proxy with ledger" : "floor proxy", Path.Combine(_work, $"floor-proxy-{scenario}.log"), "dotnet",
            args, new Dictionary<string, string> { ["DOTNET_gcServer"] = "0", ["DOTNET_gcConcurrent"] = "1" });
        await process.WaitForHttpAsync($"{url}/", TimeSpan.FromSeconds(30));
        var floor = (process, url);
        await PreflightAsync(scenario, FloorSpec(floor, 1), "b64_json");
        if (_options.GatewayWarmupSeconds > 0)
            await Wrk.RunAsync(FloorSpec(floor, 32), Math.Max(1, _options.GatewayWarmupSeconds / 3), _work);
        return floor;
    }

    private LoadSpec FloorSpec((ChildProcess Process, string Url) floor, int connections) =>
        Spec($"{floor.Url}/v1/images/generations", ImageBody("dall-e-3", "b64_json"), "unused", connections);

    private void AddNotAvailable(string scenario, string title, string reason)
    {
        foreach (var connections in new[] { 1, 32 }) _points.Add(new Point(scenario, title, connections, null, null, reason));
    }

    /// <summary>
    /// Peak memory of a fresh gateway under the heaviest response it serves: 64 connections, ten
    /// 1024x1024 images per request as base64 (≈0.5 MB of JSON per answer).
    /// </summary>
    private async Task<MemoryResult> MeasureMemoryAsync()
    {
        using var gateway = await StartGatewayAsync("memory");
        var key = await gateway.CreateBenchUserAsync();
        var spec = GatewaySpec(gateway, key, ImageBody("dall-e-3", "b64_json", n: 10), 64) with { Threads = 2 };
        await PreflightAsync("memory", spec, "b64_json", 10);

        // Sampled as well as the kernel's high-water mark, to see whether the peak is a spike or a plateau.
        long maxSampled = 0;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                maxSampled = Math.Max(maxSampled, gateway.Process.MemoryBytes("VmRSS"));
                try { await Task.Delay(100, sampling.Token); } catch (OperationCanceledException) { }
            }
        });
        var load = await MeasureAsync("memory", "gateway, n=10 b64_json", spec, gateway.Process);
        await sampling.CancelAsync();
        await sampler;
        var peak = gateway.Process.MemoryBytes("VmHWM");
        gateway.Stop();
        return new MemoryResult(load, peak, maxSampled);
    }

    /// <summary>
    /// (b) at 32 connections on a database with only the bench user and on one seeded with many
    /// accounts and ledger entries: a request's cost should not grow with the size of the ledger.
    /// Both gateways run side by side and are measured in turns, one round after another.
    /// </summary>
    private async Task<LedgerResult> MeasureLedgerScaleAsync()
    {
        var body = ImageBody("dall-e-3", "b64_json");
        // Migrate and create the bench user through the gateway itself, then seed the stopped database.
        string seededKey;
        using (var gateway = await StartGatewayAsync("ledger-n"))
        {
            seededKey = await gateway.CreateBenchUserAsync();
            gateway.Stop();
        }
        var database = Path.Combine(_work, "ledger-n", "gateway.db");
        if (!File.Exists(database)) throw new InvalidOperationException($"no SQLite file at {database}");
        Console.WriteLine($"seeding {_options.LedgerAccounts:N0} accounts and {_options.LedgerEntries:N0} ledger entries …");
        var seed = LedgerSeeder.Seed(database, _options.LedgerAccounts, _options.LedgerEntries);
        Console.WriteLine(FormattableString.Invariant($"seeded in {seed.Elapsed.TotalSeconds:F1} s ({seed.Reservations:N0} reservations, {new FileInfo(database).Length / 1e6:F0} MB)"));

        using var one = await StartGatewayAsync("ledger-1");
        var oneKey = await one.CreateBenchUserAsync();
        using var seeded = await StartGatewayAsync("ledger-n");
        await PreflightAsync("ledger, 1 account", GatewaySpec(one, oneKey, body, 1), "b64_json");
        await PreflightAsync("ledger, seeded", GatewaySpec(seeded, seededKey, body, 1), "b64_json");
        await WarmUpGatewayAsync(one, oneKey);
        await WarmUpGatewayAsync(seeded, seededKey);
        var onePoints = new List<Point>();
        var seededPoints = new List<Point>();
        for (var round = 1; round <= _options.Rounds; round++)
        {
            onePoints.Add(await MeasureAsync("ledger", "(b) with 1 account", GatewaySpec(one, oneKey, body, 32), one.Process, round));
            seededPoints.Add(await MeasureAsync("ledger", $"(b) with {_options.LedgerAccounts:N0} accounts", GatewaySpec(seeded, seededKey, body, 32), seeded.Process, round));
        }
        one.Stop();
        seeded.Stop();
        return new LedgerResult(onePoints, seededPoints, seed);
    }

    internal static string Truncate(string text, int max) => text.Length <= max ? text : text[..max] + $"… ({text.Length} chars)";
}
