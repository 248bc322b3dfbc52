using System.Diagnostics;

namespace ImageGateway.IntegrationTests.Support;

/// <summary>Runs the real <c>curl</c> binary, as someone pasting the brief's example into a shell would.</summary>
public static class Curl
{
    public sealed record Result(int ExitCode, string Body, int Status);

    /// <summary>Runs curl with <paramref name="args"/> as given, plus <c>-w</c> to learn the status after the body.</summary>
    public static async Task<Result> RunAsync(params string[] args)
    {
        const string marker = "\n--igw-status:";
        var start = new ProcessStartInfo("curl") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        start.ArgumentList.Add("-w");
        start.ArgumentList.Add(marker + "%{http_code}");
        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start curl.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(cts.Token);
        var output = await stdout;
        await stderr;
        var at = output.LastIndexOf(marker, StringComparison.Ordinal);
        if (process.ExitCode != 0 || at < 0) throw new InvalidOperationException($"curl failed ({process.ExitCode}): {output}");
        return new Result(process.ExitCode, output[..at], int.Parse(output[(at + marker.Length)..]));
    }
}
