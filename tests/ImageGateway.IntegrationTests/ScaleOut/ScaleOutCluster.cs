using System.Net.Http.Json;
using System.Security.Cryptography;
using Amazon.S3;
using Amazon.S3.Model;
using ImageGateway.Hosting;
using ImageGateway.IntegrationTests.Support;
using ImageGateway.Storage;
using Npgsql;

namespace ImageGateway.IntegrationTests.ScaleOut;

/// <summary>
/// Two real gateway processes sharing what a scale-out install shares: a fresh PostgreSQL database,
/// the Redis server and a fresh S3 bucket, with the same URL-signing and encryption keys and
/// separate data folders. Everything it creates is dropped on dispose, so runs sharing the
/// servers never see each other.
/// </summary>
public sealed class ScaleOutCluster : IAsyncDisposable
{
    private readonly List<GatewayProcess> _processes = [];
    private readonly AmazonS3Client _s3;

    private ScaleOutCluster(string adminConnectionString, string database, string bucket, AmazonS3Client s3, Dictionary<string, string> environment)
    {
        AdminConnectionString = adminConnectionString;
        DatabaseName = database;
        Bucket = bucket;
        _s3 = s3;
        Environment = environment;
        ConnectionString = new NpgsqlConnectionStringBuilder(adminConnectionString) { Database = database, MaxPoolSize = 40 }.ConnectionString;
    }

    public string AdminConnectionString { get; }
    public string DatabaseName { get; }
    public string ConnectionString { get; }
    public string Bucket { get; }
    public Dictionary<string, string> Environment { get; }
    public GatewayProcess A => _processes[0];
    public GatewayProcess B => _processes[1];

    /// <summary>Creates the database and bucket, then starts two processes (one after the other: the first migrates and bootstraps the admin).</summary>
    public static async Task<ScaleOutCluster> StartAsync(IReadOnlyDictionary<string, string>? extra = null)
    {
        var postgres = TestServices.Postgres;
        var redis = TestServices.Redis;
        var s3Url = TestServices.S3;

        var database = $"igw_scaleout_{Guid.NewGuid():N}";
        await using (var admin = new NpgsqlConnection(postgres))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{database}\"", admin);
            await create.ExecuteNonQueryAsync();
        }

        var bucket = $"igw-scaleout-{Guid.NewGuid():N}"[..40];
        var s3Options = new S3Options { ServiceUrl = s3Url, Bucket = bucket, AccessKey = "S3RVER", SecretKey = "S3RVER", Region = "us-east-1" };
        var s3 = S3ImageStore.CreateClient(s3Options);
        await s3.PutBucketAsync(new PutBucketRequest { BucketName = bucket });

        var environment = new Dictionary<string, string>
        {
            ["Gateway__Database__Provider"] = "postgres",
            ["Gateway__RateLimits__Store"] = "redis",
            ["Gateway__Redis__Configuration"] = redis,
            ["Gateway__Storage__Kind"] = "s3",
            ["Gateway__Storage__S3__ServiceUrl"] = s3Url,
            ["Gateway__Storage__S3__Bucket"] = bucket,
            ["Gateway__Storage__S3__AccessKey"] = "S3RVER",
            ["Gateway__Storage__S3__SecretKey"] = "S3RVER",
            ["Gateway__Storage__S3__Region"] = "us-east-1",
            ["Gateway__Secrets__UrlSigningKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["Gateway__Secrets__EncryptionKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
        };
        var cluster = new ScaleOutCluster(postgres, database, bucket, s3, environment);
        environment["Gateway__Database__ConnectionString"] = cluster.ConnectionString;
        foreach (var (key, value) in extra ?? new Dictionary<string, string>()) environment[key] = value;
        try
        {
            cluster._processes.Add(await GatewayProcess.StartAsync(environment));
            cluster._processes.Add(await GatewayProcess.StartAsync(environment));
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
        return cluster;
    }

    /// <summary>A user with the given credits whose rate limits are replaced by <paramref name="limits"/> (0 = unlimited).</summary>
    public async Task<(string UserId, string Key)> CreateUserAsync(decimal credits, int perMinute = 0, int perHour = 0, int perDay = 0, int perMonth = 0)
    {
        var (userId, key) = await A.CreateUserAsync("managed", credits);
        using var admin = B.Client(GatewayProcess.AdminKey);
        var response = await admin.PutAsJsonAsync($"/api/v1/admin/users/{userId}/limits",
            new { per_minute = perMinute, per_hour = perHour, per_day = perDay, per_month = perMonth });
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"set limits: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return (userId, key);
    }

    public sealed record LedgerState(long BalanceMc, long ReservedMc, long EntriesSumMc, long HoldsSumMc, long OpenReservationsMc,
        int OpenReservations, int ExpiredReservations, int SettledReservations);

    /// <summary>Reads the ledger straight from PostgreSQL, as an auditor would.</summary>
    public async Task<LedgerState> LedgerAsync(string accountId)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT a.balance_mc, a.reserved_mc,
                   (SELECT COALESCE(SUM(amount_mc), 0) FROM ledger_entries WHERE account_id = a.id),
                   (SELECT COALESCE(SUM(hold_mc), 0) FROM ledger_entries WHERE account_id = a.id),
                   (SELECT COALESCE(SUM(amount_mc), 0) FROM reservations WHERE account_id = a.id AND state = 'open'),
                   (SELECT COUNT(*) FROM reservations WHERE account_id = a.id AND state = 'open'),
                   (SELECT COUNT(*) FROM reservations WHERE account_id = a.id AND state = 'expired'),
                   (SELECT COUNT(*) FROM reservations WHERE account_id = a.id AND state = 'settled')
            FROM accounts a WHERE a.id = @id
            """, connection);
        command.Parameters.AddWithValue("id", accountId);
        await using var reader = await command.ExecuteReaderAsync();
        if (!await reader.ReadAsync()) throw new InvalidOperationException($"no account {accountId}");
        return new LedgerState(reader.GetInt64(0), reader.GetInt64(1), Convert.ToInt64(reader.GetValue(2)), Convert.ToInt64(reader.GetValue(3)),
            Convert.ToInt64(reader.GetValue(4)), (int)reader.GetInt64(5), (int)reader.GetInt64(6), (int)reader.GetInt64(7));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes) await process.DisposeAsync();
        NpgsqlConnection.ClearAllPools();
        try
        {
            await using var admin = new NpgsqlConnection(AdminConnectionString);
            await admin.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{DatabaseName}\" WITH (FORCE)", admin);
            await drop.ExecuteNonQueryAsync();
        }
        catch (NpgsqlException) { }
        try
        {
            var request = new ListObjectsV2Request { BucketName = Bucket };
            while (true)
            {
                var page = await _s3.ListObjectsV2Async(request);
                foreach (var obj in page.S3Objects ?? []) await _s3.DeleteObjectAsync(Bucket, obj.Key);
                if (page.IsTruncated != true) break;
                request.ContinuationToken = page.NextContinuationToken;
            }
            await _s3.DeleteBucketAsync(Bucket);
        }
        catch (AmazonS3Exception) { }
        _s3.Dispose();
    }
}
