using ImageGateway.Billing;
using ImageGateway.Providers;

namespace ImageGateway.Catalog;

/// <summary>What a request may cost: the estimate (the tables as they are) and the most it may cost (what is held).</summary>
public readonly record struct PriceQuote(Millicredits Estimated, Millicredits Max);

/// <summary>
/// A per-token price (DESIGN §12.4). Rates are millicredits per million tokens, so every cost is an
/// exact integer product, divided once and rounded up to the millicredit.
/// </summary>
public sealed record TokenPrice(
    long TextInputPerMillion,
    long ImageInputPerMillion,
    long ImageOutputPerMillion,
    IReadOnlyDictionary<string, long> OutputTokens,
    int HoldPercent)
{
    /// <summary>The table's output tokens are for one 1024x1024 image.</summary>
    public const long TablePixels = 1024 * 1024;

    /// <summary>Upstreams scale larger edit inputs down; an input is never counted above this area.</summary>
    public const long MaxInputPixels = 2048 * 2048;

    /// <summary>The most image-input tokens of one 1024x1024 edit input, per <c>input_fidelity</c> (<c>low</c> when not asked).</summary>
    public IReadOnlyDictionary<string, long> InputImageTokens { get; init; } = new Dictionary<string, long>();

    /// <summary>The bound on an edit's image-input tokens: each input's table row scaled by its area (capped), rounded up.</summary>
    public long InputTokens(IEnumerable<(int Width, int Height)> inputs, string? fidelity) =>
        InputImageTokens.TryGetValue(fidelity ?? "low", out var perImage)
            ? inputs.Sum(i => CeilingDivide(perImage * Math.Min((long)i.Width * i.Height, MaxInputPixels), TablePixels))
            : 0;

    /// <summary>Output tokens of one image, the table scaled by pixel area, rounded up.</summary>
    public long OutputTokensPerImage(string quality, long pixels) => CeilingDivide(OutputTokens[quality] * pixels, TablePixels);

    /// <summary>
    /// The estimate's tokens: the table's output for <paramref name="images"/> images, and the
    /// prompt's UTF-8 bytes as its text tokens (a token is at least one byte, so this bounds them).
    /// </summary>
    public TokenUsage Estimate(string quality, long pixels, int images, long promptBytes, long inputImageTokens = 0) =>
        new(promptBytes, inputImageTokens, images * OutputTokensPerImage(quality, pixels));

    /// <summary>The hold's tokens: the estimate with <see cref="HoldPercent"/> on each image's output and on the image input.</summary>
    public TokenUsage Bound(string quality, long pixels, int images, long promptBytes, long inputImageTokens = 0) =>
        new(promptBytes, CeilingDivide(inputImageTokens * HoldPercent, 100), images * CeilingDivide(OutputTokensPerImage(quality, pixels) * HoldPercent, 100));

    /// <summary>usage × rates × the tier's multiplier, rounded up once to the millicredit.</summary>
    public Millicredits Cost(TokenUsage usage, TierDefinition tier)
    {
        var perMillion = (Int128)usage.InputText * TextInputPerMillion + (Int128)usage.InputImage * ImageInputPerMillion
            + (Int128)usage.Output * ImageOutputPerMillion;
        var scaled = perMillion * tier.MultiplierPerMille;
        const long Divisor = 1_000_000L * 1000; // per million tokens, and the multiplier in per mille
        return new Millicredits(checked((long)((scaled + Divisor - 1) / Divisor)));
    }

    /// <summary>Base cost (no tier) in credits per million tokens, as the catalog shows the rates.</summary>
    public TokenRates Rates(long multiplierPerMille = 1000) => new(
        Scale(TextInputPerMillion, multiplierPerMille), Scale(ImageInputPerMillion, multiplierPerMille), Scale(ImageOutputPerMillion, multiplierPerMille));

    private static Millicredits Scale(long perMillion, long multiplierPerMille) =>
        new(checked((perMillion * multiplierPerMille + 999) / 1000));

    private static long CeilingDivide(long value, long divisor) => checked((value + divisor - 1) / divisor);
}

/// <summary>Credits per million tokens, as <c>/image/models</c> and <c>/image/estimate</c> show them.</summary>
/// <param name="TextInput">Credits per million prompt text tokens.</param>
/// <param name="ImageInput">Credits per million input image tokens (edits).</param>
/// <param name="ImageOutput">Credits per million output image tokens.</param>
public sealed record TokenRates(Millicredits TextInput, Millicredits ImageInput, Millicredits ImageOutput);
