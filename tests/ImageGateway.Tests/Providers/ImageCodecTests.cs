using ImageGateway.Providers;
using ImageGateway.Providers.Builtin;
using ImageGateway.Tests.Support;
using SkiaSharp;

namespace ImageGateway.Tests.Providers;

/// <summary>Resizing a finished image, for dall-e-2 sizes served by a model that only makes 1024x1024.</summary>
public sealed class ImageCodecTests
{
    private static GeneratedImage Rendered(string format, bool transparent = false) =>
        new(BuiltinRenderer.Render("a lighthouse on a cliff at dawn", 1024, 1024, seed: 5, format, transparent: transparent),
            ImageCodec.MediaType(format), "a lighthouse, revised");

    [Theory]
    [InlineData("png", 256)]
    [InlineData("png", 512)]
    [InlineData("jpeg", 256)]
    [InlineData("jpeg", 512)]
    [InlineData("webp", 256)]
    [InlineData("webp", 512)]
    public void Resize_gives_exactly_the_size_in_the_same_format_and_keeps_the_revised_prompt(string format, int side)
    {
        var resized = ImageCodec.Resize(Rendered(format), side, side);

        Assert.Equal(ImageCodec.MediaType(format), resized.MediaType);
        ImageFile.AssertFormat(format, resized.Bytes);
        var decoded = ImageFile.Decode(resized.Bytes);
        Assert.Equal((side, side), (decoded.Width, decoded.Height));
        Assert.Equal("a lighthouse, revised", resized.RevisedPrompt);
    }

    [Fact]
    public void Resize_to_a_non_square_size_gives_exactly_that_size()
    {
        var decoded = ImageFile.Decode(ImageCodec.Resize(Rendered("png"), 300, 200).Bytes);

        Assert.Equal((300, 200), (decoded.Width, decoded.Height));
    }

    [Fact]
    public void Resize_to_the_size_the_image_has_returns_the_image_itself()
    {
        var image = Rendered("jpeg");

        Assert.Same(image, ImageCodec.Resize(image, 1024, 1024));
    }

    [Fact]
    public void Resize_averages_fine_detail_instead_of_aliasing_it()
    {
        // One white column in four: averaged down 4x it is a quarter grey; sampling a pixel or two of it gives black or white.
        using var lines = new SKBitmap(new SKImageInfo(1024, 1024, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var pixels = lines.GetPixelSpan();
        for (var i = 0; i < 1024 * 1024; i++)
            pixels.Slice(i * 4, 4).Fill(i % 4 == 0 ? (byte)255 : (byte)0);
        lines.NotifyPixelsChanged();
        using var pixmap = lines.PeekPixels();
        var png = new GeneratedImage(ImageCodec.Encode(pixmap, "png", quality: 100), "image/png", null);

        var decoded = ImageFile.Decode(ImageCodec.Resize(png, 256, 256).Bytes);

        Assert.All(decoded.Pixels, p => Assert.InRange(p & 0xFF, 48u, 80u));
    }

    [Fact]
    public void Resize_keeps_the_alpha_of_a_transparent_png()
    {
        var decoded = ImageFile.Decode(ImageCodec.Resize(Rendered("png", transparent: true), 256, 256).Bytes);

        Assert.Equal(0, decoded.Alpha(0, 0));
        Assert.Contains(decoded.Pixels, p => p >> 24 >= 120);
    }

    [Fact]
    public void Resize_of_bytes_that_are_no_image_throws()
    {
        var broken = new GeneratedImage([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3], "image/png", null);

        Assert.Throws<InvalidDataException>(() => ImageCodec.Resize(broken, 256, 256));
    }
}
