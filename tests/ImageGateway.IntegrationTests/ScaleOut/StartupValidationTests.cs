using System.Net;
using System.Text.Json;
using Amazon.S3.Model;
using ImageGateway.Hosting;
using ImageGateway.IntegrationTests.Support;
using ImageGateway.Storage;

namespace ImageGateway.IntegrationTests.ScaleOut;

/// <summary>A scale-out setting that is missing or points nowhere stops the real process at start, with a message naming it.</summary>
public sealed class StartupValidationTests
{
    private static async Task<string> StartupFailureAsync(Dictionary<string, string> environment)
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await using var gateway = await GatewayProcess.StartAsync(environment);
        });
        Assert.Contains("Gateway exited with code", error.Message);
        return error.Message;
    }

    [Fact]
    public async Task Redis_store_without_a_configuration_names_the_setting()
    {
        var output = await StartupFailureAsync(new() { ["Gateway__RateLimits__Store"] = "redis" });
        Assert.Contains("Gateway__Redis__Configuration", output);
    }

    [Fact]
    public async Task S3_store_without_a_bucket_names_the_settings()
    {
        var output = await StartupFailureAsync(new() { ["Gateway__Storage__Kind"] = "s3" });
        Assert.Contains("Gateway:Storage:S3:ServiceUrl", output);
        Assert.Contains("Gateway:Storage:S3:Bucket", output);
    }

    [Fact]
    public async Task Postgres_without_the_shared_secrets_names_both_and_never_starts()
    {
        var output = await StartupFailureAsync(new()
        {
            ["Gateway__Database__Provider"] = "postgres",
            ["Gateway__Database__ConnectionString"] = "Host=127.0.0.1;Port=1;Username=x",
            ["Gateway__Secrets__UrlSigningKey"] = "",
            ["Gateway__Secrets__EncryptionKey"] = "",
        });
        Assert.Contains("Gateway__Secrets__UrlSigningKey must be set when processes share state", output);
        Assert.Contains("Gateway__Secrets__EncryptionKey must be set", output);
    }

    [SkippableFact]
    public async Task A_bucket_that_does_not_exist_is_reported_at_start()
    {
        var bucket = $"igw-absent-{Guid.NewGuid():N}"[..30];
        var output = await StartupFailureAsync(new()
        {
            ["Gateway__Storage__Kind"] = "s3",
            ["Gateway__Storage__S3__ServiceUrl"] = TestServices.S3,
            ["Gateway__Storage__S3__Bucket"] = bucket,
            ["Gateway__Storage__S3__AccessKey"] = "S3RVER",
            ["Gateway__Storage__S3__SecretKey"] = "S3RVER",
        });
        Assert.Contains($"The S3 bucket '{bucket}'", output);
        Assert.Contains("does not exist", output);
    }

    [SkippableFact]
    public async Task Readyz_answers_503_naming_the_storage_when_the_bucket_goes_away()
    {
        var bucket = $"igw-ready-{Guid.NewGuid():N}"[..30];
        var options = new S3Options { ServiceUrl = TestServices.S3, Bucket = bucket, AccessKey = "S3RVER", SecretKey = "S3RVER" };
        using var s3 = S3ImageStore.CreateClient(options);
        await s3.PutBucketAsync(new PutBucketRequest { BucketName = bucket });
        await using var gateway = await GatewayProcess.StartAsync(new Dictionary<string, string>
        {
            ["Gateway__Storage__Kind"] = "s3",
            ["Gateway__Storage__S3__ServiceUrl"] = options.ServiceUrl,
            ["Gateway__Storage__S3__Bucket"] = bucket,
            ["Gateway__Storage__S3__AccessKey"] = "S3RVER",
            ["Gateway__Storage__S3__SecretKey"] = "S3RVER",
        });
        using var client = gateway.Client();

        var ready = await client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using (var json = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()))
        {
            var checks = json.RootElement.GetProperty("checks");
            Assert.Equal("sqlite", checks.GetProperty("database").GetProperty("detail").GetString());
            Assert.Equal("ok", checks.GetProperty("storage").GetProperty("status").GetString());
            Assert.False(checks.TryGetProperty("redis", out _)); // not configured, not reported
        }

        await s3.DeleteBucketAsync(bucket);
        var failing = await client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, failing.StatusCode);
        using (var json = JsonDocument.Parse(await failing.Content.ReadAsStringAsync()))
        {
            Assert.Equal("failing", json.RootElement.GetProperty("status").GetString());
            var checks = json.RootElement.GetProperty("checks");
            Assert.Equal("failing", checks.GetProperty("storage").GetProperty("status").GetString());
            Assert.Equal("ok", checks.GetProperty("database").GetProperty("status").GetString());
        }
        Assert.Equal("ok", await client.GetStringAsync("/healthz"));
    }
}
