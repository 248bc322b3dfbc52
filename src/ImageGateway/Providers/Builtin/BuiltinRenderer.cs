using System.Buffers.Binary;
using System.Runtime.InteropServices;
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

    // zlib level 1 with the Sub/Up filters: output is a few percent larger than the default (level 6,
    // all filters) but encoding is several times faster, which dominates the total render time.
    private static readonly SKPngEncoderOptions PngOptions =
        new(SKPngEncoderFilterFlags.Sub | SKPngEncoderFilterFlags.Up, 1);

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

        var style = Style.FromPrompt(prompt, ref rng);

        // Opaque RGBA: the PNG encoder then writes 3-byte RGB pixels (smaller, faster) instead of RGBA.
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var bitmap = new SKBitmap(info);
        new Painter(bitmap, style).Paint(ref rng);

        using var pixmap = bitmap.PeekPixels();
        using var data = pixmap.Encode(PngOptions)
            ?? throw new InvalidOperationException("SkiaSharp failed to encode the PNG.");
        return data.ToArray();
    }

    /// <summary>First 8 bytes (little endian) of SHA-256 of the UTF-8 prompt.</summary>
    internal static ulong PromptHash(string prompt)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(prompt), digest);
        return BinaryPrimitives.ReadUInt64LittleEndian(digest);
    }

    /// <summary>FNV-1a 64 over UTF-16 code units (stable across platforms and runs).</summary>
    private static ulong WordHash(string word)
    {
        ulong h = 0xCBF29CE484222325UL;
        foreach (char c in word)
        {
            h ^= c;
            h *= 0x100000001B3UL;
        }
        return SplitMix64.Mix(h);
    }

    /// <summary>SplitMix64 (Steele, Lea, Flood 2014). Fully specified here, so stable across .NET versions.</summary>
    internal struct SplitMix64
    {
        private ulong _state;

        public SplitMix64(ulong seed) => _state = seed;

        public ulong Next()
        {
            _state += 0x9E3779B97F4A7C15UL;
            return Mix(_state);
        }

        public static ulong Mix(ulong z)
        {
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        /// <summary>Uniform in [0, 1).</summary>
        public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

        /// <summary>Uniform in [min, max).</summary>
        public float Range(double min, double max) => (float)(min + (max - min) * NextDouble());

        /// <summary>Uniform integer in [min, max] (inclusive).</summary>
        public int Int(int min, int max) => min + (int)(NextDouble() * (max - min + 1));

        public bool Chance(double p) => NextDouble() < p;
    }

    private readonly record struct Hsl(float H, float S, float L)
    {
        public SKColor ToColor(byte alpha = 255) =>
            SKColor.FromHsl(Wrap(H), Math.Clamp(S, 0f, 100f), Math.Clamp(L, 0f, 100f), alpha);

        public Hsl Shift(float dh = 0, float ds = 0, float dl = 0) => new(H + dh, S + ds, L + dl);

        private static float Wrap(float h) => ((h % 360f) + 360f) % 360f;
    }

    /// <summary>Palette and mood derived from the prompt words.</summary>
    private sealed class Style
    {
        public required Hsl[] Palette { get; init; }
        public required bool Dark { get; init; }
        public required float Energy { get; init; } // 0..1: how busy the foreground is

        private static readonly Dictionary<string, float> ColourWords = new(StringComparer.Ordinal)
        {
            ["red"] = 0, ["crimson"] = 350, ["scarlet"] = 5, ["ruby"] = 345, ["fire"] = 15, ["flame"] = 20,
            ["lava"] = 10, ["orange"] = 28, ["sunset"] = 22, ["autumn"] = 30, ["amber"] = 40, ["gold"] = 45,
            ["golden"] = 45, ["desert"] = 38, ["sand"] = 42, ["yellow"] = 55, ["lemon"] = 58, ["sun"] = 50,
            ["sunny"] = 50, ["lime"] = 85, ["green"] = 120, ["forest"] = 130, ["jungle"] = 115, ["leaf"] = 105,
            ["grass"] = 100, ["emerald"] = 145, ["mint"] = 155, ["teal"] = 175, ["turquoise"] = 175,
            ["cyan"] = 185, ["aqua"] = 185, ["ice"] = 195, ["frozen"] = 195, ["ocean"] = 200, ["sea"] = 195,
            ["water"] = 200, ["river"] = 200, ["sky"] = 205, ["rain"] = 210, ["blue"] = 220, ["sapphire"] = 222,
            ["navy"] = 230, ["indigo"] = 250, ["galaxy"] = 260, ["space"] = 245, ["cosmic"] = 265,
            ["violet"] = 270, ["purple"] = 275, ["lavender"] = 270, ["amethyst"] = 280, ["magenta"] = 300,
            ["neon"] = 310, ["pink"] = 330, ["rose"] = 340, ["cherry"] = 348, ["blossom"] = 335,
        };

        private static readonly HashSet<string> DarkWords = new(StringComparer.Ordinal)
        {
            "night", "dark", "midnight", "space", "galaxy", "cosmic", "shadow", "shadows", "noir", "moon",
            "storm", "deep", "gothic", "cyberpunk", "neon", "stars", "starry", "nebula", "cave", "abyss",
        };

        private static readonly HashSet<string> LightWords = new(StringComparer.Ordinal)
        {
            "day", "bright", "light", "pastel", "morning", "snow", "snowy", "white", "sunny", "cloud",
            "clouds", "soft", "minimal", "minimalist", "spring", "beach", "dawn", "airy",
        };

        private static readonly HashSet<string> StopWords = new(StringComparer.Ordinal)
        {
            "a", "an", "the", "of", "and", "or", "with", "in", "on", "at", "to", "for", "by", "from", "is",
            "are", "it", "its", "this", "that", "as", "into", "over", "under", "very",
        };

        public static Style FromPrompt(string prompt, ref SplitMix64 rng)
        {
            var named = new List<float>();   // hues from explicit colour words (strongest signal)
            var hashed = new List<float>();  // hues from hashing the other words
            int dark = 0, light = 0, words = 0;

            foreach (string word in Tokenize(prompt))
            {
                words++;
                if (DarkWords.Contains(word)) dark++;
                if (LightWords.Contains(word)) light++;
                if (ColourWords.TryGetValue(word, out float hue))
                    named.Add(hue);
                else if (!StopWords.Contains(word))
                    hashed.Add((float)(WordHash(word) % 3600UL) / 10f);
            }

            var hues = new List<float>(6);
            foreach (float h in named.Concat(hashed))
            {
                if (hues.Count == 5) break;
                // Skip near-duplicates so the palette has some spread.
                if (hues.All(x => HueDistance(x, h) > 12f)) hues.Add(h);
            }

            if (hues.Count == 0) hues.Add(rng.Range(0, 360));
            // Fill small palettes with a harmony around the dominant hue.
            float[] scheme = rng.Int(0, 2) switch
            {
                0 => [30f, -30f, 180f, 60f],     // analogous + complement
                1 => [150f, 210f, 40f, -40f],    // split complementary
                _ => [120f, 240f, 20f, -20f],    // triadic
            };
            for (int i = 0; hues.Count < 3 && i < scheme.Length; i++)
                hues.Add(hues[0] + scheme[i] + rng.Range(-8, 8));

            var palette = new Hsl[hues.Count];
            for (int i = 0; i < hues.Count; i++)
                palette[i] = new Hsl(hues[i], rng.Range(55, 90), rng.Range(45, 65));

            bool isDark = dark != light ? dark > light : rng.Chance(0.6);
            float energy = Math.Clamp(0.35f + 0.05f * words + rng.Range(-0.15, 0.15), 0.2f, 1f);
            return new Style { Palette = palette, Dark = isDark, Energy = energy };
        }

        private static IEnumerable<string> Tokenize(string prompt)
        {
            var sb = new StringBuilder();
            foreach (char c in prompt)
            {
                if (char.IsLetterOrDigit(c))
                {
                    sb.Append(char.ToLowerInvariant(c));
                }
                else if (sb.Length > 0)
                {
                    yield return sb.ToString();
                    sb.Clear();
                }
            }
            if (sb.Length > 0) yield return sb.ToString();
        }

        private static float HueDistance(float a, float b)
        {
            float d = Math.Abs(((a - b) % 360f + 360f) % 360f);
            return Math.Min(d, 360f - d);
        }
    }

    /// <summary>
    /// Paints the composition. Skia's CPU pipeline costs roughly 10-20 ns per blended pixel in this build, so
    /// the full-canvas layers (gradient background, glows, vignette, waves) are computed directly into the pixel
    /// buffer in C#; Skia only rasterises the anti-aliased foreground shapes, which cover a small area.
    /// The smooth layers are evaluated on a 2x2 block grid (invisible on gradients this smooth): 4x less work,
    /// and the duplicated rows/columns make the PNG encoder's job (the dominant cost) much cheaper.
    /// </summary>
    private sealed class Painter
    {
        private readonly SKBitmap _bitmap;
        private readonly Style _style;
        private readonly int _width;
        private readonly int _height;
        private readonly float _w;
        private readonly float _h;
        private readonly float _min;
        private readonly float _max;

        public Painter(SKBitmap bitmap, Style style)
        {
            _bitmap = bitmap;
            _style = style;
            _width = bitmap.Width;
            _height = bitmap.Height;
            _w = _width;
            _h = _height;
            _min = Math.Min(_w, _h);
            _max = Math.Max(_w, _h);
        }

        public void Paint(ref SplitMix64 rng)
        {
            PaintBackdrop(ref rng);
            using var canvas = new SKCanvas(_bitmap);
            DrawShapes(canvas, ref rng);
            DrawSparkles(canvas, ref rng);
            canvas.Flush();
        }

        private Hsl Pick(ref SplitMix64 rng) => _style.Palette[rng.Int(0, _style.Palette.Length - 1)];

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

        private sealed record Wave(float[] EdgeY, float MinY, Rgb Top, Rgb Bottom, float Alpha);

        /// <summary>Gradient background, soft glows, vignette and wave bands, written straight into the pixel buffer.</summary>
        private void PaintBackdrop(ref SplitMix64 rng)
        {
            bool dark = _style.Dark;
            Hsl a = _style.Palette[0], b = _style.Palette[1 % _style.Palette.Length], c = _style.Palette[^1];
            Rgb s0, s1, s2;
            if (dark)
            {
                s0 = Rgb.From(new Hsl(a.H, a.S * 0.7f, rng.Range(8, 14)));
                s1 = Rgb.From(new Hsl(b.H, b.S * 0.75f, rng.Range(20, 30)));
                s2 = Rgb.From(new Hsl(c.H, c.S * 0.7f, rng.Range(10, 18)));
            }
            else
            {
                s0 = Rgb.From(new Hsl(a.H, a.S * 0.6f, rng.Range(84, 92)));
                s1 = Rgb.From(new Hsl(b.H, b.S * 0.7f, rng.Range(70, 80)));
                s2 = Rgb.From(new Hsl(c.H, c.S * 0.6f, rng.Range(80, 90)));
            }
            float mid = rng.Range(0.4, 0.6);

            // Gradient axis through the centre at a random angle; t goes 0..1 across the image.
            double angle = rng.NextDouble() * Math.PI * 2;
            float ux = (float)Math.Cos(angle), uy = (float)Math.Sin(angle);
            float span = Math.Abs(ux) * _w + Math.Abs(uy) * _h;
            float tdx = ux / span, tdy = uy / span;
            float t00 = 0.5f - (_w / 2) * tdx - (_h / 2) * tdy;

            var glows = new Glow[rng.Int(2, 4)];
            for (int i = 0; i < glows.Length; i++)
            {
                float cx = rng.Range(-0.1, 1.1) * _w, cy = rng.Range(-0.1, 0.9) * _h;
                float radius = rng.Range(0.3, 0.65) * _max;
                Hsl hsl = Pick(ref rng);
                Rgb colour = Rgb.From(dark ? hsl.Shift(dl: -5) : hsl.Shift(dl: 15));
                float alpha = rng.Range(dark ? 0.4 : 0.45, dark ? 0.65 : 0.7);
                glows[i] = new Glow(cx, cy, radius, colour, alpha);
            }

            var waves = new Wave[rng.Int(2, 4)];
            float top = rng.Range(0.5, 0.68) * _h;
            for (int i = 0; i < waves.Length; i++)
            {
                float baseY = top + (i + rng.Range(0, 0.6)) * (_h - top) / (waves.Length + 0.5f);
                float amp1 = rng.Range(0.015, 0.05) * _h, amp2 = amp1 * rng.Range(0.15, 0.45);
                double f1 = rng.Range(0.6, 1.8) * 2 * Math.PI / _w, f2 = rng.Range(2.5, 5) * 2 * Math.PI / _w;
                double p1 = rng.NextDouble() * Math.PI * 2, p2 = rng.NextDouble() * Math.PI * 2;
                var edge = new float[_width];
                float minY = float.MaxValue;
                for (int x = 0; x < _width; x++)
                {
                    double px = x + 0.5;
                    float y = baseY + (float)(amp1 * Math.Sin(f1 * px + p1) + amp2 * Math.Sin(f2 * px + p2));
                    edge[x] = y;
                    minY = Math.Min(minY, y);
                }
                Hsl hsl = Pick(ref rng);
                float depth = (i + 1f) / waves.Length;
                Hsl near = dark ? hsl.Shift(ds: -10, dl: -14 - 14 * depth) : hsl.Shift(dl: 8 - 14 * depth);
                Hsl far = near.Shift(dl: -12);
                waves[i] = new Wave(edge, minY, Rgb.From(near), Rgb.From(far), rng.Range(0.6, 0.88));
            }
            float wavesTop = waves.Min(w => w.MinY);

            // Vignette: factor 1 - k * q² with q growing from 0 (30% of the half-diagonal) to 1 (corners).
            float vignette = dark ? 0.5f : 0.2f;
            float vcx = _w / 2, vcy = _h / 2, vInvR2 = 1f / (vcx * vcx + vcy * vcy);

            int bw = (_width + 1) >> 1, bh = (_height + 1) >> 1;
            var block = new float[bw * 3];   // backdrop of one block row (gradient + glows), linear 0..255
            var vig = new float[bw];         // vignette factor per block of that row
            var quant = new uint[bw];        // block row quantised, used above the waves
            var row = new float[_width * 3]; // one full-resolution row, used where waves may be present
            Span<uint> pixels = MemoryMarshal.Cast<byte, uint>(_bitmap.GetPixelSpan());

            for (int by = 0; by < bh; by++)
            {
                float py = 2 * by + 1f; // centre of the 2x2 block

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
                        float w = 1f - (dx * dx + dy2) * inv;
                        if (w <= 0) continue;
                        float k = g.Alpha * w * w;
                        int j = bx * 3;
                        block[j] += (g.Colour.R - block[j]) * k;
                        block[j + 1] += (g.Colour.G - block[j + 1]) * k;
                        block[j + 2] += (g.Colour.B - block[j + 2]) * k;
                    }
                }

                // 3. Vignette factors.
                float vdy = py - vcy, vdy2 = vdy * vdy * vInvR2;
                for (int bx = 0; bx < bw; bx++)
                {
                    float vdx = 2 * bx + 1f - vcx;
                    float q = Math.Max(0f, (vdx * vdx * vInvR2 + vdy2 - 0.3f) * (1f / 0.7f));
                    vig[bx] = 1f - vignette * q * q;
                }

                int y0 = 2 * by, rows = Math.Min(2, _height - y0);
                if (y0 + rows <= wavesTop)
                {
                    // 4a. No wave reaches these rows: quantise once per block, duplicate to 2x2 pixels.
                    for (int bx = 0, j = 0; bx < bw; bx++, j += 3)
                        quant[bx] = Pack(block[j] * vig[bx], block[j + 1] * vig[bx], block[j + 2] * vig[bx]);
                    Span<uint> dst = pixels.Slice(y0 * _width, _width);
                    for (int x = 0; x < _width; x++)
                        dst[x] = quant[x >> 1];
                    if (rows == 2)
                        dst.CopyTo(pixels.Slice((y0 + 1) * _width, _width));
                    continue;
                }

                // 4b. Wave bands, back to front, with anti-aliased edges at full resolution.
                for (int y = y0; y < y0 + rows; y++)
                {
                    for (int x = 0, j = 0; x < _width; x++, j += 3)
                    {
                        int k = (x >> 1) * 3;
                        row[j] = block[k];
                        row[j + 1] = block[k + 1];
                        row[j + 2] = block[k + 2];
                    }

                    foreach (Wave wv in waves)
                    {
                        if (y + 1 <= wv.MinY) continue;
                        // Colour varies per block row only (keeps the two rows of a block identical inside the band).
                        float v = Math.Clamp((py - wv.MinY) / Math.Max(1f, _h - wv.MinY), 0f, 1f);
                        Rgb col = wv.Top.Lerp(wv.Bottom, v);
                        float[] edge = wv.EdgeY;
                        for (int x = 0, j = 0; x < _width; x++, j += 3)
                        {
                            float cov = y + 1 - edge[x];
                            if (cov <= 0) continue;
                            float k = wv.Alpha * Math.Min(cov, 1f);
                            row[j] += (col.R - row[j]) * k;
                            row[j + 1] += (col.G - row[j + 1]) * k;
                            row[j + 2] += (col.B - row[j + 2]) * k;
                        }
                    }

                    Span<uint> dst = pixels.Slice(y * _width, _width);
                    for (int x = 0, j = 0; x < _width; x++, j += 3)
                    {
                        float f = vig[x >> 1];
                        dst[x] = Pack(row[j] * f, row[j + 1] * f, row[j + 2] * f);
                    }
                }
            }
            _bitmap.NotifyPixelsChanged();
        }

        /// <summary>Opaque RGBA8888 pixel (R in the low byte) from 0..255 floats.</summary>
        private static uint Pack(float r, float g, float b) =>
            (uint)Math.Clamp((int)(r + 0.5f), 0, 255)
            | ((uint)Math.Clamp((int)(g + 0.5f), 0, 255) << 8)
            | ((uint)Math.Clamp((int)(b + 0.5f), 0, 255) << 16)
            | 0xFF000000u;

        private void DrawShapes(SKCanvas canvas, ref SplitMix64 rng)
        {
            bool dark = _style.Dark;
            int count = (int)(4 + _style.Energy * rng.Int(6, 12));
            using var fill = new SKPaint { IsAntialias = true };
            using var stroke = new SKPaint { IsAntialias = true, Style = SKPaintStyle.Stroke, StrokeCap = SKStrokeCap.Round };

            for (int i = 0; i < count; i++)
            {
                // Mostly in the upper part, so shapes float above the waves.
                float x = rng.Range(0.05, 0.95) * _w;
                float y = rng.Range(0.05, 0.8) * _h;
                // Few large shapes, many small ones.
                float size = (float)(0.025 + 0.15 * Math.Pow(rng.NextDouble(), 2.2)) * _min;
                float rotation = rng.Range(0, MathF.PI * 2);
                Hsl hsl = Pick(ref rng);
                Hsl light = dark ? hsl.Shift(dl: 12) : hsl.Shift(dl: 6);
                Hsl deep = hsl.Shift(ds: 5, dl: dark ? -14 : -18);
                byte alpha = (byte)rng.Int(120, 235);

                int kind = rng.Int(0, 5);
                if (kind == 1)
                {
                    // Ring.
                    stroke.StrokeWidth = Math.Max(1f, size * rng.Range(0.08, 0.2));
                    stroke.Color = light.ToColor(alpha);
                    canvas.DrawCircle(x, y, size, stroke);
                    continue;
                }

                using SKPath path = kind switch
                {
                    0 => Circle(x, y, size),
                    2 => Polygon(x, y, size, rng.Int(3, 6), rotation),
                    3 => Star(x, y, size, rng.Int(4, 8), rng.Range(0.38, 0.6), rotation),
                    _ => Blob(ref rng, x, y, size),
                };
                // Highlight towards the upper left of the shape.
                using var shader = SKShader.CreateRadialGradient(
                    new SKPoint(x - size * 0.35f, y - size * 0.35f), size * 1.5f,
                    [light.ToColor(alpha), deep.ToColor(alpha)], SKShaderTileMode.Clamp);
                fill.Shader = shader;
                canvas.DrawPath(path, fill);
                fill.Shader = null;

                if (rng.Chance(0.35))
                {
                    stroke.StrokeWidth = Math.Max(1f, size * 0.04f);
                    stroke.Color = (dark ? light.Shift(dl: 20) : deep.Shift(dl: -10)).ToColor((byte)(alpha * 0.8f));
                    canvas.DrawPath(path, stroke);
                }
            }
        }

        private void DrawSparkles(SKCanvas canvas, ref SplitMix64 rng)
        {
            int count = (int)(15 + _style.Energy * rng.Int(20, 50));
            using var paint = new SKPaint { IsAntialias = true };
            for (int i = 0; i < count; i++)
            {
                float x = rng.Range(0, 1) * _w;
                float y = rng.Range(0, 0.85) * _h;
                float r = Math.Max(0.75f, rng.Range(0.0015, 0.005) * _min);
                Hsl hsl = Pick(ref rng);
                paint.Color = _style.Dark
                    ? new Hsl(hsl.H, 60, rng.Range(80, 96)).ToColor((byte)rng.Int(90, 230))
                    : new Hsl(hsl.H, hsl.S, rng.Range(25, 45)).ToColor((byte)rng.Int(60, 160));
                canvas.DrawCircle(x, y, r, paint);
            }
        }

        private static SKPath Circle(float x, float y, float r)
        {
            using var b = new SKPathBuilder();
            b.AddCircle(x, y, r, SKPathDirection.Clockwise);
            return b.Detach();
        }

        private static SKPath Polygon(float x, float y, float r, int sides, float rotation)
        {
            using var b = new SKPathBuilder();
            for (int k = 0; k < sides; k++)
            {
                float a = rotation + k * MathF.PI * 2 / sides;
                float px = x + r * MathF.Cos(a), py = y + r * MathF.Sin(a);
                if (k == 0) b.MoveTo(px, py); else b.LineTo(px, py);
            }
            b.Close();
            return b.Detach();
        }

        private static SKPath Star(float x, float y, float r, int points, float innerRatio, float rotation)
        {
            using var b = new SKPathBuilder();
            for (int k = 0; k < points * 2; k++)
            {
                float a = rotation + k * MathF.PI / points;
                float rr = k % 2 == 0 ? r : r * innerRatio;
                float px = x + rr * MathF.Cos(a), py = y + rr * MathF.Sin(a);
                if (k == 0) b.MoveTo(px, py); else b.LineTo(px, py);
            }
            b.Close();
            return b.Detach();
        }

        /// <summary>Smooth closed curve through jittered points on a circle.</summary>
        private static SKPath Blob(ref SplitMix64 rng, float x, float y, float r)
        {
            int n = rng.Int(5, 9);
            Span<SKPoint> pts = stackalloc SKPoint[n];
            float offset = rng.Range(0, MathF.PI * 2);
            for (int k = 0; k < n; k++)
            {
                float a = offset + k * MathF.PI * 2 / n;
                float rr = r * rng.Range(0.7, 1.25);
                pts[k] = new SKPoint(x + rr * MathF.Cos(a), y + rr * MathF.Sin(a));
            }

            using var b = new SKPathBuilder();
            b.MoveTo(Mid(pts[n - 1], pts[0]));
            for (int k = 0; k < n; k++)
                b.QuadTo(pts[k], Mid(pts[k], pts[(k + 1) % n]));
            b.Close();
            return b.Detach();
        }

        private static SKPoint Mid(SKPoint a, SKPoint b) => new((a.X + b.X) / 2, (a.Y + b.Y) / 2);
    }
}
