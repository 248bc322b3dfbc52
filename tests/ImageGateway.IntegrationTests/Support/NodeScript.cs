using System.Diagnostics;
using System.Text.Json;

namespace ImageGateway.IntegrationTests.Support;

/// <summary>Runs a Node ESM script from tests/node (beside the npm packages scripts/test.sh installs) and captures its output.</summary>
public static class NodeScript
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        /// <summary>The scripts print their result for the test as the last stdout line, as JSON.</summary>
        public JsonElement Json
        {
            get
            {
                var last = Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault()
                           ?? throw new InvalidOperationException($"node printed nothing (exit {ExitCode}): {Stderr}");
                using var doc = JsonDocument.Parse(last);
                return doc.RootElement.Clone();
            }
        }

        public string[] Lines => Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    public static async Task<Result> RunAsync(string script, IReadOnlyDictionary<string, string> environment, TimeSpan? timeout = null)
    {
        var folder = Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(TestServices.NodeModules))!;
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(folder, script));
        foreach (var (key, value) in environment) start.Environment[key] = value;
        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start node.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"node {script} did not finish: {await stderr}");
        }
        return new Result(process.ExitCode, await stdout, await stderr);
    }
}
