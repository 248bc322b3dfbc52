using SkiaSharp;

namespace ImageGateway.Providers.Builtin;

/// <summary>The foreground: circles, rings, polygons, stars and blobs with a highlight, anti-aliased by Skia.</summary>
internal static class Shapes
{
    /// <summary>Draws the shapes on a <paramref name="w"/> by <paramref name="h"/> canvas.</summary>
    public static void Draw(SKCanvas canvas, float w, float h, PromptStyle style, ref SplitMix64 rng)
    {
        float min = Math.Min(w, h);
        bool dark = style.Dark;
        int count = (int)(4 + style.Energy * rng.Int(6, 12));
        using var fill = new SKPaint { IsAntialias = true };
        using var stroke = new SKPaint { IsAntialias = true, Style = SKPaintStyle.Stroke, StrokeCap = SKStrokeCap.Round };

        for (int i = 0; i < count; i++)
        {
            // Mostly in the upper part, so shapes float above the waves.
            float x = rng.Range(0.05, 0.95) * w;
            float y = rng.Range(0.05, 0.8) * h;
            // Few large shapes, many small ones.
            float size = (float)(0.025 + 0.15 * Math.Pow(rng.NextDouble(), 2.2)) * min;
            float rotation = rng.Range(0, MathF.PI * 2);
            Hsl picked = style.Pick(ref rng);
            Hsl hsl = dark ? picked : picked with { S = picked.S * 0.85f }; // a little softer on light backgrounds
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
