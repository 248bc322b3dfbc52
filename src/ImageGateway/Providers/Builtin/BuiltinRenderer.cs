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

    /// <summary>
    /// Renders a PNG. Same (prompt, width, height, seed) → byte-identical output.
    /// seed == null → seed derived from the prompt (SHA-256 of the UTF-8 prompt).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="prompt"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">width or height is &lt;= 0 or &gt; <see cref="MaxDimension"/>.</exception>
    public static byte[] RenderPng(string prompt, int width, int height, long? seed = null) =>
        Render(prompt, width, height, seed, "png");

    /// <summary>
    /// Renders the image as <paramref name="format"/> (png, jpeg or webp, see <see cref="ImageCodec.Encode"/>),
    /// as deterministic as <see cref="RenderPng"/>. <paramref name="transparent"/> leaves the backdrop out:
    /// the shapes stand on transparent pixels (for png and webp; JPEG has no alpha).
    /// </summary>
    public static byte[] Render(string prompt, int width, int height, long? seed, string format, int quality = 100, bool transparent = false)
    {
        using var bitmap = Paint(prompt, width, height, seed, transparent);
        return Encode(bitmap, format, quality);
    }

    /// <summary>
    /// The picture <see cref="Render"/> encodes: opaque RGBA8888, or premultiplied on clear pixels when
    /// <paramref name="transparent"/>. The layout is in fractions of the size, so a smaller paint is the
    /// same composition at a lower resolution.
    /// </summary>
    internal static SKBitmap Paint(string prompt, int width, int height, long? seed, bool transparent)
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

        // Opaque RGBA8888: the backdrop writes it directly (R in the low byte), and the encoder writes RGB.
        // A transparent image skips the backdrop and its random draws, so its shapes lie elsewhere.
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, transparent ? SKAlphaType.Premul : SKAlphaType.Opaque));
        if (transparent) bitmap.Erase(SKColors.Transparent);
        else Backdrop.Paint(bitmap, style, ref rng);
        using (var canvas = new SKCanvas(bitmap))
        {
            Shapes.Draw(canvas, width, height, style, ref rng);
            Sparkles.Draw(canvas, width, height, style, ref rng);
            canvas.Flush();
        }
        return bitmap;
    }

    /// <summary>Encodes opaque RGBA8888 pixels (alpha ignored) as an RGB PNG.</summary>
    internal static byte[] EncodePng(ReadOnlySpan<byte> rgba, int width, int height)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        rgba.CopyTo(bitmap.GetPixelSpan());
        bitmap.NotifyPixelsChanged();
        return Encode(bitmap, "png", quality: 100);
    }

    /// <summary>First 8 bytes (little endian) of SHA-256 of the UTF-8 prompt.</summary>
    internal static ulong PromptHash(string prompt)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(prompt), digest);
        return BinaryPrimitives.ReadUInt64LittleEndian(digest);
    }

    internal static byte[] Encode(SKBitmap bitmap, string format, int quality)
    {
        using var pixmap = bitmap.PeekPixels();
        return ImageCodec.Encode(pixmap, format, quality);
    }
}
