using System.Buffers.Binary;
using SkiaSharp;

namespace ImageGateway.Tests.Support;

/// <summary>An image file decoded to unpremultiplied RGBA8888, one uint per pixel (R in the low byte).</summary>
public sealed record ImageFile(int Width, int Height, uint[] Pixels)
{
    public byte Alpha(int x, int y) => (byte)(Pixels[y * Width + x] >> 24);

    public static ImageFile Decode(byte[] file)
    {
        using var decoded = SKBitmap.Decode(file);
        Assert.NotNull(decoded);
        var info = new SKImageInfo(decoded.Width, decoded.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var rgba = new SKBitmap(info);
        Assert.True(decoded.CopyTo(rgba, SKColorType.Rgba8888));
        var bytes = rgba.GetPixelSpan();
        var pixels = new uint[decoded.Width * decoded.Height];
        for (var i = 0; i < pixels.Length; i++)
            pixels[i] = BinaryPrimitives.ReadUInt32LittleEndian(bytes[(i * 4)..]);
        return new ImageFile(decoded.Width, decoded.Height, pixels);
    }

    /// <summary>Checks the file's own signature, not the gateway's sniffing: PNG, JPEG SOI, or a RIFF WEBP header.</summary>
    public static void AssertFormat(string format, byte[] file)
    {
        switch (format)
        {
            case "png": Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, file[..8]); break;
            case "jpeg": Assert.Equal(new byte[] { 0xFF, 0xD8, 0xFF }, file[..3]); break;
            case "webp":
                Assert.Equal("RIFF"u8.ToArray(), file[..4]);
                Assert.Equal("WEBP"u8.ToArray(), file[8..12]);
                break;
            default: Assert.Fail($"unknown format {format}"); break;
        }
    }

    /// <summary>A small real image file to upload: flat colour, fully transparent top-left quarter when <paramref name="alpha"/>.</summary>
    public static byte[] Make(int width, int height, string format = "png", bool alpha = false)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, alpha ? SKAlphaType.Unpremul : SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(new SKColor(0x40, 0x90, 0x30));
            if (alpha)
            {
                using var clear = new SKPaint { BlendMode = SKBlendMode.Clear };
                canvas.DrawRect(0, 0, width / 2f, height / 2f, clear);
            }
        }
        using var pixmap = bitmap.PeekPixels();
        using var encoded = format switch
        {
            "jpeg" => pixmap.Encode(new SKJpegEncoderOptions(80, SKJpegEncoderDownsample.Downsample420, SKJpegEncoderAlphaOption.Ignore)),
            "webp" => pixmap.Encode(new SKWebpEncoderOptions(SKWebpEncoderCompression.Lossy, 80)),
            _ => pixmap.Encode(new SKPngEncoderOptions(SKPngEncoderFilterFlags.Up, zLibLevel: 1)),
        };
        return encoded!.ToArray();
    }
}
