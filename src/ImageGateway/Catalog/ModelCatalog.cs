using System.Collections.Frozen;
using ImageGateway.Billing;
using Microsoft.Extensions.Options;

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
    /// <summary>Base price of one image; <c>null</c> when the table has no entry for this quality and size.</summary>
    public Millicredits? BasePrice(string quality, string size)
    {
        if (!BasePrices.TryGetValue(quality, out var bySize)) return null;
        if (bySize.TryGetValue(size, out var price)) return price;
        return bySize.TryGetValue("default", out var fallback) ? fallback : null;
    }
}

public sealed record TierDefinition(
    string Name,
    decimal Multiplier,
    long MultiplierPerMille,
    int PerMinute,
    int PerHour,
    int PerDay,
    int PerMonth,
    Millicredits? MonthlyCap);

/// <summary>
/// Models, their prices and the tiers, built from configuration once at start-up and validated so
/// that a typo in appsettings.json stops the process with a clear message instead of mispricing.
/// </summary>
public sealed class ModelCatalog
{
    private readonly FrozenDictionary<string, ModelDefinition> _models;
    private readonly FrozenDictionary<string, TierDefinition> _tiers;

    public ModelCatalog(IOptions<CatalogOptions> options) : this(options.Value) { }

    /// <summary>Throws with every error when the options are inconsistent (start-up validation reports them first).</summary>
    public ModelCatalog(CatalogOptions options)
    {
        var errors = new List<string>();
        (_models, _tiers) = Build(options, errors);
        if (errors.Count > 0)
            throw new InvalidOperationException("Invalid catalog configuration:\n  " + string.Join("\n  ", errors));
        Models = _models.Values.OrderBy(m => m.Id, StringComparer.Ordinal).ToArray();
    }

    /// <summary>Every inconsistency in the options, each naming its setting; empty when the catalog is sound.</summary>
    public static List<string> Errors(CatalogOptions options)
    {
        var errors = new List<string>();
        Build(options, errors);
        return errors;
    }

    private static (FrozenDictionary<string, ModelDefinition>, FrozenDictionary<string, TierDefinition>) Build(CatalogOptions options, List<string> errors)
    {
        var models = BuildModels(options, errors).ToFrozenDictionary(m => m.Id, StringComparer.OrdinalIgnoreCase);
        var tiers = BuildTiers(options, errors).ToFrozenDictionary(t => t.Name, StringComparer.OrdinalIgnoreCase);
        if (models.Count == 0) errors.Add("Gateway:Models is empty: at least one model must be configured.");
        if (tiers.Count == 0) errors.Add("Gateway:Tiers is empty: at least one tier must be configured.");
        return (models, tiers);
    }

    public IReadOnlyList<ModelDefinition> Models { get; }

    public IEnumerable<TierDefinition> Tiers => _tiers.Values;

    public bool TryGetModel(string id, out ModelDefinition model) => _models.TryGetValue(id, out model!);

    public bool TryGetTier(string name, out TierDefinition tier) => _tiers.TryGetValue(name, out tier!);

    public TierDefinition GetTier(string name) =>
        _tiers.TryGetValue(name, out var tier) ? tier : throw new InvalidOperationException($"Unknown tier '{name}'.");

    /// <summary>
    /// cost = base × n × multiplier, in integer millicredits. A product finer than a millicredit
    /// (only possible with unusual configured multipliers) is rounded up, so a charge is never
    /// below the published price.
    /// </summary>
    public static Millicredits Quote(Millicredits basePrice, int images, TierDefinition tier)
    {
        var scaled = checked(basePrice.Value * images * tier.MultiplierPerMille);
        return new Millicredits((scaled + 999) / 1000);
    }

    private static IEnumerable<ModelDefinition> BuildModels(CatalogOptions options, List<string> errors)
    {
        foreach (var (id, m) in options.Models)
        {
            var where = $"Gateway:Models:{id}";
            if (m.Sizes.Count == 0) errors.Add($"{where}:Sizes is empty.");
            foreach (var size in m.Sizes)
                if (!TryParseSize(size, out _, out _)) errors.Add($"{where}:Sizes has '{size}', expected WIDTHxHEIGHT.");
            var qualities = m.Qualities.Count > 0 ? m.Qualities.ToArray() : ["standard"];
            var defaultQuality = m.DefaultQuality ?? qualities[0];
            if (!qualities.Contains(defaultQuality)) errors.Add($"{where}:DefaultQuality '{defaultQuality}' is not in Qualities.");
            if (m.MaxN is < 1 or > 10) errors.Add($"{where}:MaxN must be 1-10.");
            if (m.MaxPromptLength < 1) errors.Add($"{where}:MaxPromptLength must be positive.");

            var prices = new Dictionary<string, IReadOnlyDictionary<string, Millicredits>>(StringComparer.Ordinal);
            if (!options.Pricing.TryGetValue(id, out var table))
            {
                errors.Add($"Gateway:Pricing:{id} is missing: every model needs a price.");
                table = [];
            }
            foreach (var (quality, bySize) in table)
            {
                var converted = new Dictionary<string, Millicredits>(StringComparer.Ordinal);
                foreach (var (size, credits) in bySize)
                {
                    if (credits < 0 || !Millicredits.TryFromCredits(credits, out var mc))
                        errors.Add($"Gateway:Pricing:{id}:{quality}:{size} = {credits} is not a non-negative amount with at most 3 decimals.");
                    else converted[size] = mc;
                }
                prices[quality] = converted;
            }
            var model = new ModelDefinition(id, m.Sizes.ToArray(), qualities, defaultQuality, m.Styles.ToArray(),
                m.MaxN, m.MaxPromptLength, m.OwnedBy ?? "image-gateway", prices);
            foreach (var quality in qualities)
                foreach (var size in m.Sizes)
                    if (model.BasePrice(quality, size) is null)
                        errors.Add($"Gateway:Pricing:{id}:{quality}:{size} is missing.");
            yield return model;
        }
    }

    private static IEnumerable<TierDefinition> BuildTiers(CatalogOptions options, List<string> errors)
    {
        foreach (var (name, t) in options.Tiers)
        {
            var perMille = t.Multiplier * 1000;
            if (t.Multiplier <= 0 || perMille != decimal.Truncate(perMille))
            {
                errors.Add($"Gateway:Tiers:{name}:Multiplier = {t.Multiplier} must be positive with at most 3 decimals.");
                continue;
            }
            if (t.PerMinute < 0 || t.PerHour < 0 || t.PerDay < 0 || t.PerMonth < 0)
                errors.Add($"Gateway:Tiers:{name}: limits must be 0 (unlimited) or positive.");
            Millicredits? cap = null;
            if (t.MonthlyCap < 0 || !Millicredits.TryFromCredits(t.MonthlyCap, out var capMc))
                errors.Add($"Gateway:Tiers:{name}:MonthlyCap = {t.MonthlyCap} is not a valid amount.");
            else if (capMc.Value > 0) cap = capMc;
            yield return new TierDefinition(name.ToLowerInvariant(), t.Multiplier, (long)perMille,
                t.PerMinute, t.PerHour, t.PerDay, t.PerMonth, cap);
        }
    }

    public static bool TryParseSize(string size, out int width, out int height)
    {
        width = height = 0;
        var x = size.IndexOf('x');
        return x > 0
            && int.TryParse(size.AsSpan(0, x), System.Globalization.NumberStyles.None, null, out width)
            && int.TryParse(size.AsSpan(x + 1), System.Globalization.NumberStyles.None, null, out height)
            && width > 0 && height > 0;
    }
}
