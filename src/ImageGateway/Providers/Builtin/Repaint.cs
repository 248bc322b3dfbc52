using System.Runtime.InteropServices;
using SkiaSharp;

namespace ImageGateway.Providers.Builtin;

/// <summary>
/// Edits and variations: the caller's first image mixed, pixel by pixel, with the prompt's render at
/// the output size. Pixels are unpremultiplied RGBA8888 (R in the low byte), so a kept pixel is written
/// back with the very values the caller's file holds.
/// </summary>
internal sealed class Repaint : IDisposable
{
    // Without a mask the whole image is repainted: 40% render over 60% input, so it stays plainly the input.
    private const int UnmaskedShare = 102;

    // A variation is the input with its hues turned by an angle from the seed, under 25% of that seed's render.
    private const int VariationShare = 64;

    private readonly SKBitmap _source;
    private readonly byte[]? _shares;
    private readonly SKBitmap? _references;
    private readonly bool _variation;

    private Repaint(SKBitmap source, byte[]? shares, SKBitmap? references, bool variation)
    {
        _source = source;
        _shares = shares;
        _references = references;
        _variation = variation;
    }

    public int Width => _source.Width;
    public int Height => _source.Height;

    /// <summary>
    /// Decodes the job's images at the output size: the first input's own size for an edit, the asked
    /// size for a variation (the input's when it asked for <c>auto</c>).
    /// </summary>
    public static Repaint From(ImageJob job)
    {
        var source = ImageCodec.DecodeRgba(job.Inputs[0].Bytes);
        if (job.Variation && job.Size != "auto") source = At(source, job.Width, job.Height);
        int width = source.Width, height = source.Height;
        byte[]? shares = null;
        if (job.Mask is { } mask)
        {
            using var decoded = At(ImageCodec.DecodeRgba(mask.Bytes), width, height);
            shares = Shares(decoded);
        }
        return new Repaint(source, shares, References(job.Inputs, width, height), job.Variation);
    }

    /// <summary>The finished picture for <paramref name="render"/> (the prompt's, at the output size), encoded.</summary>
    public byte[] Encode(SKBitmap render, long seed, string format, int quality)
    {
        using var picture = Over(render, seed, out var opaque);
        using var pixmap = picture.PeekPixels();
        // An image with no clear pixel is written as opaque: an RGB PNG, a WebP without alpha.
        using var opaquePixmap = opaque ? pixmap.WithAlphaType(SKAlphaType.Opaque) : null;
        return ImageCodec.Encode(opaquePixmap ?? pixmap, format, quality);
    }

    private SKBitmap Over(SKBitmap render, long seed, out bool opaque)
    {
        using var unpremultiplied = render.AlphaType == SKAlphaType.Premul ? Unpremultiplied(render) : null;
        var output = new SKBitmap(_source.Info);
        ReadOnlySpan<uint> source = Pixels(_source), paint = Pixels(unpremultiplied ?? render);
        ReadOnlySpan<uint> references = _references is null ? default : Pixels(_references);
        Span<uint> pixels = Pixels(output);
        var turn = _variation ? HueTurn.FromSeed(seed) : null;
        int share = _variation ? VariationShare : UnmaskedShare;
        uint all = uint.MaxValue;
        for (int i = 0; i < pixels.Length; i++)
        {
            uint layer = references.IsEmpty ? paint[i] : Mix(paint[i], references[i], 128);
            uint under = turn is null ? source[i] : turn.Apply(source[i]);
            all &= pixels[i] = Mix(under, layer, _shares is null ? share : _shares[i]);
        }
        output.NotifyPixelsChanged();
        opaque = all >> 24 == 0xFF;
        return output;
    }

    // OpenAI's mask: its clear pixels are the ones to repaint, so the render's share of a pixel is 255 - alpha.
    private static byte[] Shares(SKBitmap mask)
    {
        ReadOnlySpan<uint> pixels = Pixels(mask);
        var shares = new byte[pixels.Length];
        for (int i = 0; i < pixels.Length; i++) shares[i] = (byte)(255 - (pixels[i] >> 24));
        return shares;
    }

    // Inputs 2..k are references: their average, scaled to the output size, is half of what repaints.
    private static SKBitmap? References(IReadOnlyList<InputImage> inputs, int width, int height)
    {
        if (inputs.Count < 2) return null;
        var average = At(ImageCodec.DecodeRgba(inputs[1].Bytes), width, height);
        Span<uint> sum = Pixels(average);
        for (int k = 2; k < inputs.Count; k++)
        {
            using var next = At(ImageCodec.DecodeRgba(inputs[k].Bytes), width, height);
            ReadOnlySpan<uint> pixels = Pixels(next);
            for (int i = 0; i < sum.Length; i++) sum[i] = Mix(sum[i], pixels[i], 255 / k);
        }
        average.NotifyPixelsChanged();
        return average;
    }

    /// <summary>
    /// <paramref name="b"/> over <paramref name="a"/> at <paramref name="share"/>/255: exactly a at 0 and
    /// exactly b at 255. Colours are weighted by alpha, so a clear pixel lends no colour.
    /// </summary>
    internal static uint Mix(uint a, uint b, int share)
    {
        if (share == 0) return a;
        if (share == 255) return b;
        int keep = 255 - share;
        if ((a & b) >> 24 == 0xFF)
            return Lerp(a, b, keep, share, 0) | Lerp(a, b, keep, share, 8) | Lerp(a, b, keep, share, 16) | 0xFF000000u;
        int wa = (int)(a >> 24) * keep, wb = (int)(b >> 24) * share, sum = wa + wb;
        if (sum == 0) return 0;
        return Weighted(a, b, wa, wb, sum, 0) | Weighted(a, b, wa, wb, sum, 8) | Weighted(a, b, wa, wb, sum, 16)
            | (uint)((sum + 127) / 255) << 24;
    }

    private static uint Lerp(uint a, uint b, int keep, int share, int shift) =>
        (uint)(((int)(a >> shift & 0xFF) * keep + (int)(b >> shift & 0xFF) * share + 127) / 255) << shift;

    private static uint Weighted(uint a, uint b, int wa, int wb, int sum, int shift) =>
        (uint)(((int)(a >> shift & 0xFF) * wa + (int)(b >> shift & 0xFF) * wb + sum / 2) / sum) << shift;

    private static SKBitmap At(SKBitmap bitmap, int width, int height)
    {
        if (bitmap.Width == width && bitmap.Height == height) return bitmap;
        using (bitmap) return ImageCodec.Scale(bitmap, width, height);
    }

    private static SKBitmap Unpremultiplied(SKBitmap bitmap)
    {
        var unpremultiplied = new SKBitmap(bitmap.Info.WithAlphaType(SKAlphaType.Unpremul));
        using var from = bitmap.PeekPixels();
        using var to = unpremultiplied.PeekPixels();
        if (!from.ReadPixels(to)) throw new InvalidOperationException("Skia could not unpremultiply the render.");
        unpremultiplied.NotifyPixelsChanged();
        return unpremultiplied;
    }

    private static Span<uint> Pixels(SKBitmap bitmap) => MemoryMarshal.Cast<byte, uint>(bitmap.GetPixelSpan());

    public void Dispose()
    {
        _source.Dispose();
        _references?.Dispose();
    }

    /// <summary>Turns hues by one angle with the luminance kept (the usual hue-rotate matrix), as lookup tables.</summary>
    private sealed class HueTurn
    {
        // Row r of the matrix, column c, times v (0..255) in 1/1024ths: _table[(r * 3 + c) * 256 + v].
        private readonly int[] _table = new int[9 * 256];

        private HueTurn(double degrees)
        {
            float cos = (float)Math.Cos(degrees * Math.PI / 180), sin = (float)Math.Sin(degrees * Math.PI / 180);
            ReadOnlySpan<float> m =
            [
                0.213f + cos * 0.787f - sin * 0.213f, 0.715f - cos * 0.715f - sin * 0.715f, 0.072f - cos * 0.072f + sin * 0.928f,
                0.213f - cos * 0.213f + sin * 0.143f, 0.715f + cos * 0.285f + sin * 0.140f, 0.072f - cos * 0.072f - sin * 0.283f,
                0.213f - cos * 0.213f - sin * 0.787f, 0.715f - cos * 0.715f + sin * 0.715f, 0.072f + cos * 0.928f + sin * 0.072f,
            ];
            for (int k = 0; k < 9; k++)
                for (int v = 0; v < 256; v++)
                    _table[k * 256 + v] = (int)MathF.Round(m[k] * v * 1024);
        }

        /// <summary>An angle between 40° and 320° from the seed, so every variation looks clearly recoloured.</summary>
        public static HueTurn FromSeed(long seed)
        {
            var rng = new SplitMix64(SplitMix64.Mix(unchecked((ulong)seed) ^ 0x5DEECE66DUL));
            return new HueTurn(rng.Range(40, 320));
        }

        public uint Apply(uint pixel)
        {
            int r = (int)(pixel & 0xFF), g = (int)(pixel >> 8 & 0xFF), b = (int)(pixel >> 16 & 0xFF);
            return Row(0, r, g, b) | Row(1, r, g, b) << 8 | Row(2, r, g, b) << 16 | (pixel & 0xFF000000u);
        }

        private uint Row(int row, int r, int g, int b)
        {
            int at = row * 768;
            return (uint)Math.Clamp((_table[at + r] + _table[at + 256 + g] + _table[at + 512 + b] + 512) >> 10, 0, 255);
        }
    }
}
