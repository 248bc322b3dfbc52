using System.Net;
using System.Text;
using ImageGateway.Accounts;
using ImageGateway.Tests.Support;
using Microsoft.Data.Sqlite;

namespace ImageGateway.Tests.Accounts;

/// <summary>First start (admin key) and keys at rest (DESIGN §7).</summary>
public sealed class BootstrapTests : IDisposable
{
    private readonly GatewayFactory _gateway = new();

    public void Dispose() => _gateway.Dispose();

    private string AdminKeyFile => Path.Combine(_gateway.DataDirectory, "admin-key.txt");

    [Fact]
    public async Task A_configured_bootstrap_admin_key_works_and_no_admin_key_file_is_written()
    {
        using var admin = _gateway.AdminClient();

        var response = await admin.GetAsync("/api/v1/admin/users");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(Directory.Exists(_gateway.DataDirectory));
        Assert.True(File.Exists(Path.Combine(_gateway.DataDirectory, "gateway.db")));
        Assert.False(File.Exists(AdminKeyFile), "admin-key.txt must not be written when Gateway:Bootstrap:AdminKey is configured");
        Assert.Empty(Directory.GetFiles(_gateway.DataDirectory, "*admin*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task Without_a_configured_key_a_random_admin_key_is_written_owner_only_and_works()
    {
        using var gateway = new UnconfiguredAdminKeyFactory();
        using var client = gateway.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);
        var path = Path.Combine(gateway.DataDirectory, "admin-key.txt");

        Assert.True(File.Exists(path), "with no configured key the generated admin key is saved in the data folder");
        var key = (await File.ReadAllTextAsync(path)).Trim();
        Assert.True(ApiKeys.HasValidShape(key));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        using var admin = gateway.CreateClient();
        admin.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/v1/admin/users")).StatusCode);
        using var other = gateway.CreateClient();
        other.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", GatewayFactory.AdminKey);
        Assert.Equal(HttpStatusCode.Unauthorized, (await other.GetAsync("/api/v1/admin/users")).StatusCode);
    }

    /// <summary>The gateway on a fresh data folder with no Gateway:Bootstrap:AdminKey at all.</summary>
    private sealed class UnconfiguredAdminKeyFactory : Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactory<Program>
    {
        public string DataDirectory { get; } = Path.Combine(Path.GetTempPath(), "igw-tests", Guid.NewGuid().ToString("N"));

        protected override void ConfigureWebHost(Microsoft.AspNetCore.Hosting.IWebHostBuilder builder) =>
            builder.UseSetting("Gateway:DataDirectory", DataDirectory);

        protected override void Dispose(bool disposing)
        {
            base.Dispose(disposing);
            if (!disposing) return;
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    [Fact]
    public async Task Api_keys_are_stored_hashed_never_in_plain_text()
    {
        var (_, userKey) = await _gateway.CreateUserAsync("managed", 10m);
        using var user = _gateway.ClientWithKey(userKey);
        var created = await (await user.PostJsonAsync("/api/v1/keys", new { name = "second" })).OkJsonAsync(HttpStatusCode.Created);
        var secondKey = created.Str("key")!;
        Assert.Equal(HttpStatusCode.OK, (await user.GetAsync("/api/v1/llm/credits")).StatusCode);

        SqliteConnection.ClearAllPools();
        var bytes = ReadDatabaseFiles();

        Assert.True(bytes.Length > 0);
        // Sanity: the files read do hold the keys' records (their hashes), so the search below is meaningful.
        Assert.True(Contains(bytes, Encoding.ASCII.GetBytes(ApiKeys.Hash(userKey))), "the user key's hash should be in the database files");
        Assert.True(Contains(bytes, Encoding.ASCII.GetBytes(ApiKeys.Hash(secondKey))), "the second key's hash should be in the database files");
        foreach (var key in new[] { userKey, secondKey, GatewayFactory.AdminKey })
        {
            Assert.False(Contains(bytes, Encoding.ASCII.GetBytes(key)), "a full API key was found in the database files");
            Assert.False(Contains(bytes, Encoding.Unicode.GetBytes(key)), "a full API key (UTF-16) was found in the database files");
            // Not even the random part beyond the display prefix.
            Assert.False(Contains(bytes, Encoding.ASCII.GetBytes(key[12..])), "the secret part of an API key was found in the database files");
        }
    }

    private byte[] ReadDatabaseFiles()
    {
        using var all = new MemoryStream();
        foreach (var suffix in new[] { "", "-wal", "-journal" })
        {
            var path = Path.Combine(_gateway.DataDirectory, "gateway.db" + suffix);
            if (!File.Exists(path)) continue;
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            stream.CopyTo(all);
        }
        return all.ToArray();
    }

    private static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;
}
