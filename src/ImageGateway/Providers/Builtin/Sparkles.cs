using SkiaSharp;

namespace ImageGateway.Providers.Builtin;

/// <summary>The last layer: tiny dots, light on a dark image and dark on a light one.</summary>
internal static class Sparkles
{
    public static void Draw(SKCanvas canvas, float w, float h, PromptStyle style, ref SplitMix64 rng)
    {
        float min = Math.Min(w, h);
        int count = (int)(15 + style.Energy * rng.Int(20, 50));
        using var paint = new SKPaint { IsAntialias = true };
        for (int i = 0; i < count; i++)
        {
            float x = rng.Range(0, 1) * w;
            float y = rng.Range(0, 0.85) * h;
            float r = Math.Max(0.75f, rng.Range(0.0015, 0.005) * min);
            Hsl hsl = style.Pick(ref rng);
            paint.Color = style.Dark
                ? new Hsl(hsl.H, 60, rng.Range(80, 96)).ToColor((byte)rng.Int(90, 230))
                : new Hsl(hsl.H, hsl.S, rng.Range(25, 45)).ToColor((byte)rng.Int(60, 160));
            canvas.DrawCircle(x, y, r, paint);
        }
    }
}
