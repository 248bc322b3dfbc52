using Amazon.S3;
using Amazon.S3.Model;
using ImageGateway.Hosting;
using ImageGateway.Storage;
using ImageGateway.Tests.Support;

namespace ImageGateway.IntegrationTests.Storage;

/// <summary>
/// The S3 image store against a real S3-compatible server (s3rver from scripts/test.sh), each test
/// class in a bucket of its own with a random name.
/// </summary>
public sealed class S3ImageStoreTests : IAsyncLifetime
{
    private readonly string _bucket = $"igw-test-{Guid.NewGuid():N}"[..40];
    private AmazonS3Client? _client;

    private S3Options Options() => new()
    {
        ServiceUrl = TestServices.S3,
        Bucket = _bucket,
        AccessKey = "S3RVER",
        SecretKey = "S3RVER",
        Region = "us-east-1",
    };

    public Task InitializeAsync() => Task.CompletedTask;

    private async Task<S3ImageStore> CreateStoreAsync()
    {
        _client = S3ImageStore.CreateClient(Options());
        await _client.PutBucketAsync(new PutBucketRequest { BucketName = _bucket });
        return S3ImageStore.Create(Options());
    }

    public async Task DisposeAsync()
    {
        if (_client is null) return;
        try
        {
            var listed = await _client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _bucket });
            foreach (var obj in listed.S3Objects ?? []) await _client.DeleteObjectAsync(_bucket, obj.Key);
            await _client.DeleteBucketAsync(_bucket);
        }
        catch (AmazonS3Exception) { }
        _client.Dispose();
    }

    [SkippableFact]
    public async Task Saved_images_read_back_byte_for_byte_with_their_content_type()
    {
        using var store = await CreateStoreAsync();
        var bytes = Enumerable.Range(0, 70_000).Select(i => (byte)(i * 31)).ToArray();
        var name = StoredImageName.New(DateTimeOffset.UtcNow.AddHours(1), "webp");

        await store.SaveAsync(name, bytes, name.MediaType, default);

        await using (var stream = await store.OpenReadAsync(name, default))
        {
            Assert.NotNull(stream);
            using var copy = new MemoryStream();
            await stream!.CopyToAsync(copy);
            Assert.Equal(bytes, copy.ToArray());
        }
        var head = await _client!.GetObjectMetadataAsync(_bucket, name.FileName);
        Assert.Equal("image/webp", head.Headers.ContentType);
        Assert.Equal(bytes.Length, head.Headers.ContentLength);

        Assert.Null(await store.OpenReadAsync(StoredImageName.New(DateTimeOffset.UtcNow.AddHours(1), "png"), default));
    }

    [SkippableFact]
    public async Task The_sweeper_deletes_expired_objects_only_and_leaves_foreign_ones()
    {
        using var store = await CreateStoreAsync();
        var now = DateTimeOffset.UtcNow;
        var expired = Enumerable.Range(0, 5).Select(i => StoredImageName.New(now.AddMinutes(-1 - i), "png")).ToList();
        var live = Enumerable.Range(0, 3).Select(i => StoredImageName.New(now.AddMinutes(10 + i), "jpeg")).ToList();
        foreach (var name in expired.Concat(live)) await store.SaveAsync(name, new byte[] { 1, 2, 3 }, name.MediaType, default);
        await _client!.PutObjectAsync(new PutObjectRequest { BucketName = _bucket, Key = "README.txt", ContentBody = "not an image", UseChunkEncoding = false });

        Assert.Equal(5, await store.SweepExpiredAsync(now, default));

        foreach (var name in expired) Assert.Null(await store.OpenReadAsync(name, default));
        foreach (var name in live)
            await using (var stream = await store.OpenReadAsync(name, default)) Assert.NotNull(stream);
        var keys = (await _client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _bucket })).S3Objects.Select(o => o.Key).ToList();
        Assert.Contains("README.txt", keys);
        Assert.Equal(4, keys.Count);
        Assert.Equal(0, await store.SweepExpiredAsync(now, default));
    }

    [SkippableFact]
    public void A_bucket_that_does_not_exist_stops_start_up_with_a_clear_message()
    {
        var options = Options();
        options.Bucket = $"igw-missing-{Guid.NewGuid():N}"[..30];
        var error = Assert.Throws<InvalidOperationException>(() => S3ImageStore.Create(options));
        Assert.Contains(options.Bucket, error.Message);
        Assert.Contains("does not exist", error.Message);
        Assert.DoesNotContain("S3RVER", error.Message);
    }

    [Fact]
    public void Missing_settings_are_named()
    {
        var error = Assert.Throws<InvalidOperationException>(() => S3ImageStore.Create(new S3Options()));
        Assert.Contains("Gateway:Storage:S3:ServiceUrl", error.Message);
        Assert.Contains("Gateway:Storage:S3:Bucket", error.Message);

        var onlyBucket = Assert.Throws<InvalidOperationException>(() => S3ImageStore.Create(new S3Options { Bucket = "b", ServiceUrl = "not a url" }));
        Assert.Contains("Gateway:Storage:S3:ServiceUrl", onlyBucket.Message);
    }

    [Fact]
    public void An_unreachable_service_stops_start_up_with_a_clear_message()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var error = Assert.Throws<InvalidOperationException>(() => S3ImageStore.Create(new S3Options
        {
            ServiceUrl = $"http://127.0.0.1:{port}", Bucket = "images", AccessKey = "AKIDEXAMPLE", SecretKey = "very-secret-value",
        }));
        Assert.Contains("'images'", error.Message);
        Assert.Contains("cannot be reached", error.Message);
        Assert.DoesNotContain("very-secret-value", error.Message);
    }
}
