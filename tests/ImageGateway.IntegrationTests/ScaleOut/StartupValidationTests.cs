using ImageGateway.IntegrationTests.Support;

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

    [SkippableFact]
    public async Task A_bucket_that_does_not_exist_is_reported_at_start_without_the_secret()
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
    public async Task Refused_credentials_are_reported_at_start_without_the_secret()
    {
        var output = await StartupFailureAsync(new()
        {
            ["Gateway__Storage__Kind"] = "s3",
            ["Gateway__Storage__S3__ServiceUrl"] = TestServices.S3,
            ["Gateway__Storage__S3__Bucket"] = "any-bucket",
            ["Gateway__Storage__S3__AccessKey"] = "S3RVER",
            ["Gateway__Storage__S3__SecretKey"] = "wrong-secret-not-to-print",
        });
        Assert.Contains("The S3 bucket 'any-bucket'", output);
        Assert.Contains("access denied", output);
        Assert.DoesNotContain("wrong-secret-not-to-print", output);
    }
}
