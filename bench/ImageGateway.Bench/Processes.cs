using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace ImageGateway.Bench;

/// <summary>
/// A child process whose stdout and stderr go straight to a log file (through <c>sh -c 'exec …'</c>,
/// so there is no pipe to drain and the PID is the program's own, which /proc readings need).
/// Every child is registered, so <see cref="KillAll"/> can end them on any exit path.
/// </summary>
public sealed class ChildProcess : IDisposable
{
    private static readonly ConcurrentDictionary<int, ChildProcess> Running = new();

    private readonly Process _process;
    private readonly Lock _lock = new();
    private bool _disposed;

    private ChildProcess(Process process, string name, string logFile)
    {
        _process = process;
        Id = process.Id;
        Name = name;
        LogFile = logFile;
    }

    public string Name { get; }
    public string LogFile { get; }
    /// <summary>Kept apart from the Process object, which throws once disposed (a signal may arrive at any moment).</summary>
    public int Id { get; }
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    public static ChildProcess Start(string name, string logFile, string program, IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, WorkingDirectory = workingDirectory ?? Path.GetDirectoryName(logFile)! };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("exec \"$0\" \"$@\" >>\"$BENCH_LOG_FILE\" 2>&1 </dev/null");
        start.ArgumentList.Add(program);
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        start.Environment["BENCH_LOG_FILE"] = logFile;
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) start.Environment[key] = value;

        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {name}");
        var child = new ChildProcess(process, name, logFile);
        Running[child.Id] = child;
        return child;
    }

    /// <summary>SIGTERM first, so the gateway shuts down cleanly (its SQLite file closed); SIGKILL if it lingers.</summary>
    public void Stop(TimeSpan? grace = null)
    {
        lock (_lock)
        {
            if (!_disposed && !_process.HasExited)
            {
                _ = Native.Kill(Id, Native.SigTerm);
                if (!_process.WaitForExit(grace ?? TimeSpan.FromSeconds(15))) _process.Kill(entireProcessTree: true);
            }
        }
        Running.TryRemove(Id, out _);
    }

    public async Task WaitForExitAsync(CancellationToken ct = default)
    {
        await _process.WaitForExitAsync(ct);
        Running.TryRemove(Id, out _);
    }

    /// <summary>Safe to call from any thread, any number of times, also after <see cref="Dispose"/>.</summary>
    public void Kill()
    {
        lock (_lock)
        {
            try
            {
                if (!_disposed && !_process.HasExited)
                {
                    _process.Kill(entireProcessTree: true);
                    _process.WaitForExit(5_000);
                }
            }
            catch (InvalidOperationException) { }
            catch (System.ComponentModel.Win32Exception) { }
        }
        Running.TryRemove(Id, out _);
    }

    public string LogTail(int lines = 40)
    {
        try { return string.Join('\n', File.ReadLines(LogFile).TakeLast(lines)); }
        catch (IOException) { return "(no log)"; }
    }

    public static void KillAll()
    {
        foreach (var child in Running.Values) child.Kill();
    }

    public void Dispose()
    {
        Kill();
        lock (_lock)
        {
            _disposed = true;
            _process.Dispose();
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Polls <paramref name="url"/> until it answers 2xx; fails early, with the log, if the process dies.</summary>
    public async Task WaitForHttpAsync(string url, TimeSpan timeout)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException($"{Name} exited with code {_process.ExitCode}:\n{LogTail()}");
            try
            {
                using var response = await client.GetAsync(url);
                if (response.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(100);
        }
        throw new TimeoutException($"{Name} did not answer {url} within {timeout}:\n{LogTail()}");
    }

    /// <summary>User + system CPU time so far, from /proc/PID/stat.</summary>
    public double CpuSeconds()
    {
        var stat = File.ReadAllText($"/proc/{Id}/stat");
        // Fields after the command name, which is in parentheses and may itself contain spaces.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // utime and stime are fields 14 and 15 of the whole line, so 11 and 12 here (0-based, state = 0).
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return ticks / (double)Native.ClockTicksPerSecond;
    }

    /// <summary>A memory figure from /proc/PID/status in bytes: VmRSS (now) or VmHWM (peak).</summary>
    public long MemoryBytes(string field)
    {
        foreach (var line in File.ReadLines($"/proc/{Id}/status"))
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
                return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        throw new InvalidOperationException($"no {field} in /proc/{Id}/status");
    }

    private static class Native
    {
        public const int SigTerm = 15;
        private const int ScClkTck = 2; // _SC_CLK_TCK on Linux

        public static readonly long ClockTicksPerSecond = sysconf(ScClkTck) is > 0 and var t ? t : 100;

        public static int Kill(int pid, int signal) => kill(pid, signal);

        [DllImport("libc", SetLastError = true)]
        private static extern int kill(int pid, int sig);

        [DllImport("libc")]
        private static extern long sysconf(int name);
    }
}
