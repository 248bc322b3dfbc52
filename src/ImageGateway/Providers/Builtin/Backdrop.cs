using System.Runtime.InteropServices;
using SkiaSharp;

namespace ImageGateway.Providers.Builtin;

/// <summary>
/// The background: a three-stop gradient, soft glows, wave bands and a vignette. These layers cover
/// every pixel, where Skia's CPU blending is the slow part, so they are computed straight into the
/// pixel buffer in C#. They are evaluated on a 2x2 block grid (invisible on gradients this smooth):
/// a quarter of the work, and the repeated rows and columns make the PNG encoder's job cheaper.
/// </summary>
internal static class Backdrop
{
    private readonly record struct Rgb(float R, float G, float B)
    {
        public static Rgb From(Hsl hsl)
        {
            SKColor c = hsl.ToColor();
            return new Rgb(c.Red, c.Green, c.Blue);
        }

        public Rgb Lerp(Rgb o, float t) => new(R + (o.R - R) * t, G + (o.G - G) * t, B + (o.B - B) * t);
    }

    private sealed record Glow(float Cx, float Cy, float Radius, Rgb Colour, float Alpha);

    private sealed record Wave(float[] EdgeY, float[] BlockMin, float[] BlockMax, float MinY, Rgb Top, Rgb Bottom, float Alpha);

    /// <summary>Paints every pixel of an opaque RGBA8888 bitmap (R in the low byte).</summary>
    public static void Paint(SKBitmap bitmap, PromptStyle style, ref SplitMix64 rng)
    {
        int width = bitmap.Width, height = bitmap.Height;
        float w = width, h = height, max = Math.Max(w, h);
        bool dark = style.Dark;
        Hsl hA = style.Palette[0], hB = style.Palette[1 % style.Palette.Length], hC = style.Palette[^1];
        Rgb s0, s1, s2;
        if (dark)
        {
            s0 = Rgb.From(new Hsl(hA.H, hA.S * 0.7f, rng.Range(8, 14)));
            s1 = Rgb.From(new Hsl(hB.H, hB.S * 0.75f, rng.Range(20, 30)));
            s2 = Rgb.From(new Hsl(hC.H, hC.S * 0.7f, rng.Range(10, 18)));
        }
        else
        {
            s0 = Rgb.From(new Hsl(hA.H, hA.S * 0.6f, rng.Range(84, 92)));
            s1 = Rgb.From(new Hsl(hB.H, hB.S * 0.7f, rng.Range(70, 80)));
            s2 = Rgb.From(new Hsl(hC.H, hC.S * 0.6f, rng.Range(80, 90)));
        }
        float mid = rng.Range(0.4, 0.6);

        // Gradient axis through the centre at a random angle; t goes 0..1 across the image.
        double angle = rng.NextDouble() * Math.PI * 2;
        float ux = (float)Math.Cos(angle), uy = (float)Math.Sin(angle);
        float span = Math.Abs(ux) * w + Math.Abs(uy) * h;
        float tdx = ux / span, tdy = uy / span;
        float t00 = 0.5f - (w / 2) * tdx - (h / 2) * tdy;

        var glows = new Glow[rng.Int(2, 4)];
        for (int i = 0; i < glows.Length; i++)
        {
            float cx = rng.Range(-0.1, 1.1) * w, cy = rng.Range(-0.1, 0.9) * h;
            float radius = rng.Range(0.3, 0.65) * max;
            Hsl hsl = style.Pick(ref rng);
            Rgb colour = Rgb.From(dark ? hsl.Shift(dl: -5) : hsl.Shift(dl: 15));
            float alpha = rng.Range(dark ? 0.4 : 0.45, dark ? 0.65 : 0.7);
            glows[i] = new Glow(cx, cy, radius, colour, alpha);
        }

        var waves = new Wave[rng.Int(2, 4)];
        int bw = (width + 1) >> 1, bh = (height + 1) >> 1;
        float top = rng.Range(0.5, 0.68) * h;
        for (int i = 0; i < waves.Length; i++)
        {
            float baseY = top + (i + rng.Range(0, 0.6)) * (h - top) / (waves.Length + 0.5f);
            float amp1 = rng.Range(0.015, 0.05) * h, amp2 = amp1 * rng.Range(0.15, 0.45);
            double f1 = rng.Range(0.6, 1.8) * 2 * Math.PI / w, f2 = rng.Range(2.5, 5) * 2 * Math.PI / w;
            double p1 = rng.NextDouble() * Math.PI * 2, p2 = rng.NextDouble() * Math.PI * 2;
            var edge = new float[width];
            var blockMin = new float[bw];
            var blockMax = new float[bw];
            for (int x = 0; x < width; x++)
            {
                double px = x + 0.5;
                edge[x] = baseY + (float)(amp1 * Math.Sin(f1 * px + p1) + amp2 * Math.Sin(f2 * px + p2));
            }
            for (int bx = 0; bx < bw; bx++)
            {
                float e0 = edge[2 * bx], e1 = edge[Math.Min(2 * bx + 1, width - 1)];
                blockMin[bx] = Math.Min(e0, e1);
                blockMax[bx] = Math.Max(e0, e1);
            }
            Hsl hsl = style.Pick(ref rng);
            float depth = (i + 1f) / waves.Length;
            Hsl near = dark
                ? hsl.Shift(ds: -10, dl: -14 - 14 * depth)
                : new Hsl(hsl.H, hsl.S * 0.65f, 74 - 18 * depth);
            Hsl far = near.Shift(dl: -12);
            waves[i] = new Wave(edge, blockMin, blockMax, blockMin.Min(), Rgb.From(near), Rgb.From(far),
                rng.Range(0.6, 0.88));
        }

        // Vignette: factor 1 - k * q² with q growing from 0 (at 30% of the half-diagonal) to 1 (corners).
        float vignette = dark ? 0.5f : 0.2f;
        float vcx = w / 2, vcy = h / 2, vInvR2 = 1f / (vcx * vcx + vcy * vcy);

        var block = new float[bw * 3];        // one block row: gradient + glows, 0..255
        var waveColours = new Rgb[waves.Length];
        Span<uint> pixels = MemoryMarshal.Cast<byte, uint>(bitmap.GetPixelSpan());

        for (int by = 0; by < bh; by++)
        {
            float py = 2 * by + 1f; // centre of the 2x2 block
            int y0 = 2 * by, rows = Math.Min(2, height - y0);

            // 1. Linear gradient (three stops).
            float t = t00 + py * tdy + tdx;
            for (int bx = 0, j = 0; bx < bw; bx++, j += 3, t += 2 * tdx)
            {
                float tc = Math.Clamp(t, 0f, 1f);
                Rgb from, to;
                float u;
                if (tc < mid) { from = s0; to = s1; u = tc / mid; }
                else { from = s1; to = s2; u = (tc - mid) / (1 - mid); }
                block[j] = from.R + (to.R - from.R) * u;
                block[j + 1] = from.G + (to.G - from.G) * u;
                block[j + 2] = from.B + (to.B - from.B) * u;
            }

            // 2. Glows: smooth (1 - d²/r²)² falloff, only over the part of the row inside the circle.
            foreach (Glow g in glows)
            {
                float dy = py - g.Cy, dy2 = dy * dy, r2 = g.Radius * g.Radius;
                if (dy2 >= r2) continue;
                float half = MathF.Sqrt(r2 - dy2);
                int b0 = Math.Max(0, (int)((g.Cx - half) / 2)), b1 = Math.Min(bw - 1, (int)((g.Cx + half) / 2) + 1);
                float inv = 1f / r2;
                for (int bx = b0; bx <= b1; bx++)
                {
                    float dx = 2 * bx + 1f - g.Cx;
                    float falloff = 1f - (dx * dx + dy2) * inv;
                    if (falloff <= 0) continue;
                    float k = g.Alpha * falloff * falloff;
                    int j = bx * 3;
                    block[j] += (g.Colour.R - block[j]) * k;
                    block[j + 1] += (g.Colour.G - block[j + 1]) * k;
                    block[j + 2] += (g.Colour.B - block[j + 2]) * k;
                }
            }

            // Wave colours vary per block row only (a vertical gradient inside each band).
            for (int i = 0; i < waves.Length; i++)
            {
                Wave wv = waves[i];
                waveColours[i] = wv.Top.Lerp(wv.Bottom, Math.Clamp((py - wv.MinY) / Math.Max(1f, h - wv.MinY), 0f, 1f));
            }

            Span<uint> row0 = pixels.Slice(y0 * width, width);
            Span<uint> row1 = rows == 2 ? pixels.Slice((y0 + 1) * width, width) : row0;
            float vdy = py - vcy, vdy2 = vdy * vdy * vInvR2;
            for (int bx = 0, j = 0; bx < bw; bx++, j += 3)
            {
                // 3. Vignette factor for this block.
                float vdx = 2 * bx + 1f - vcx;
                float q = Math.Max(0f, (vdx * vdx * vInvR2 + vdy2 - 0.3f) * (1f / 0.7f));
                float vig = 1f - vignette * q * q;

                // 4. Wave bands, back to front. A band either misses or fully covers the whole block
                //    (the common case, done once per block), or its edge crosses the block.
                float r = block[j], g = block[j + 1], b = block[j + 2];
                bool crossed = false;
                for (int i = 0; i < waves.Length; i++)
                {
                    Wave wv = waves[i];
                    if (y0 + rows <= wv.BlockMin[bx]) continue;
                    if (y0 < wv.BlockMax[bx]) { crossed = true; break; }
                    Rgb c = waveColours[i];
                    r += (c.R - r) * wv.Alpha;
                    g += (c.G - g) * wv.Alpha;
                    b += (c.B - b) * wv.Alpha;
                }

                int x0 = 2 * bx, x1 = Math.Min(x0 + 1, width - 1);
                if (!crossed)
                {
                    uint p = Pack(r * vig, g * vig, b * vig);
                    row0[x0] = p;
                    row0[x1] = p;
                    row1[x0] = p;
                    row1[x1] = p;
                    continue;
                }

                // Edge block: per-pixel vertical coverage for anti-aliasing.
                for (int y = y0; y < y0 + rows; y++)
                {
                    Span<uint> dst = y == y0 ? row0 : row1;
                    for (int x = x0; x <= x1; x++)
                    {
                        r = block[j]; g = block[j + 1]; b = block[j + 2];
                        for (int i = 0; i < waves.Length; i++)
                        {
                            float cov = y + 1 - waves[i].EdgeY[x];
                            if (cov <= 0) continue;
                            float k = waves[i].Alpha * Math.Min(cov, 1f);
                            Rgb c = waveColours[i];
                            r += (c.R - r) * k;
                            g += (c.G - g) * k;
                            b += (c.B - b) * k;
                        }
                        dst[x] = Pack(r * vig, g * vig, b * vig);
                    }
                }
            }
        }
        bitmap.NotifyPixelsChanged();
    }

    /// <summary>Opaque RGBA8888 pixel (R in the low byte) from 0..255 floats.</summary>
    private static uint Pack(float r, float g, float b) =>
        (uint)Math.Clamp((int)(r + 0.5f), 0, 255)
        | ((uint)Math.Clamp((int)(g + 0.5f), 0, 255) << 8)
        | ((uint)Math.Clamp((int)(b + 0.5f), 0, 255) << 16)
        | 0xFF000000u;
}
