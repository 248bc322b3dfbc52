using SkiaSharp;

namespace ImageGateway.IntegrationTests.Support;

/// <summary>What an image's bytes are: the format's magic, and whether SkiaSharp can decode them.</summary>
public static class ImageBytes
{
    public static bool IsPng(byte[] bytes) => bytes.AsSpan().StartsWith((byte[])[0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);

    public static bool IsJpeg(byte[] bytes) => bytes.AsSpan().StartsWith((byte[])[0xFF, 0xD8, 0xFF]);

    /// <summary>RIFF, a four-byte length, then WEBP.</summary>
    public static bool IsWebp(byte[] bytes) =>
        bytes.Length >= 12 && bytes.AsSpan(0, 4).SequenceEqual("RIFF"u8) && bytes.AsSpan(8, 4).SequenceEqual("WEBP"u8);

    public static string Hex(byte[] bytes, int count = 16) => Convert.ToHexString(bytes.AsSpan(0, Math.Min(count, bytes.Length)));

    /// <summary>Decodes the bytes, failing the test unless the result is a non-empty bitmap.</summary>
    public static SKBitmap Decode(byte[] bytes)
    {
        var bitmap = SKBitmap.Decode(bytes);
        Assert.True(bitmap is not null, $"SkiaSharp could not decode {bytes.Length} bytes starting {Hex(bytes)}");
        Assert.True(bitmap.Width > 0 && bitmap.Height > 0, $"decoded to an empty {bitmap.Width}x{bitmap.Height} bitmap");
        return bitmap;
    }

    public static bool HasTranslucentPixel(SKBitmap bitmap) => bitmap.Pixels.Any(p => p.Alpha < 255);
}
