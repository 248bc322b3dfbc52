using SkiaSharp;

namespace ImageGateway.Providers;

/// <summary>
/// Writes pixels as PNG, JPEG or WebP (the formats of <see cref="ImageJob.Format"/>), and resizes
/// finished images for sizes a model cannot make itself.
/// </summary>
public static class ImageCodec
{
    // Up for every row and a fast zlib level: the builtin backdrop's repeated rows then cost almost
    // nothing, and the stronger levels cost much more time for a few percent.
    private static readonly SKPngEncoderOptions PngOptions = new(SKPngEncoderFilterFlags.Up, zLibLevel: 2);

    // A resized image is encoded a second time: 90 keeps that loss invisible at a much smaller size than 100.
    private const int ResizedQuality = 90;

    public static string MediaType(string format) => format switch
    {
        "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "png" => "image/png",
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "The format must be png, jpeg or webp."),
    };

    /// <summary>
    /// Encodes <paramref name="pixmap"/> as <paramref name="format"/> (png, jpeg or webp).
    /// <paramref name="quality"/> (0–100) is the JPEG and WebP encoder quality; PNG is lossless.
    /// </summary>
    public static byte[] Encode(SKPixmap pixmap, string format, int quality)
    {
        using var data = format switch
        {
            "jpeg" => pixmap.Encode(new SKJpegEncoderOptions(quality)),
            "webp" => pixmap.Encode(new SKWebpEncoderOptions(SKWebpEncoderCompression.Lossy, quality)),
            "png" => pixmap.Encode(PngOptions),
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, "The format must be png, jpeg or webp."),
        } ?? throw new InvalidOperationException($"Skia could not encode the image as {format}.");
        return data.ToArray();
    }

    /// <summary>
    /// The image scaled to exactly <paramref name="width"/> by <paramref name="height"/>, in the same
    /// format and with the same revised prompt; the image itself when it already has that size.
    /// </summary>
    /// <exception cref="InvalidDataException">The bytes are not a PNG, JPEG or WebP Skia can decode.</exception>
    public static GeneratedImage Resize(GeneratedImage image, int width, int height)
    {
        using var data = SKData.CreateCopy(image.Bytes);
        using var codec = SKCodec.Create(data)
            ?? throw new InvalidDataException($"The {image.Extension} image could not be read.");
        if (codec.Info.Width == width && codec.Info.Height == height) return image;

        using var decoded = SKBitmap.Decode(codec)
            ?? throw new InvalidDataException($"The {image.Extension} image could not be decoded.");
        using var scaled = Scale(decoded, width, height);
        using var pixmap = scaled.PeekPixels();
        return new GeneratedImage(Encode(pixmap, image.Extension, ResizedQuality), image.MediaType, image.RevisedPrompt);
    }

    /// <summary>A new bitmap: <paramref name="bitmap"/> scaled to <paramref name="width"/> by <paramref name="height"/>.</summary>
    public static SKBitmap Scale(SKBitmap bitmap, int width, int height) =>
        // Mipmaps average the source down first, so 1024 → 256 keeps fine detail instead of aliasing it.
        bitmap.Resize(bitmap.Info.WithSize(width, height), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear))
            ?? throw new InvalidOperationException($"Skia could not scale the image to {width}x{height}.");

    /// <summary>
    /// A PNG, JPEG or WebP file as unpremultiplied RGBA8888 (R in the low byte): the file's own pixel
    /// values, so pixels copied from it are written back unchanged.
    /// </summary>
    /// <exception cref="InvalidDataException">The bytes are not an image Skia can decode.</exception>
    public static SKBitmap DecodeRgba(byte[] file)
    {
        using var data = SKData.CreateCopy(file);
        using var codec = SKCodec.Create(data) ?? throw new InvalidDataException("The image could not be read.");
        var info = codec.Info.WithColorType(SKColorType.Rgba8888).WithAlphaType(SKAlphaType.Unpremul);
        return SKBitmap.Decode(codec, info) ?? throw new InvalidDataException("The image could not be decoded.");
    }
}
