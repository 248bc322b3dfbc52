using ImageGateway.Billing;

namespace ImageGateway.Catalog;

public sealed record ModelDefinition(
    string Id,
    IReadOnlyList<string> Sizes,
    IReadOnlyList<string> Qualities,
    string DefaultQuality,
    IReadOnlyList<string> Styles,
    int MaxN,
    int MaxPromptLength,
    string OwnedBy,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, Millicredits>> BasePrices)
{
    public const string GptImageFamily = "gpt-image";
    public const string AutoSize = "auto";

    /// <summary>Set for models billed by tokens; <see cref="BasePrices"/> is then empty.</summary>
    public TokenPrice? TokenPrice { get; init; }

    /// <summary><c>gpt-image</c> models answer in OpenAI's GPT-image shape and default to <c>b64_json</c>.</summary>
    public string? Family { get; init; }

    public bool IsGptImage => Family == GptImageFamily;

    public CustomSizeOptions? CustomSizes { get; init; }
    public IReadOnlyList<string> OutputFormats { get; init; } = [];
    public IReadOnlyList<string> Backgrounds { get; init; } = [];
    public IReadOnlyList<string> Moderations { get; init; } = [];

    /// <summary>Set when the model is retired: requests are served by the successor's route, mapped.</summary>
    public Successor? Successor { get; init; }

    public bool Edits { get; init; }
    public bool Variations { get; init; }
    public bool Streaming { get; init; }
    public IReadOnlyList<string> InputFidelities { get; init; } = [];

    public string Pricing => TokenPrice is null ? "per_image" : "per_token";

    /// <summary>Base price of one image; <c>null</c> when the table has no entry for this quality and size.</summary>
    public Millicredits? BasePrice(string quality, string size)
    {
        if (!BasePrices.TryGetValue(quality, out var bySize)) return null;
        if (bySize.TryGetValue(size, out var price)) return price;
        return bySize.TryGetValue("default", out var fallback) ? fallback : null;
    }

    /// <summary>The listed sizes that are WIDTHxHEIGHT (not <c>auto</c>).</summary>
    public IEnumerable<string> FixedSizes => Sizes.Where(s => s != AutoSize);

    /// <summary>
    /// Pixels a size is priced at. <c>auto</c> lets the upstream choose, so it is priced as the
    /// largest listed size.
    /// </summary>
    public long PricedPixels(string size) => size == AutoSize ? FixedSizes.Max(Pixels) : Pixels(size);

    private static long Pixels(string size) => ModelCatalog.TryParseSize(size, out var w, out var h) ? (long)w * h : 0;

    /// <summary>Whether <paramref name="size"/> is listed, or keeps the custom-size rules.</summary>
    public bool AcceptsSize(string size, out int width, out int height)
    {
        if (Sizes.Contains(size))
        {
            if (!ModelCatalog.TryParseSize(size, out width, out height)) (width, height) = (1024, 1024);
            return true;
        }
        if (CustomSizes is not { } rule || !ModelCatalog.TryParseSize(size, out width, out height))
        {
            width = height = 0;
            return false;
        }
        var (longEdge, shortEdge) = (Math.Max(width, height), Math.Min(width, height));
        return width % rule.MultipleOf == 0 && height % rule.MultipleOf == 0 && longEdge <= rule.MaxEdge
            && (long)width * height <= rule.MaxPixels && (long)width * height >= rule.MinPixels && longEdge <= shortEdge * rule.MaxAspectRatio;
    }
}

/// <summary>Who serves a retired model and how its parameters map (DESIGN §12.1).</summary>
public sealed record Successor(
    string Model,
    IReadOnlyDictionary<string, string> Qualities,
    IReadOnlyDictionary<string, string> Sizes,
    IReadOnlyList<string> Ignore)
{
    public string Quality(string quality) => Qualities.GetValueOrDefault(quality, quality);

    public string Size(string size) => Sizes.GetValueOrDefault(size, size);
}
