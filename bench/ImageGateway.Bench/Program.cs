using System.Globalization;
using ImageGateway.Bench;

// Two subcommands: the fake upstream runs in its own process so its CPU is not the
// orchestrator's, and the orchestrator starts it by running this same assembly again.
try
{
    return args.FirstOrDefault() switch
    {
        "fake-upstream" => await FakeUpstream.RunAsync(Options.IntOption(args, "--port") ?? throw new ArgumentException("fake-upstream needs --port P"),
            TimeSpan.FromMilliseconds(Options.IntOption(args, "--latency-ms") ?? 0), TimeSpan.FromMilliseconds(Options.IntOption(args, "--jitter-ms") ?? 0),
            args.Contains("--photo")),
        "realistic" => await RealisticRun.RunAsync(RealisticOptions.Parse(args[1..])),
        "static-files" => await RealisticRun.StaticFilesAsync(Options.IntOption(args, "--port") ?? throw new ArgumentException("static-files needs --port P"),
            Options.StringOption(args, "--root") ?? throw new ArgumentException("static-files needs --root DIR")),
        "floor-proxy" => await FloorProxy.RunAsync(Options.IntOption(args, "--port") ?? throw new ArgumentException("floor-proxy needs --port P"),
            new Uri(Options.StringOption(args, "--upstream") ?? throw new ArgumentException("floor-proxy needs --upstream URL")),
            Options.StringOption(args, "--ledger")),
        "run" => await BenchmarkRun.RunAsync(Options.Parse(args[1..])),
        _ => Usage(),
    };
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return Usage();
}

static int Usage()
{
    Console.Error.WriteLine("""
        usage:
          ImageGateway.Bench fake-upstream --port P [--latency-ms L] [--jitter-ms J] [--photo]
          ImageGateway.Bench static-files --port P --root DIR
          ImageGateway.Bench realistic [--smoke] [--connections 1,256,1000] [--latency-ms 5000] [--jitter-ms 500] [--duration SECONDS] [--skip-portkey] [--out FILE]
          ImageGateway.Bench floor-proxy --port P --upstream http://127.0.0.1:PORT/v1 [--ledger FOLDER]
          ImageGateway.Bench run [--smoke] [--rounds N] [--max-steal PERCENT] [--duration SECONDS] [--warmup SECONDS] [--gateway-warmup SECONDS] [--out FILE]
                                 [--skip-portkey] [--skip-ledger] [--ledger-accounts N] [--ledger-entries M]
        """);
    return 2;
}

namespace ImageGateway.Bench
{
    public sealed record Options(
        bool Smoke, int Rounds, double MaxStealPercent, int DurationSeconds, int WarmupSeconds, int GatewayWarmupSeconds, string OutFile,
        bool SkipPortkey, bool SkipLedger, long LedgerAccounts, long LedgerEntries)
    {
        public static Options Parse(string[] args)
        {
            var known = new HashSet<string> { "--smoke", "--rounds", "--max-steal", "--duration", "--warmup", "--gateway-warmup", "--out", "--skip-portkey", "--skip-ledger", "--ledger-accounts", "--ledger-entries" };
            foreach (var arg in args.Where(a => a.StartsWith("--")))
                if (!known.Contains(arg)) throw new ArgumentException($"unknown option {arg}");

            var smoke = args.Contains("--smoke");
            var stamp = DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
            var options = new Options(
                Smoke: smoke,
                Rounds: IntOption(args, "--rounds") ?? (smoke ? 1 : 3),
                // Smoke runs check that everything answers, not how fast: never repeated.
                MaxStealPercent: IntOption(args, "--max-steal") ?? (smoke ? 100 : 15),
                DurationSeconds: IntOption(args, "--duration") ?? (smoke ? 1 : 10),
                WarmupSeconds: IntOption(args, "--warmup") ?? (smoke ? 1 : 3),
                GatewayWarmupSeconds: IntOption(args, "--gateway-warmup") ?? (smoke ? 1 : 30),
                OutFile: StringOption(args, "--out") ?? Path.Combine(RepoPaths.BenchFolder(), "results", $"run-{stamp}.md"),
                // Smoke mode is for CI: Portkey needs npm packages that a CI machine may not have.
                SkipPortkey: smoke || args.Contains("--skip-portkey"),
                SkipLedger: args.Contains("--skip-ledger"),
                LedgerAccounts: LongOption(args, "--ledger-accounts") ?? (smoke ? 1_000 : 1_000_000),
                LedgerEntries: LongOption(args, "--ledger-entries") ?? (smoke ? 10_000 : 10_000_000));
            if (options.Rounds < 1) throw new ArgumentException("--rounds must be ≥ 1");
            if (options.DurationSeconds < 1 || options.WarmupSeconds < 0 || options.GatewayWarmupSeconds < 0)
                throw new ArgumentException("--duration must be ≥ 1, --warmup and --gateway-warmup ≥ 0");
            if (options.LedgerAccounts < 1 || options.LedgerEntries < options.LedgerAccounts)
                throw new ArgumentException("--ledger-accounts must be ≥ 1 and --ledger-entries ≥ --ledger-accounts (each account starts with a grant)");
            return options;
        }

        public static string? StringOption(string[] args, string name)
        {
            var i = Array.IndexOf(args, name);
            if (i < 0) return null;
            if (i + 1 >= args.Length) throw new ArgumentException($"{name} needs a value");
            return args[i + 1];
        }

        public static int? IntOption(string[] args, string name) =>
            StringOption(args, name) is { } s ? int.TryParse(s, CultureInfo.InvariantCulture, out var v) ? v : throw new ArgumentException($"{name}: not a number: {s}") : null;

        public static long? LongOption(string[] args, string name) =>
            StringOption(args, name) is { } s ? long.TryParse(s.Replace("_", ""), CultureInfo.InvariantCulture, out var v) ? v : throw new ArgumentException($"{name}: not a number: {s}") : null;
    }

    /// <summary>Where the repository's files are, found from the output folder (bench/ImageGateway.Bench/bin/…) or the working folder.</summary>
    public static class RepoPaths
    {
        public static string BenchFolder()
        {
            foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
                for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                    if (File.Exists(Path.Combine(dir.FullName, "ImageGateway.slnx"))) return Path.Combine(dir.FullName, "bench");
            return Path.Combine(Directory.GetCurrentDirectory(), "bench");
        }

        public static string RepoRoot() => Path.GetDirectoryName(BenchFolder())!;
    }
}
