using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace ImageGateway.Tests.Support;

/// <summary>
/// The whole gateway in process (TestServer) on a fresh temporary data folder, with a clock the
/// test moves and a known bootstrap admin key. Extra configuration goes through <see cref="Settings"/>
/// before the first client is created.
/// </summary>
public sealed class GatewayFactory : WebApplicationFactory<Program>
{
    public const string AdminKey = "uc_TestAdminKey000000000000000000000000000000000";

    /// <summary>Where the SQLite file and images live; set it to another factory's to restart the gateway on the same data.</summary>
    public string DataDirectory { get; init; } = Path.Combine(Path.GetTempPath(), "igw-tests", Guid.NewGuid().ToString("N"));

    public FakeTimeProvider Time { get; } = new TestClock(new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero));

    public Dictionary<string, string?> Settings { get; } = new();

    /// <summary>Every log line written while the gateway runs, at every level.</summary>
    public LogCapture Logs { get; } = new();

    private PostgresTestDatabase? _postgres;

    /// <summary>
    /// Runs the gateway on a fresh PostgreSQL database (dropped on dispose) instead of the SQLite
    /// file. Call before the first client; skips the test when the server is absent.
    /// </summary>
    public async Task<GatewayFactory> UsePostgresAsync()
    {
        _postgres = await PostgresTestDatabase.CreateAsync();
        Settings["Gateway:Database:Provider"] = "postgres";
        Settings["Gateway:Database:ConnectionString"] = _postgres.ConnectionString;
        UseSharedSecrets();
        return this;
    }

    /// <summary>The two secrets every process of a scale-out deployment shares (required with PostgreSQL, S3 or Redis).</summary>
    public GatewayFactory UseSharedSecrets()
    {
        Settings.TryAdd("Gateway:Secrets:UrlSigningKey", Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)));
        Settings.TryAdd("Gateway:Secrets:EncryptionKey", Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)));
        return this;
    }

    /// <summary>
    /// Set to <c>postgres</c> to run every in-process gateway test on its own PostgreSQL database
    /// (a check that all the callers' SQL is portable); tests that pick a database themselves keep it.
    /// </summary>
    public const string DatabaseVariable = "IGW_TEST_GATEWAY_DATABASE";

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        if (_postgres is null && !Settings.ContainsKey("Gateway:Database:Provider")
            && Environment.GetEnvironmentVariable(DatabaseVariable) is "postgres")
            UsePostgresAsync().GetAwaiter().GetResult();
        builder.UseSetting("Gateway:DataDirectory", DataDirectory);
        builder.UseSetting("Gateway:Bootstrap:AdminKey", AdminKey);
        foreach (var (key, value) in Settings) builder.UseSetting(key, value);
        builder.ConfigureServices(services => services.AddSingleton<TimeProvider>(Time));
        builder.ConfigureLogging(logging =>
        {
            logging.AddProvider(Logs);
            logging.SetMinimumLevel(Microsoft.Extensions.Logging.LogLevel.Trace);
        });
    }

    public HttpClient ClientWithKey(string key)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    public HttpClient AdminClient() => ClientWithKey(AdminKey);

    /// <summary>Creates a user through the admin API and returns its id and first key.</summary>
    public async Task<(string UserId, string Key)> CreateUserAsync(string tier = "managed", decimal credits = 1000m, string name = "test user")
    {
        using var admin = AdminClient();
        var response = await admin.PostAsJsonAsync("/api/v1/admin/users", new { name, tier, credits });
        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (json.RootElement.GetProperty("id").GetString()!, json.RootElement.GetProperty("api_key").GetString()!);
    }

    public T Service<T>() where T : notnull => Services.GetRequiredService<T>();

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            _postgres?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
