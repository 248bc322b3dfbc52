using SkiaSharp;

namespace ImageGateway.Providers;

/// <summary>Writes pixels as PNG, JPEG or WebP (the formats of <see cref="ImageJob.Format"/>).</summary>
public static class ImageCodec
{
    // Up for every row and a fast zlib level: the builtin backdrop's repeated rows then cost almost
    // nothing, and the stronger levels cost much more time for a few percent.
    private static readonly SKPngEncoderOptions PngOptions = new(SKPngEncoderFilterFlags.Up, zLibLevel: 2);

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
}
