using System.Diagnostics;

namespace ImageGateway.Bench;

/// <summary>
/// The Portkey AI gateway (npm <c>@portkey-ai/gateway</c>, pinned in bench/node/package-lock.json),
/// the comparison point for scenario (e). Installed with <c>npm ci</c> the first time it is needed.
/// </summary>
public sealed record Portkey(ChildProcess Process, string Url)
{
    public static async Task<Portkey> StartAsync(string work)
    {
        var folder = Path.Combine(RepoPaths.BenchFolder(), "node");
        var entry = Path.Combine(folder, "node_modules", "@portkey-ai", "gateway", "build", "start-server.js");
        if (!File.Exists(entry)) await NpmCiAsync(folder, Path.Combine(work, "npm-ci.log"));
        if (!File.Exists(entry)) throw new InvalidOperationException($"npm ci did not install {entry}");

        var port = ChildProcess.FreePort();
        // --headless: no web UI banner. NODE_ENV=production as a deployment would run it.
        var process = ChildProcess.Start("portkey", Path.Combine(work, "portkey.log"), "node",
            [entry, $"--port={port}", "--headless"], new Dictionary<string, string> { ["NODE_ENV"] = "production" }, workingDirectory: folder);
        var portkey = new Portkey(process, $"http://127.0.0.1:{port}");
        try
        {
            await process.WaitForHttpAsync($"{portkey.Url}/", TimeSpan.FromSeconds(30));
        }
        catch
        {
            process.Kill();
            throw;
        }
        return portkey;
    }

    private static async Task NpmCiAsync(string folder, string log)
    {
        if (!File.Exists(Path.Combine(folder, "package-lock.json"))) throw new InvalidOperationException($"no package-lock.json in {folder}");
        Console.WriteLine("installing Portkey (npm ci in bench/node) …");
        var npm = ChildProcess.Start("npm ci", log, "npm", ["ci", "--no-audit", "--no-fund"], workingDirectory: folder);
        var watch = Stopwatch.StartNew();
        while (!npm.HasExited && watch.Elapsed < TimeSpan.FromMinutes(5)) await Task.Delay(200);
        if (!npm.HasExited)
        {
            npm.Kill();
            throw new InvalidOperationException("npm ci took more than 5 minutes");
        }
        npm.Stop();
    }
}
