using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace ImageGateway.IntegrationTests.Support;

/// <summary>
/// The gateway as a real process (the built ImageGateway.dll) on a free loopback port, with its
/// own temporary data folder: what an operator runs, reached over real sockets.
/// </summary>
public sealed class GatewayProcess : IAsyncDisposable
{
    public const string AdminKey = "uc_IntegrationAdminKey00000000000000000000000000";

    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private GatewayProcess(Process process, Uri baseUrl, string dataDirectory)
    {
        _process = process;
        BaseUrl = baseUrl;
        DataDirectory = dataDirectory;
    }

    public Uri BaseUrl { get; }
    public string DataDirectory { get; }

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    private static bool SharesState(IReadOnlyDictionary<string, string> environment) =>
        environment.GetValueOrDefault("Gateway__Database__Provider") is "postgres"
        || environment.GetValueOrDefault("Gateway__Storage__Kind") is "s3"
        || environment.GetValueOrDefault("Gateway__RateLimits__Store") is "redis";

    private static string TestSecret(string dataDirectory, string purpose) =>
        Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(purpose + ":" + dataDirectory)));

    public static async Task<GatewayProcess> StartAsync(IReadOnlyDictionary<string, string>? environment = null, string? dataDirectory = null,
        string? workingDirectory = null)
    {
        var port = FreePort();
        dataDirectory ??= Path.Combine(Path.GetTempPath(), "igw-it", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDirectory);
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory ?? AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ImageGateway.dll"));
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{port}");
        start.Environment["Gateway__DataDirectory"] = dataDirectory;
        start.Environment["Gateway__Bootstrap__AdminKey"] = AdminKey;
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        if (environment is not null && SharesState(environment))
        {
            // Required with PostgreSQL, S3 or Redis; derived from the data folder so a restart keeps them. A test may set them (empty).
            start.Environment["Gateway__Secrets__UrlSigningKey"] = TestSecret(dataDirectory, "url-signing");
            start.Environment["Gateway__Secrets__EncryptionKey"] = TestSecret(dataDirectory, "encryption");
        }
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) start.Environment[key] = value;

        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the gateway process.");
        var gateway = new GatewayProcess(process, new Uri($"http://127.0.0.1:{port}"), dataDirectory);
        process.OutputDataReceived += (_, e) => gateway.Append(e.Data);
        process.ErrorDataReceived += (_, e) => gateway.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await gateway.WaitUntilHealthyAsync(TimeSpan.FromSeconds(60));
        return gateway;
    }

    public HttpClient Client(string? key = null)
    {
        var client = new HttpClient { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(100) };
        if (key is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    public async Task<(string UserId, string Key)> CreateUserAsync(string tier = "managed", decimal credits = 1000m)
    {
        using var admin = Client(AdminKey);
        var response = await admin.PostAsJsonAsync("/api/v1/admin/users", new { name = "sdk user", tier, credits });
        var body = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.Created) throw new InvalidOperationException($"create user: {(int)response.StatusCode} {body}");
        using var json = JsonDocument.Parse(body);
        return (json.RootElement.GetProperty("id").GetString()!, json.RootElement.GetProperty("api_key").GetString()!);
    }

    public async Task<decimal> CreditsAsync(string key)
    {
        using var client = Client(key);
        using var json = JsonDocument.Parse(await client.GetStringAsync("/api/v1/llm/credits"));
        return json.RootElement.GetProperty("credits_remaining").GetDecimal();
    }

    public void Kill()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit(10_000);
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        _process.Dispose();
        await Task.Yield();
        try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    private async Task WaitUntilHealthyAsync(TimeSpan timeout)
    {
        using var client = new HttpClient { BaseAddress = BaseUrl, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                // The parameterless wait also drains the redirected output, so the message below is complete.
                _process.WaitForExit();
                throw new InvalidOperationException($"Gateway exited with code {_process.ExitCode}:\n{Output}");
            }
            try
            {
                if ((await client.GetAsync("/healthz")).IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(100);
        }
        throw new TimeoutException($"Gateway did not become healthy within {timeout}:\n{Output}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>One gateway process shared by the tests of a class.</summary>
public sealed class GatewayProcessFixture : IAsyncLifetime
{
    public GatewayProcess Gateway { get; private set; } = null!;

    public async Task InitializeAsync() => Gateway = await GatewayProcess.StartAsync();

    public async Task DisposeAsync() => await Gateway.DisposeAsync();
}
