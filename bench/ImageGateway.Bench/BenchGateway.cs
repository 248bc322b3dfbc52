using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using ImageGateway.Accounts;

namespace ImageGateway.Bench;

/// <summary>
/// The built gateway (ImageGateway.dll next to this assembly) as its own process, configured as in
/// production except that the openai provider points at the fake upstream.
/// </summary>
public sealed class BenchGateway : IDisposable
{
    /// <summary>Enough that no run can spend it: 1e9 credits, far below the ledger's maximum balance.</summary>
    private const decimal BenchCredits = 1_000_000_000m;

    private readonly ChildProcess _process;
    private readonly string _adminKey;

    private BenchGateway(ChildProcess process, string url, string dataDirectory, string adminKey)
    {
        _process = process;
        Url = url;
        DataDirectory = dataDirectory;
        _adminKey = adminKey;
    }

    public string Url { get; }
    public string DataDirectory { get; }
    public ChildProcess Process => _process;

    public static async Task<BenchGateway> StartAsync(string dataDirectory, string fakeUpstreamUrl, string upstreamKey, string adminKey)
    {
        Directory.CreateDirectory(dataDirectory);
        var port = ChildProcess.FreePort();
        var url = $"http://127.0.0.1:{port}";
        var environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["Gateway__DataDirectory"] = dataDirectory,
            ["Gateway__Bootstrap__AdminKey"] = adminKey,
            ["OPENAI_API_KEY"] = upstreamKey,
            ["Gateway__Providers__openai__BaseUrl"] = fakeUpstreamUrl,
        };
        // Started from its own folder, which is its content root: that is where appsettings.json is.
        var dll = Path.Combine(AppContext.BaseDirectory, "ImageGateway.dll");
        var process = ChildProcess.Start("gateway", Path.Combine(dataDirectory, "gateway.log"), "dotnet",
            [dll, "--urls", url], environment, workingDirectory: AppContext.BaseDirectory);
        var gateway = new BenchGateway(process, url, dataDirectory, adminKey);
        try
        {
            await process.WaitForHttpAsync($"{url}/healthz", TimeSpan.FromSeconds(60));
        }
        catch
        {
            process.Kill();
            throw;
        }
        return gateway;
    }

    /// <summary>A managed-tier user with plenty of credits and no rate limit or monthly cap to run into. Returns its API key.</summary>
    public async Task<string> CreateBenchUserAsync()
    {
        using var admin = new HttpClient { BaseAddress = new Uri(Url), Timeout = TimeSpan.FromSeconds(30) };
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", _adminKey);

        using var created = await admin.PostAsJsonAsync("/api/v1/admin/users", new { name = "bench", tier = "managed", credits = BenchCredits });
        var body = await created.Content.ReadAsStringAsync();
        if (created.StatusCode != HttpStatusCode.Created) throw new InvalidOperationException($"create user: {(int)created.StatusCode} {body}");
        using var user = JsonDocument.Parse(body);
        var id = user.RootElement.GetProperty("id").GetString()!;
        var key = user.RootElement.GetProperty("api_key").GetString()!;

        // 0 = unlimited for the counters, and a monthly cap of 0 means none.
        using var limits = await admin.PutAsJsonAsync($"/api/v1/admin/users/{id}/limits",
            new { per_minute = 0, per_hour = 0, per_day = 0, per_month = 0, monthly_cap = 0 });
        if (!limits.IsSuccessStatusCode)
            throw new InvalidOperationException($"set limits: {(int)limits.StatusCode} {await limits.Content.ReadAsStringAsync()}");
        return key;
    }

    public static string NewAdminKey() => ApiKeys.Generate();

    public void Stop() => _process.Stop();

    public void Dispose() => _process.Dispose();
}
