using SkiaSharp;

namespace ImageGateway.Providers.Builtin;

/// <summary>A colour as hue (degrees), saturation and lightness (percent), wrapped and clamped when converted.</summary>
internal readonly record struct Hsl(float H, float S, float L)
{
    public SKColor ToColor(byte alpha = 255) =>
        SKColor.FromHsl(Wrap(H), Math.Clamp(S, 0f, 100f), Math.Clamp(L, 0f, 100f), alpha);

    public Hsl Shift(float dh = 0, float ds = 0, float dl = 0) => new(H + dh, S + ds, L + dl);

    private static float Wrap(float h) => ((h % 360f) + 360f) % 360f;
}
