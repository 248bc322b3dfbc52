using System.Globalization;
using System.Text;

namespace ImageGateway.Bench;

/// <summary>One load point: what wrk sends, and with how many threads and connections.</summary>
public sealed record LoadSpec(string Url, string Body, IReadOnlyDictionary<string, string> Headers, int Threads, int Connections, string Method = "POST");

/// <summary>
/// What one wrk run measured. <see cref="StatusErrors"/> is wrk's own count of answers with a
/// status ≥ 400 (the endpoints measured never redirect, so that is every non-2xx answer).
/// </summary>
public sealed record WrkResult(
    long Requests, double DurationSeconds, long StatusErrors, long SocketErrors,
    double P50Us, double P90Us, double P99Us, double MeanUs)
{
    public double RequestsPerSecond => Requests / DurationSeconds;
}

/// <summary>Runs <c>wrk</c> with a generated Lua script whose <c>done()</c> prints one machine-readable line.</summary>
public static class Wrk
{
    public const string Executable = "/usr/bin/wrk";
    private const string Marker = "BENCH_RESULT";

    public static async Task<WrkResult> RunAsync(LoadSpec spec, int seconds, string workFolder)
    {
        var name = $"wrk-{Guid.NewGuid():N}";
        var script = Path.Combine(workFolder, name + ".lua");
        var log = Path.Combine(workFolder, name + ".out");
        await File.WriteAllTextAsync(script, Script(spec));
        try
        {
            string[] arguments =
            [
                "-t", spec.Threads.ToString(CultureInfo.InvariantCulture),
                "-c", spec.Connections.ToString(CultureInfo.InvariantCulture),
                "-d", $"{seconds}s",
                // Generous: a slow answer should show in the percentiles, not be dropped as a timeout.
                "--timeout", "30s",
                "-s", script, spec.Url,
            ];
            // A registered child like the servers, so it is killed too if the benchmark is stopped.
            using var wrk = ChildProcess.Start("wrk", log, Executable, arguments, workingDirectory: workFolder);
            await wrk.WaitForExitAsync();
            var output = await File.ReadAllTextAsync(log);
            var line = output.Split('\n').FirstOrDefault(l => l.StartsWith(Marker, StringComparison.Ordinal))
                       ?? throw new InvalidOperationException($"wrk printed no result (exit {wrk.ExitCode}):\n{output}");
            return Parse(line);
        }
        finally
        {
            File.Delete(script);
            File.Delete(log);
        }
    }

    internal static string Script(LoadSpec spec)
    {
        var lua = new StringBuilder();
        lua.AppendLine($"wrk.method = \"{spec.Method}\"");
        if (spec.Method == "POST") lua.AppendLine($"wrk.body = {LuaString(spec.Body)}");
        // The spaces matter: "[[[" would open a long string.
        foreach (var (name, value) in spec.Headers) lua.AppendLine($"wrk.headers[ {LuaString(name)} ] = {LuaString(value)}");
        // Percentiles come from wrk's own HdrHistogram through the Lua API, so --latency is not needed.
        lua.AppendLine($$"""
            done = function(summary, latency, requests)
              local e = summary.errors
              io.write(string.format("{{Marker}} requests=%d duration_us=%d status=%d connect=%d read=%d write=%d timeout=%d p50=%d p90=%d p99=%d mean=%.1f\n",
                summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
                latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean))
            end
            """);
        return lua.ToString();
    }

    internal static WrkResult Parse(string line)
    {
        var values = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(pair => pair.Split('='))
            .ToDictionary(kv => kv[0], kv => double.Parse(kv[1], CultureInfo.InvariantCulture));
        return new WrkResult(
            Requests: (long)values["requests"],
            DurationSeconds: values["duration_us"] / 1e6,
            StatusErrors: (long)values["status"],
            SocketErrors: (long)(values["connect"] + values["read"] + values["write"] + values["timeout"]),
            P50Us: values["p50"], P90Us: values["p90"], P99Us: values["p99"], MeanUs: values["mean"]);
    }

    /// <summary>A Lua long-bracket string, with a level of '=' that the text does not contain.</summary>
    private static string LuaString(string text)
    {
        var level = "";
        while (text.Contains($"]{level}]", StringComparison.Ordinal)) level += "=";
        // (A long string drops a leading newline; the JSON bodies and headers here never start with one.)
        return $"[{level}[{text}]{level}]";
    }
}
