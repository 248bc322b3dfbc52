using Microsoft.Extensions.Options;

namespace ImageGateway.Catalog;

/// <summary>
/// <c>Gateway:Models</c>, <c>Gateway:Pricing</c> and <c>Gateway:Tiers</c>. The defaults live in
/// appsettings.json so operators see and change them in one place.
/// </summary>
public sealed class CatalogOptions
{
    public const string Section = "Gateway";

    public Dictionary<string, ModelOptions> Models { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Base price in credits per image: <c>Pricing:{model}:{quality}:{size}</c>; size <c>default</c> matches any size.</summary>
    public Dictionary<string, Dictionary<string, Dictionary<string, decimal>>> Pricing { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Per-token prices (<c>TokenPricing:{model}</c>), for models billed on the usage their upstream
    /// reports. A model has a <see cref="Pricing"/> table or a token price, or, when retired, its successor's.
    /// </summary>
    public Dictionary<string, TokenPricingOptions> TokenPricing { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    public Dictionary<string, TierOptions> Tiers { get; set; } = new(StringComparer.OrdinalIgnoreCase);
}

public sealed class ModelOptions
{
    public List<string> Sizes { get; set; } = [];
    public List<string> Qualities { get; set; } = [];
    public string? DefaultQuality { get; set; }
    public List<string> Styles { get; set; } = [];
    public int MaxN { get; set; } = 10;
    public int MaxPromptLength { get; set; } = 4000;
    public string? OwnedBy { get; set; }

    /// <summary><c>gpt-image</c>: answers in OpenAI's GPT-image shape (b64_json by default, with usage); otherwise the DALL·E shape (url by default).</summary>
    public string? Family { get; set; }

    /// <summary>Sizes beyond <see cref="Sizes"/>: any WIDTHxHEIGHT that keeps these rules.</summary>
    public CustomSizeOptions? CustomSizes { get; set; }

    /// <summary>Values of the GPT-image fields the model takes; an empty list refuses the field.</summary>
    public List<string> OutputFormats { get; set; } = [];
    public List<string> Backgrounds { get; set; } = [];
    public List<string> Moderations { get; set; } = [];

    /// <summary>Set when the model is retired: its requests are served as this model, mapped.</summary>
    public SuccessorOptions? Successor { get; set; }

    /// <summary>What the model does besides generating: edits (<c>/images/edits</c>), variations, streamed partial images.</summary>
    public bool Edits { get; set; }
    public bool Variations { get; set; }
    public bool Streaming { get; set; }
    /// <summary>Values of an edit's <c>input_fidelity</c> the model takes; empty refuses the field.</summary>
    public List<string> InputFidelities { get; set; } = [];
}

public sealed class CustomSizeOptions
{
    /// <summary>Each side must be a multiple of this many pixels.</summary>
    public int MultipleOf { get; set; } = 16;
    /// <summary>Longest side allowed, in pixels.</summary>
    public int MaxEdge { get; set; } = 3840;
    /// <summary>Most pixels (width times height) allowed.</summary>
    public long MaxPixels { get; set; } = 3840L * 2160;
    /// <summary>Fewest pixels (width times height) allowed.</summary>
    public long MinPixels { get; set; }
    /// <summary>The long side over the short side, at most.</summary>
    public decimal MaxAspectRatio { get; set; } = 3;
}

public sealed class SuccessorOptions
{
    public string Model { get; set; } = "";
    /// <summary>This model's quality → the successor's; a quality not listed is passed as it is.</summary>
    public Dictionary<string, string> Qualities { get; set; } = new(StringComparer.Ordinal);
    /// <summary>This model's size → the size asked of the successor; the gateway scales the images back down.</summary>
    public Dictionary<string, string> Sizes { get; set; } = new(StringComparer.Ordinal);
    /// <summary>Fields accepted for compatibility and not forwarded (listed in <c>_metadata.ignored</c>).</summary>
    public List<string> Ignore { get; set; } = [];
}

/// <summary>Credits per million tokens, and the output tokens one 1024x1024 image takes at each quality (for the hold).</summary>
public sealed class TokenPricingOptions
{
    public decimal TextInput { get; set; }
    public decimal ImageInput { get; set; }
    public decimal ImageOutput { get; set; }
    public Dictionary<string, long> OutputTokens { get; set; } = new(StringComparer.Ordinal);
    /// <summary>
    /// The most image-input tokens one edit input of 1024x1024 may take, per <c>input_fidelity</c>
    /// (for the hold): scaled by area, the area capped at 2048x2048 (OpenAI scales larger inputs down).
    /// </summary>
    public Dictionary<string, long> InputImageTokens { get; set; } = new(StringComparer.Ordinal);
    /// <summary>The hold covers this much more than the table, in percent (DESIGN §12.4: 125).</summary>
    public int HoldPercent { get; set; } = 125;
}

public sealed class TierOptions
{
    public decimal Multiplier { get; set; } = 1m;
    public int PerMinute { get; set; }
    public int PerHour { get; set; }
    public int PerDay { get; set; }
    public int PerMonth { get; set; }
    /// <summary>Credits a month; 0 means no cap.</summary>
    public decimal MonthlyCap { get; set; }
}

/// <summary>Builds the catalog the way the gateway will, and reports every inconsistency in it at once.</summary>
public sealed class CatalogOptionsValidator : IValidateOptions<CatalogOptions>
{
    public ValidateOptionsResult Validate(string? name, CatalogOptions options)
    {
        var errors = ModelCatalog.Errors(options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
