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
