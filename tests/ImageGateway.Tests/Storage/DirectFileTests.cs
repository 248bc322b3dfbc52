using System.Text;
using ImageGateway.Providers;
using ImageGateway.Storage;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Storage;

/// <summary>Image files written with O_DIRECT (Linux, as CI): slice by slice from base64 or bytes, cut back to their exact length.</summary>
public sealed class DirectFileTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "igw-direct", Guid.NewGuid().ToString("N"));

    public DirectFileTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static GeneratedImage FromBase64(byte[] png) => GeneratedImage.FromStrictBase64(Encoding.ASCII.GetBytes(Convert.ToBase64String(png)), null)!;

    public static TheoryData<int> Sizes => new() { 32, 256, 700, 1024 };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void An_image_that_came_as_base64_is_written_decoded_and_exactly_as_long_as_its_file(int size)
    {
        var png = FakeUpstream.Png(size, seed: size); // from under one 4 KB block to several 192 KB slices
        var path = Path.Combine(_folder, $"{size}.png");

        Assert.True(DirectFile.TryWrite(path, FromBase64(png)));

        Assert.Equal(png, File.ReadAllBytes(path));
    }

    [Fact]
    public void An_image_that_holds_its_bytes_is_written_from_them()
    {
        var png = FakeUpstream.Png(700, seed: 9);
        var path = Path.Combine(_folder, "bytes.png");

        Assert.True(DirectFile.TryWrite(path, new GeneratedImage(png, "image/png", null)));

        Assert.Equal(png, File.ReadAllBytes(path));
    }

    [Fact]
    public void An_existing_file_is_never_overwritten()
    {
        var path = Path.Combine(_folder, "taken.png");
        File.WriteAllBytes(path, [1, 2, 3]);

        Assert.Throws<IOException>(() => DirectFile.TryWrite(path, FromBase64(FakeUpstream.Png(32))));
        Assert.Equal([1, 2, 3], File.ReadAllBytes(path));
    }

    [Fact]
    public async Task With_direct_writes_off_the_store_writes_through_the_page_cache_the_same_file()
    {
        var store = new FileSystemImageStore(_folder) { DirectWrites = false };
        var png = FakeUpstream.Png(300, seed: 4);
        var name = StoredImageName.New(DateTimeOffset.UtcNow.AddHours(1), "png");

        await store.SaveAsync(name, FromBase64(png), default);

        Assert.False(store.WritesDirect);
        await using var read = (await store.OpenReadAsync(name, default))!;
        using var copy = new MemoryStream();
        await read.CopyToAsync(copy);
        Assert.Equal(png, copy.ToArray());
    }
}
