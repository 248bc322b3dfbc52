using System.Net;
using ImageGateway.Hosting;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Storage;

/// <summary>The housekeeping sweep deletes expired images from {DataDirectory}/images and nothing else.</summary>
public sealed class ImageSweeperTests : IDisposable
{
    private readonly GatewayFactory _gateway = new();

    public void Dispose() => _gateway.Dispose();

    private static string FileNameOf(string url)
    {
        var path = new Uri(url).AbsolutePath;
        return path[(path.LastIndexOf('/') + 1)..];
    }

    [Fact]
    public async Task The_sweeper_deletes_the_expired_image_and_keeps_the_unexpired_one()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);
        var oldUrl = (await client.GenerateBuiltinAsync("old image", format: "url")).GetProperty("data")[0].Str("url")!;
        _gateway.Time.Advance(TimeSpan.FromMinutes(30));
        var newUrl = (await client.GenerateBuiltinAsync("new image", format: "url")).GetProperty("data")[0].Str("url")!;
        var oldFile = FileNameOf(oldUrl);
        var newFile = FileNameOf(newUrl);
        Assert.Equal(new[] { oldFile, newFile }.OrderBy(f => f, StringComparer.Ordinal).ToArray(), _gateway.StoredImageFiles());

        _gateway.Time.Advance(TimeSpan.FromMinutes(31)); // old: 61 min old (expired), new: 31 min old
        await _gateway.Service<Housekeeping>().RunOnceAsync(CancellationToken.None);

        Assert.False(File.Exists(Path.Combine(_gateway.ImagesDirectory(), oldFile)), "the expired image should be deleted");
        Assert.True(File.Exists(Path.Combine(_gateway.ImagesDirectory(), newFile)), "an unexpired image must be kept");
        Assert.Equal([newFile], _gateway.StoredImageFiles());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri(newUrl).PathAndQuery)).StatusCode);
        Assert.Equal((HttpStatusCode)410, (await client.GetAsync(new Uri(oldUrl).PathAndQuery)).StatusCode);
    }

    [Fact]
    public async Task The_sweeper_keeps_every_image_before_its_expiry()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);
        await client.GenerateBuiltinAsync("kept", n: 2, format: "url");
        var before = _gateway.StoredImageFiles();
        Assert.Equal(2, before.Length);

        _gateway.Time.Advance(TimeSpan.FromSeconds(3599));
        await _gateway.Service<Housekeeping>().RunOnceAsync(CancellationToken.None);

        Assert.Equal(before, _gateway.StoredImageFiles());
    }

    [Fact]
    public async Task The_sweeper_leaves_files_outside_the_images_folder_and_foreign_files_alone()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);
        await client.GenerateBuiltinAsync("to expire", format: "url");
        var foreign = Path.Combine(_gateway.ImagesDirectory(), "README.txt");
        await File.WriteAllTextAsync(foreign, "operator notes");

        _gateway.Time.Advance(TimeSpan.FromHours(2));
        await _gateway.Service<Housekeeping>().RunOnceAsync(CancellationToken.None);

        Assert.Equal(["README.txt"], _gateway.StoredImageFiles());
        Assert.True(File.Exists(Path.Combine(_gateway.DataDirectory, "gateway.db")));
        Assert.True(File.Exists(Path.Combine(_gateway.DataDirectory, "url-signing.key")));
    }

    [Fact]
    public async Task With_a_custom_ttl_the_sweeper_deletes_images_after_that_ttl()
    {
        _gateway.Settings["Gateway:Storage:UrlTtlSeconds"] = "60";
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);
        await client.GenerateBuiltinAsync("short lived", format: "url");
        Assert.Single(_gateway.StoredImageFiles());

        _gateway.Time.Advance(TimeSpan.FromSeconds(59));
        await _gateway.Service<Housekeeping>().RunOnceAsync(CancellationToken.None);
        Assert.Single(_gateway.StoredImageFiles());

        _gateway.Time.Advance(TimeSpan.FromSeconds(2));
        await _gateway.Service<Housekeeping>().RunOnceAsync(CancellationToken.None);
        Assert.Empty(_gateway.StoredImageFiles());
    }
}
