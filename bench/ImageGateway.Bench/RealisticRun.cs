using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace ImageGateway.Bench;

public sealed record RealisticOptions(bool Smoke, int[] Connections, int LatencyMs, int JitterMs, int DurationSeconds, int WarmupSeconds,
    bool SkipPortkey, string OutFile)
{
    public static RealisticOptions Parse(string[] args)
    {
        var known = new HashSet<string> { "--smoke", "--connections", "--latency-ms", "--jitter-ms", "--duration", "--warmup", "--skip-portkey", "--out" };
        foreach (var arg in args.Where(a => a.StartsWith("--")))
            if (!known.Contains(arg)) throw new ArgumentException($"unknown option {arg}");
        var smoke = args.Contains("--smoke");
        var stamp = DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        var connections = (Options.StringOption(args, "--connections") ?? (smoke ? "1,16" : "1,256,1000"))
            .Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray();
        var options = new RealisticOptions(smoke, connections,
            LatencyMs: Options.IntOption(args, "--latency-ms") ?? (smoke ? 200 : 5000),
            JitterMs: Options.IntOption(args, "--jitter-ms") ?? (smoke ? 20 : 500),
            DurationSeconds: Options.IntOption(args, "--duration") ?? (smoke ? 2 : 30),
            WarmupSeconds: Options.IntOption(args, "--warmup") ?? (smoke ? 1 : 20),
            SkipPortkey: smoke || args.Contains("--skip-portkey"),
            OutFile: Options.StringOption(args, "--out") ?? Path.Combine(RepoPaths.BenchFolder(), "results", $"realistic-{stamp}.md"));
        if (options.Connections.Any(c => c < 1) || options.LatencyMs < 0 || options.JitterMs < 0 || options.JitterMs > options.LatencyMs)
            throw new ArgumentException("--connections must be positive, and 0 ≤ --jitter-ms ≤ --latency-ms");
        return options;
    }
}

/// <summary>
/// Issue 25's realistic load: the fake upstream answers a photographic-size PNG (about 1.8 MB)
/// after seconds of latency with jitter, and wrk holds 1, 256 and 1,000 connections open against
/// the upstream directly, the gateway in <c>b64_json</c> and <c>url</c> mode, and Portkey. Each
/// point reports req/s, p50/p99, errors, the CPU per request of the process in front, and the
/// gateway's peak RSS during that point (sampled every 100 ms).
/// </summary>
public sealed class RealisticRun
{
    private const string Body = """{"model":"dall-e-3","prompt":"a lighthouse on a cliff at dusk","n":1,"size":"1024x1024","response_format":"FORMAT"}""";

    public sealed record Row(string Target, int Connections, WrkResult? Result, double CpuSeconds, long PeakRssBytes, string? NotAvailable = null)
    {
        public int LatencyMs { get; init; }
        public int JitterMs { get; init; }

        /// <summary>The row the others of its kind are compared with: direct to the upstream, or the static-file server for downloads.</summary>
        public bool Direct { get; init; }

        public bool IsDownload => Target.Contains("download", StringComparison.Ordinal);
    }

    public static async Task<int> RunAsync(RealisticOptions options)
    {
        var work = Path.Combine(Path.GetTempPath(), "igw-bench", "realistic-" + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
        Directory.CreateDirectory(work);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => ChildProcess.KillAll();
        var total = Stopwatch.StartNew();
        var keepLogs = true;
        try
        {
            var rows = await MeasureAsync(options, work);
            keepLogs = false;
            var report = Report(options, rows, total.Elapsed);
            Console.WriteLine(report);
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(options.OutFile))!);
            await File.WriteAllTextAsync(options.OutFile, report);
            Console.WriteLine($"written to {options.OutFile}");
            var failed = rows.Where(r => r.Result is { } w && w.StatusErrors + w.SocketErrors > 0).ToList();
            if (options.Smoke && failed.Count > 0)
            {
                Console.Error.WriteLine($"smoke: errors in {string.Join(", ", failed.Select(r => $"{r.Target} at {r.Connections}"))}");
                return 1;
            }
            return 0;
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or HttpRequestException or IOException)
        {
            Console.Error.WriteLine($"realistic benchmark failed: {e.Message} (logs in {work})");
            return 1;
        }
        finally
        {
            ChildProcess.KillAll();
            CleanUp(work, keepLogs);
        }
    }

    /// <summary>
    /// A run stores some 10 GB of images (every url answer's file): they go when it ends. After a
    /// failure the logs stay, for the message that points to them.
    /// </summary>
    private static void CleanUp(string work, bool keepLogs)
    {
        try
        {
            if (!keepLogs) Directory.Delete(work, recursive: true);
            else
                foreach (var file in Directory.EnumerateFiles(work, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".log", StringComparison.Ordinal)))
                    File.Delete(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"could not remove {work}: {e.Message}");
        }
    }

    /// <summary>
    /// The points at one connection run first, on their own fake upstream without jitter (2 s, as
    /// the issue measured them): with ±500 ms of jitter and a handful of requests, the difference
    /// of two medians would be the jitter's, not the gateway's. Then the loaded points.
    /// </summary>
    private static async Task<List<Row>> MeasureAsync(RealisticOptions options, string work)
    {
        var rows = new List<Row>();
        if (options.Connections.Contains(1))
            rows.AddRange(await MeasureAtAsync(options with { Connections = [1], LatencyMs = Math.Min(2000, options.LatencyMs), JitterMs = 0,
                SkipPortkey = true, WarmupSeconds = Math.Min(10, options.WarmupSeconds) }, Path.Combine(work, "one")));
        if (options.Connections.Any(c => c > 1))
            rows.AddRange(await MeasureAtAsync(options with { Connections = options.Connections.Where(c => c > 1).ToArray() }, Path.Combine(work, "loaded")));
        return rows;
    }

    private static async Task<List<Row>> MeasureAtAsync(RealisticOptions options, string work)
    {
        Directory.CreateDirectory(work);
        var upstreamKey = "sk-bench-" + Guid.NewGuid().ToString("N");
        var port = ChildProcess.FreePort();
        var fakeUrl = $"http://127.0.0.1:{port}/v1";
        using var fake = ChildProcess.Start("fake upstream", Path.Combine(work, "fake-upstream.log"), "dotnet",
            [typeof(RealisticRun).Assembly.Location, "fake-upstream", "--port", port.ToString(CultureInfo.InvariantCulture),
             "--latency-ms", options.LatencyMs.ToString(CultureInfo.InvariantCulture), "--jitter-ms", options.JitterMs.ToString(CultureInfo.InvariantCulture), "--photo"]);
        await fake.WaitForHttpAsync($"{fakeUrl}/models", TimeSpan.FromSeconds(60));
        using var gateway = await BenchGateway.StartAsync(Path.Combine(work, "gateway"), fakeUrl, upstreamKey, BenchGateway.NewAdminKey());
        var key = await gateway.CreateBenchUserAsync();
        Portkey? portkey = null;
        if (!options.SkipPortkey)
        {
            try { portkey = await Portkey.StartAsync(work); }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException or HttpRequestException or IOException)
            {
                Console.Error.WriteLine($"Portkey n/a: {e.Message}");
            }
        }

        LoadSpec Spec(string url, string format, string bearer, int connections, Dictionary<string, string>? extra = null)
        {
            var headers = new Dictionary<string, string> { ["Content-Type"] = "application/json", ["Authorization"] = $"Bearer {bearer}" };
            foreach (var (name, value) in extra ?? []) headers[name] = value;
            return new LoadSpec(url, Body.Replace("FORMAT", format, StringComparison.Ordinal), headers, Threads: connections == 1 ? 1 : 2, Connections: connections);
        }
        var targets = new List<(string Name, ChildProcess Process, Func<int, LoadSpec> Spec, string Expect)>
        {
            ("direct", fake, c => Spec($"{fakeUrl}/images/generations", "b64_json", upstreamKey, c), "b64_json"),
            ("gateway b64_json", gateway.Process, c => Spec($"{gateway.Url}/v1/images/generations", "b64_json", key, c), "b64_json"),
            ("gateway url", gateway.Process, c => Spec($"{gateway.Url}/v1/images/generations", "url", key, c), "url"),
        };
        if (portkey is not null)
            targets.Add(("Portkey", portkey.Process, c => Spec($"{portkey.Url}/v1/images/generations", "b64_json", upstreamKey, c,
                new() { ["x-portkey-provider"] = "openai", ["x-portkey-custom-host"] = fakeUrl }), "b64_json"));
        foreach (var target in targets) await BenchmarkRun.PreflightAsync(target.Name, target.Spec(1), target.Expect);

        // The JIT's optimised code, connection pools and caches, before anything is measured.
        if (options.WarmupSeconds > 0)
            await Wrk.RunAsync(targets[1].Spec(Math.Min(256, options.Connections.Max())), options.WarmupSeconds, work);

        var rows = new List<Row>();
        foreach (var connections in options.Connections)
            foreach (var target in targets)
            {
                if (target.Name == "Portkey" && connections != 256 && !options.Smoke)
                    continue; // Portkey is compared at 256 connections, where the goal is set
                rows.Add(await PointAsync(target.Name, target.Process, target.Spec(connections), gateway.Process, options, work) with
                {
                    LatencyMs = options.LatencyMs, JitterMs = options.JitterMs,
                });
            }
        if (options.Connections.Any(c => c > 1) && (options.Connections.Contains(256) || options.Smoke))
            rows.AddRange(await DownloadsAsync(gateway, key, options with { Connections = [options.Smoke ? options.Connections.Max() : 256] }, work));
        portkey?.Process.Stop();
        gateway.Stop();
        fake.Stop();
        return rows;
    }

    /// <summary>
    /// Image downloads: GET of one signed URL the gateway answered, at 256 connections, against a bare
    /// Kestrel static-file server serving the same file (the goal: ≥ 0.8× its throughput).
    /// </summary>
    private static async Task<List<Row>> DownloadsAsync(BenchGateway gateway, string key, RealisticOptions options, string work)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{gateway.Url}/v1/images/generations")
        {
            Content = new StringContent(Body.Replace("FORMAT", "url", StringComparison.Ordinal), Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Authorization", $"Bearer {key}");
        using var answer = await client.SendAsync(request);
        using var json = JsonDocument.Parse(await answer.Content.ReadAsStringAsync());
        var url = json.RootElement.GetProperty("data")[0].GetProperty("url").GetString()!;
        var file = Path.GetFileName(new Uri(url).AbsolutePath);
        var root = Path.Combine(work, "static");
        Directory.CreateDirectory(root);
        File.Copy(Path.Combine(gateway.DataDirectory, "images", file), Path.Combine(root, file));

        var port = ChildProcess.FreePort();
        using var server = ChildProcess.Start("static files", Path.Combine(work, "static.log"), "dotnet",
            [typeof(RealisticRun).Assembly.Location, "static-files", "--port", port.ToString(CultureInfo.InvariantCulture), "--root", root]);
        await server.WaitForHttpAsync($"http://127.0.0.1:{port}/{file}", TimeSpan.FromSeconds(30));
        var connections = options.Connections[0];
        LoadSpec Get(string target) => new(target, "", new Dictionary<string, string>(), Threads: Math.Min(2, connections), Connections: connections, Method: "GET");
        var rows = new List<Row>
        {
            (await PointAsync("static files (download)", server, Get($"http://127.0.0.1:{port}/{file}"), gateway.Process, options with { LatencyMs = 0, JitterMs = 0 }, work)) with { Direct = true },
            await PointAsync("gateway download", gateway.Process, Get(url), gateway.Process, options with { LatencyMs = 0, JitterMs = 0 }, work),
        };
        server.Stop();
        return rows;
    }

    /// <summary>A bare Kestrel static-file server: the floor an image download through the gateway is compared with.</summary>
    public static async Task<int> StaticFilesAsync(int port, string root)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, port));
        var app = builder.Build();
        app.UseStaticFiles(new StaticFileOptions { FileProvider = new Microsoft.Extensions.FileProviders.PhysicalFileProvider(Path.GetFullPath(root)) });
        await app.RunAsync();
        return 0;
    }

    private static async Task<Row> PointAsync(string target, ChildProcess cpuOf, LoadSpec spec, ChildProcess gateway, RealisticOptions options, string work)
    {
        long peak = 0;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peak = Math.Max(peak, gateway.MemoryBytes("VmRSS"));
                try { await Task.Delay(100, sampling.Token); } catch (OperationCanceledException) { }
            }
        });
        var cpuBefore = cpuOf.CpuSeconds();
        var result = await Wrk.RunAsync(spec, options.DurationSeconds, work);
        var cpu = cpuOf.CpuSeconds() - cpuBefore;
        await sampling.CancelAsync();
        await sampler;
        Console.WriteLine(FormattableString.Invariant(
            $"{target} @{spec.Connections}: {result.RequestsPerSecond:F1} req/s, p50 {result.P50Us / 1000:F1} ms, p99 {result.P99Us / 1000:F1} ms, errors {result.StatusErrors}+{result.SocketErrors}, CPU {cpu:F1} s, gateway RSS peak {peak / 1048576.0:F0} MB"));
        // Let every answer still in flight finish before the next point starts.
        await Task.Delay(TimeSpan.FromMilliseconds(options.LatencyMs + options.JitterMs + 500));
        return new Row(target, spec.Connections, result, cpu, peak);
    }

    private static string Report(RealisticOptions options, List<Row> rows, TimeSpan elapsed)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"## Realistic load ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC)");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture,
            $"Upstream: a {FakeUpstream.PhotoPng().Length:N0}-byte PNG after the latency shown. {options.DurationSeconds} s per point; whole run {elapsed.TotalSeconds:F0} s.");
        text.AppendLine();
        text.AppendLine("| connections | upstream | target | req/s | × direct | p50 ms | p50 overhead ms | p99 ms | errors | CPU ms/req | gateway peak RSS MB |");
        text.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var row in rows)
        {
            var direct = rows.First(r => r.Connections == row.Connections && r.IsDownload == row.IsDownload && (r.Direct || r.Target == "direct")).Result!;
            var r = row.Result!;
            var cpuPerRequest = r.Requests > 0 ? row.CpuSeconds * 1000 / r.Requests : 0;
            text.AppendLine(FormattableString.Invariant(
                $"| {row.Connections} | {(row.IsDownload ? "–" : $"{row.LatencyMs / 1000.0:0.#} s ± {row.JitterMs} ms")} | {row.Target} | {r.RequestsPerSecond:F1} | {r.RequestsPerSecond / direct.RequestsPerSecond:F2} | {r.P50Us / 1000:F1} | {(r.P50Us - direct.P50Us) / 1000:F1} | {r.P99Us / 1000:F1} | {r.StatusErrors + r.SocketErrors} | {cpuPerRequest:F2} | {row.PeakRssBytes / 1048576.0:F0} |"));
        }
        return text.ToString();
    }
}
