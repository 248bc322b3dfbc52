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
        md.AppendLine(Invariant($"Settings: each gateway process warmed up {options.GatewayWarmupSeconds} s (not the memory one), then per point warm-up {options.WarmupSeconds} s, measured {options.DurationSeconds} s per point{(options.Smoke ? " (smoke)" : "")}; whole run {elapsed.TotalSeconds:F0} s."));
        md.AppendLine();
        md.AppendLine("## Results");
        md.AppendLine();
        md.AppendLine("| scenario | conns | req/s | p50 ms | p90 ms | p99 ms | non-2xx | socket errors | CPU s | CPU ms/req |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var point in points) md.AppendLine(Row($"({point.Scenario}) {point.Title}", point));
        if (memory is not null) md.AppendLine(Row($"memory: {memory.Load.Title}", memory.Load));
        if (ledger is not null)
        {
            md.AppendLine(Row($"ledger: {ledger.OneAccount.Title}", ledger.OneAccount));
            md.AppendLine(Row($"ledger: {ledger.Seeded.Title}", ledger.Seeded));
        }
        md.AppendLine();
        md.AppendLine("CPU s: CPU time (user + system) of the process in front during the measured run: the fake upstream for (a), the gateway for (b)–(d), memory and ledger, Portkey's node process for (e); CPU ms/req divides it by the requests completed. Latencies from wrk's Lua API; non-2xx is wrk's count of answers with status ≥ 400.");
        md.AppendLine();

        if (memory is not null)
            md.AppendLine(Invariant($"Memory: fresh gateway, wrk -t2 -c64, n=10 dall-e-3 1024x1024 b64_json: peak RSS (VmHWM) {memory.PeakRssBytes / 1e6:F1} MB, max RSS sampled every 100 ms {memory.MaxSampledRssBytes / 1e6:F1} MB, {memory.Load.Result!.RequestsPerSecond:F0} req/s."));
        if (ledger is not null)
            md.AppendLine(Invariant($"Ledger scale: seeded {ledger.Seed.Accounts:N0} accounts, {ledger.Seed.Entries:N0} ledger entries and {ledger.Seed.Reservations:N0} closed reservations in {ledger.Seed.Elapsed.TotalSeconds:F1} s; (b) at 32 connections: {Rps(ledger.Seeded)} vs {Rps(ledger.OneAccount)} req/s with 1 account, ratio {Ratio(ledger.Seeded, ledger.OneAccount)}."));
        md.AppendLine();
        md.AppendLine("## Goals (from this run)");
        md.AppendLine();
        foreach (var line in Goals(points, memory, ledger)) md.AppendLine($"- {line}");
        return md.ToString();
    }

    private static IEnumerable<string> Goals(IReadOnlyList<Point> points, MemoryResult? memory, LedgerResult? ledger)
    {
        double? P50(string s, int c) => Find(points, s, c)?.Result?.P50Us / 1000;
        double? Throughput(string s, int c) => Find(points, s, c)?.Result?.RequestsPerSecond;

        var (a1, b1, e1) = (P50("a", 1), P50("b", 1), P50("e", 1));
        yield return Judge("overhead at 1 connection: p50(b) − p50(a) ≤ 0.5 ms",
            b1 - a1 is { } overhead ? (overhead <= 0.5, Invariant($"{overhead:F3} ms")) : null);
        yield return Judge("overhead at 1 connection: p50(b) − p50(a) ≤ 0.25 × (p50(e) − p50(a))",
            b1 - a1 is { } ours && e1 - a1 is { } theirs ? (ours <= 0.25 * theirs, Invariant($"{ours:F3} ms vs 0.25 × {theirs:F3} ms = {0.25 * theirs:F3} ms")) : null);

        var (a32, b32, c32, e32) = (Throughput("a", 32), Throughput("b", 32), Throughput("c", 32), Throughput("e", 32));
        yield return Judge("32 connections: req/s (b) ≥ 0.2 × (a)",
            b32 is { } b && a32 is { } a ? (b >= 0.2 * a, Invariant($"{b:F0} vs 0.2 × {a:F0} = {0.2 * a:F0}")) : null);
        yield return Judge("32 connections: req/s (b) ≥ 10 × (e)",
            b32 is { } b2 && e32 is { } e ? (b2 >= 10 * e, Invariant($"{b2:F0} vs 10 × {e:F0} = {10 * e:F0}")) : null);
        yield return Judge("32 connections: req/s (c) ≥ 0.8 × (b)",
            c32 is { } c && b32 is { } b3 ? (c >= 0.8 * b3, Invariant($"{c:F0} vs 0.8 × {b3:F0} = {0.8 * b3:F0}")) : null);
        yield return Judge("memory: peak RSS ≤ 300 MB (10⁶ bytes)",
            memory is null ? null : (memory.PeakRssBytes <= MemoryGoalBytes, Invariant($"{memory.PeakRssBytes / 1e6:F1} MB")));
        yield return Judge("ledger scale: req/s with the seeded ledger ≥ 0.9 × with 1 account",
            ledger is { OneAccount.Result: { } one, Seeded.Result: { } many }
                ? (many.RequestsPerSecond >= 0.9 * one.RequestsPerSecond, $"ratio {Ratio(ledger.Seeded, ledger.OneAccount)}")
                : null);
    }

    private static string Judge(string goal, (bool Met, string Detail)? outcome) =>
        outcome is { } o ? $"{goal}: **{(o.Met ? "met" : "NOT met")}** ({o.Detail})" : $"{goal}: n/a";

    private static Point? Find(IReadOnlyList<Point> points, string scenario, int connections) =>
        points.FirstOrDefault(p => p.Scenario == scenario && p.Connections == connections);

    private static string Row(string name, Point point)
    {
        if (point.Result is not { } r) return $"| {name} | {point.Connections} | n/a: {point.NotAvailable} | | | | | | | |";
        // A run too short for the slowest requests completes none: no latencies then, rather than zeros.
        if (r.Requests == 0) return Invariant($"| {name} | {point.Connections} | 0 | – | – | – | {r.StatusErrors} | {r.SocketErrors} | {point.CpuSeconds:F2} | – |");
        var perRequest = Invariant($"{point.CpuSeconds * 1000 / r.Requests:F2}");
        return Invariant($"| {name} | {point.Connections} | {r.RequestsPerSecond:F1} | {r.P50Us / 1000:F3} | {r.P90Us / 1000:F3} | {r.P99Us / 1000:F3} | {r.StatusErrors} | {r.SocketErrors} | {point.CpuSeconds:F2} | {perRequest} |");
    }

    private static string Rps(Point point) => point.Result is { } r ? Invariant($"{r.RequestsPerSecond:F0}") : "n/a";

    private static string Ratio(Point numerator, Point denominator) =>
        numerator.Result is { } n && denominator.Result is { } d && d.RequestsPerSecond > 0 ? Invariant($"{n.RequestsPerSecond / d.RequestsPerSecond:F3}") : "n/a";

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
