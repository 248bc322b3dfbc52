using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace ImageGateway.Bench;

/// <summary>The markdown report: machine, one table of every measured point, then the goals judged from this same run.</summary>
public static class Report
{
    private const double MemoryGoalBytes = 300e6;

    public static string MachineInfo()
    {
        var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";
        var memory = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";
        var root = RepoPaths.RepoRoot();
        var commit = Run("git", root, "rev-parse", "--short", "HEAD");
        // Uncommitted changes make the commit alone a poor description of what was measured.
        if (commit != "unknown" && Run("git", root, "--no-optional-locks", "status", "--porcelain", "--untracked-files=no") is { Length: > 0 } and not "unknown") commit += " (with uncommitted changes)";
        return string.Join('\n',
            "## Machine",
            "",
            $"- date (UTC): {DateTime.UtcNow:yyyy-MM-dd HH:mm}",
            $"- nproc: {Environment.ProcessorCount}",
            $"- CPU: {cpu}",
            $"- memory: {memory}",
            $"- dotnet: {Run("dotnet", root, "--version")}",
            $"- wrk: {Run(Wrk.Executable, root, "--version").Split('\n')[0]}",
            $"- git commit: {commit}");
    }

    public static string Markdown(string machine, Options options, IReadOnlyList<Point> points, MemoryResult? memory, LedgerResult? ledger, TimeSpan elapsed)
    {
        var md = new StringBuilder();
        md.AppendLine("# ImageGateway benchmark run");
        md.AppendLine();
        md.AppendLine(machine);
        md.AppendLine();
        md.AppendLine(Invariant($"Settings: {options.Rounds} round(s); each gateway process warmed up {options.GatewayWarmupSeconds} s (not the memory one), then per point warm-up {options.WarmupSeconds} s, measured {options.DurationSeconds} s per point{(options.Smoke ? " (smoke)" : "")}; whole run {elapsed.TotalSeconds:F0} s."));
        md.AppendLine();
        md.AppendLine("## Results");
        md.AppendLine();
        md.AppendLine("| round | scenario | conns | req/s | p50 ms | p90 ms | p99 ms | non-2xx | socket errors | CPU s | CPU ms/req | steal % | attempts |");
        md.AppendLine("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var point in points.OrderBy(p => p.Round)) md.AppendLine(Row($"({point.Scenario}) {point.Title}", point));
        if (memory is not null) md.AppendLine(Row($"memory: {memory.Load.Title}", memory.Load));
        if (ledger is not null)
            foreach (var point in ledger.OneAccount.Zip(ledger.Seeded).SelectMany(pair => new[] { pair.First, pair.Second }))
                md.AppendLine(Row($"ledger: {point.Title}", point));
        md.AppendLine();
        md.AppendLine(Invariant($"CPU s: CPU time (user + system) of the process in front during the measured run: the fake upstream for (a), the gateway for (b)–(d), memory and ledger, Portkey's node process for (e), the floor proxy for (f) and (g); CPU ms/req divides it by the requests completed. Latencies from wrk's Lua API; non-2xx is wrk's count of answers with status ≥ 400. Steal %: the share of the machine's CPU time the hypervisor took during the point (/proc/stat), which slows everything measured then; a point with more than {options.MaxStealPercent:F0} % steal was measured again (at most 3 attempts) and the attempt with the least steal is shown."));
        md.AppendLine();

        if (memory is not null)
            md.AppendLine(Invariant($"Memory: fresh gateway, wrk -t2 -c64, n=10 dall-e-3 1024x1024 b64_json: peak RSS (VmHWM) {memory.PeakRssBytes / 1e6:F1} MB, max RSS sampled every 100 ms {memory.MaxSampledRssBytes / 1e6:F1} MB, {memory.Load.Result!.RequestsPerSecond:F0} req/s."));
        if (ledger is not null)
            md.AppendLine(Invariant($"Ledger scale: seeded {ledger.Seed.Accounts:N0} accounts, {ledger.Seed.Entries:N0} ledger entries and {ledger.Seed.Reservations:N0} closed reservations in {ledger.Seed.Elapsed.TotalSeconds:F1} s; both gateways measured in turns at 32 connections."));
        md.AppendLine();
        md.AppendLine("## Goals (from this run)");
        md.AppendLine();
        md.AppendLine("Each ratio is taken within a round (points measured minutes apart at most), and a goal is judged on the median over the rounds; the per-round values are in brackets.");
        md.AppendLine();
        foreach (var line in Goals(options.Rounds, points, memory, ledger)) md.AppendLine($"- {line}");
        md.AppendLine();
        md.AppendLine("For context, not goals: the same ratios for (f), the least any ASP.NET Core gateway does (Kestrel in, HttpClient out, the answer copied back), and for (g), that floor plus the gateway's own ledger work per request (a hold, then the settle and its usage event in one write, on an SQLite file).");
        md.AppendLine();
        foreach (var line in FloorContext(options.Rounds, points)) md.AppendLine($"- {line}");
        return md.ToString();
    }

    private static IEnumerable<string> Goals(int rounds, IReadOnlyList<Point> points, MemoryResult? memory, LedgerResult? ledger)
    {
        var all = Enumerable.Range(1, rounds).ToArray();
        double? P50(string s, int c, int r) => Find(points, s, c, r)?.Result?.P50Us / 1000;
        double? Throughput(string s, int c, int r) => Find(points, s, c, r)?.Result?.RequestsPerSecond;

        var overhead = all.Select(r => P50("b", 1, r) - P50("a", 1, r)).ToArray();
        var portkeyOverhead = all.Select(r => P50("e", 1, r) - P50("a", 1, r)).ToArray();
        yield return Judge("overhead at 1 connection: p50(b) − p50(a) ≤ 0.5 ms", overhead, "ms", v => v <= 0.5);
        yield return Judge("overhead at 1 connection ÷ Portkey's, (p50(b) − p50(a)) ÷ (p50(e) − p50(a)) ≤ 0.25",
            overhead.Zip(portkeyOverhead, (ours, theirs) => ours / theirs).ToArray(), "", v => v <= 0.25,
            Invariant($"Portkey's overhead {Values(portkeyOverhead, "ms")}"));

        yield return Judge("32 connections: req/s (b) ÷ (a) ≥ 0.2", all.Select(r => Throughput("b", 32, r) / Throughput("a", 32, r)).ToArray(), "", v => v >= 0.2,
            Invariant($"(b) {Values(all.Select(r => Throughput("b", 32, r)).ToArray(), "req/s", "F0")}, (a) {Values(all.Select(r => Throughput("a", 32, r)).ToArray(), "req/s", "F0")}"));
        yield return Judge("32 connections: req/s (b) ÷ (e) ≥ 10", all.Select(r => Throughput("b", 32, r) / Throughput("e", 32, r)).ToArray(), "", v => v >= 10,
            Invariant($"(e) {Values(all.Select(r => Throughput("e", 32, r)).ToArray(), "req/s", "F0")}"));
        yield return Judge("32 connections: req/s (c) ÷ (b) ≥ 0.8", all.Select(r => Throughput("c", 32, r) / Throughput("b", 32, r)).ToArray(), "", v => v >= 0.8);
        yield return memory is null
            ? "memory: peak RSS ≤ 300 MB (10⁶ bytes): n/a"
            : Invariant($"memory: peak RSS ≤ 300 MB (10⁶ bytes): **{(memory.PeakRssBytes <= MemoryGoalBytes ? "met" : "NOT met")}** ({memory.PeakRssBytes / 1e6:F1} MB)");
        yield return ledger is null
            ? "ledger scale: req/s with the seeded ledger ÷ with 1 account ≥ 0.9: n/a"
            : Judge("ledger scale: req/s with the seeded ledger ÷ with 1 account ≥ 0.9",
                ledger.Seeded.Zip(ledger.OneAccount, (many, one) => many.Result?.RequestsPerSecond / one.Result?.RequestsPerSecond).ToArray(), "", v => v >= 0.9);
    }

    private static IEnumerable<string> FloorContext(int rounds, IReadOnlyList<Point> points)
    {
        var all = Enumerable.Range(1, rounds).ToArray();
        double? P50(string s, int c, int r) => Find(points, s, c, r)?.Result?.P50Us / 1000;
        double? Throughput(string s, int c, int r) => Find(points, s, c, r)?.Result?.RequestsPerSecond;
        yield return Context("overhead at 1 connection, p50(f) − p50(a)", all.Select(r => P50("f", 1, r) - P50("a", 1, r)).ToArray(), "ms");
        yield return Context("32 connections: req/s (f) ÷ (a)", all.Select(r => Throughput("f", 32, r) / Throughput("a", 32, r)).ToArray(), "");
        yield return Context("32 connections: req/s (b) ÷ (f)", all.Select(r => Throughput("b", 32, r) / Throughput("f", 32, r)).ToArray(), "");
        yield return Context("overhead at 1 connection, p50(g) − p50(a)", all.Select(r => P50("g", 1, r) - P50("a", 1, r)).ToArray(), "ms");
        yield return Context("32 connections: req/s (g) ÷ (a)", all.Select(r => Throughput("g", 32, r) / Throughput("a", 32, r)).ToArray(), "");
        yield return Context("32 connections: req/s (b) ÷ (g)", all.Select(r => Throughput("b", 32, r) / Throughput("g", 32, r)).ToArray(), "");
    }

    private static string Context(string what, double?[] perRound, string unit) =>
        perRound.Length == 0 || perRound.Any(v => v is null or double.NaN or double.PositiveInfinity or double.NegativeInfinity)
            ? $"{what}: n/a"
            : Invariant($"{what}: median {Median(perRound.Select(v => v!.Value)):F3}{(unit.Length > 0 ? " " + unit : "")}; rounds {Values(perRound, unit)}");

    /// <summary>A goal judged on the median of its per-round values; n/a when a round lacks one.</summary>
    private static string Judge(string goal, double?[] perRound, string unit, Func<double, bool> met, string? context = null)
    {
        if (perRound.Length == 0 || perRound.Any(v => v is null or double.NaN or double.PositiveInfinity or double.NegativeInfinity)) return $"{goal}: n/a";
        var median = Median(perRound.Select(v => v!.Value));
        var detail = Invariant($"median {median:F3}{(unit.Length > 0 ? " " + unit : "")}; rounds {Values(perRound, unit)}");
        return $"{goal}: **{(met(median) ? "met" : "NOT met")}** ({detail}{(context is null ? "" : "; " + context)})";
    }

    private static string Values(double?[] values, string unit, string format = "F3") =>
        "[" + string.Join(", ", values.Select(v => v is { } x ? x.ToString(format, CultureInfo.InvariantCulture) : "n/a")) + "]" + (unit.Length > 0 ? " " + unit : "");

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static Point? Find(IReadOnlyList<Point> points, string scenario, int connections, int round) =>
        points.FirstOrDefault(p => p.Scenario == scenario && p.Connections == connections && p.Round == round);

    private static string Row(string name, Point point)
    {
        if (point.Result is not { } r) return $"| – | {name} | {point.Connections} | n/a: {point.NotAvailable} | | | | | | | | | |";
        var steal = point.StealPercent is { } st ? Invariant($"{st:F0}") : "–";
        // A run too short for the slowest requests completes none: no latencies then, rather than zeros.
        if (r.Requests == 0) return Invariant($"| {point.Round} | {name} | {point.Connections} | 0 | – | – | – | {r.StatusErrors} | {r.SocketErrors} | {point.CpuSeconds:F2} | – | {steal} | {point.Attempts} |");
        var perRequest = Invariant($"{point.CpuSeconds * 1000 / r.Requests:F2}");
        return Invariant($"| {point.Round} | {name} | {point.Connections} | {r.RequestsPerSecond:F1} | {r.P50Us / 1000:F3} | {r.P90Us / 1000:F3} | {r.P99Us / 1000:F3} | {r.StatusErrors} | {r.SocketErrors} | {point.CpuSeconds:F2} | {perRequest} | {steal} | {point.Attempts} |");
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static string Run(string program, string folder, params string[] arguments)
    {
        try
        {
            var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = folder };
            foreach (var argument in arguments) start.ArgumentList.Add(argument);
            using var process = Process.Start(start)!;
            var stderr = process.StandardError.ReadToEndAsync();
            var output = process.StandardOutput.ReadToEnd().Trim();
            var error = stderr.Result.Trim();
            process.WaitForExit();
            // wrk --version prints to stdout but exits 1.
            return output.Length > 0 ? output : error.Length > 0 && process.ExitCode == 0 ? error : "unknown";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unknown";
        }
    }
}
