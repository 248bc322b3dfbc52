using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using SkiaSharp;

namespace ImageGateway.Providers.Builtin;

/// <summary>
/// Offline, deterministic "image generator": paints an abstract composition (gradient background,
/// soft glows, waves, shapes, sparkles) whose palette is derived from the words of the prompt and
/// whose layout comes from a small self-contained PRNG seeded from the seed. No text is drawn
/// (no fonts are available with the NoDependencies native assets).
/// </summary>
public static class BuiltinRenderer
{
    /// <summary>Largest accepted width or height, in pixels.</summary>
    public const int MaxDimension = 4096;

    // Up for every row and a fast zlib level: the backdrop's repeated rows then cost almost nothing,
    // and the stronger levels cost much more time for a few percent.
    private static readonly SKPngEncoderOptions PngOptions = new(SKPngEncoderFilterFlags.Up, zLibLevel: 2);

    /// <summary>
    /// Renders a PNG. Same (prompt, width, height, seed) → byte-identical output.
    /// seed == null → seed derived from the prompt (SHA-256 of the UTF-8 prompt).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="prompt"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">width or height is &lt;= 0 or &gt; <see cref="MaxDimension"/>.</exception>
    public static byte[] RenderPng(string prompt, int width, int height, long? seed = null)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        if (width <= 0 || width > MaxDimension)
            throw new ArgumentOutOfRangeException(nameof(width), width, $"Width must be between 1 and {MaxDimension}.");
        if (height <= 0 || height > MaxDimension)
            throw new ArgumentOutOfRangeException(nameof(height), height, $"Height must be between 1 and {MaxDimension}.");

        ulong promptHash = PromptHash(prompt);
        ulong baseSeed = seed.HasValue ? unchecked((ulong)seed.Value) : promptHash;
        // Mix the prompt into the composition too, so two prompts with the same explicit seed still differ
        // in layout (not only in colours).
        var rng = new SplitMix64(baseSeed ^ SplitMix64.Mix(promptHash + 0x632BE59BD9B4E019UL));

        var style = PromptStyle.FromPrompt(prompt, ref rng);

        // Opaque RGBA8888: the backdrop writes it directly (R in the low byte), Skia draws the shapes on it,
        // and the encoder writes an RGB PNG (an opaque image needs no alpha channel).
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        Backdrop.Paint(bitmap, style, ref rng);
        using (var canvas = new SKCanvas(bitmap))
        {
            Shapes.Draw(canvas, width, height, style, ref rng);
            Sparkles.Draw(canvas, width, height, style, ref rng);
            canvas.Flush();
        }
        return EncodePng(bitmap);
    }

    /// <summary>Encodes opaque RGBA8888 pixels (alpha ignored) as an RGB PNG.</summary>
    internal static byte[] EncodePng(ReadOnlySpan<byte> rgba, int width, int height)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        rgba.CopyTo(bitmap.GetPixelSpan());
        bitmap.NotifyPixelsChanged();
        return EncodePng(bitmap);
    }

    /// <summary>First 8 bytes (little endian) of SHA-256 of the UTF-8 prompt.</summary>
    internal static ulong PromptHash(string prompt)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(prompt), digest);
        return BinaryPrimitives.ReadUInt64LittleEndian(digest);
    }

    private static byte[] EncodePng(SKBitmap bitmap)
    {
        using var pixmap = bitmap.PeekPixels();
        using var png = pixmap.Encode(PngOptions)
            ?? throw new InvalidOperationException("Skia could not encode the image as PNG.");
        return png.ToArray();
    }
}
