using System.Collections.Frozen;
using ImageGateway.Billing;
using Microsoft.Extensions.Options;

namespace ImageGateway.Catalog;

public sealed record TierDefinition(
    string Name,
    decimal Multiplier,
    long MultiplierPerMille,
    int PerMinute,
    int PerHour,
    int PerDay,
    int PerMonth,
    Millicredits? MonthlyCap)
{
    /// <summary>×1: base prices, as the catalog shows them before a tier is applied.</summary>
    public static readonly TierDefinition Base = new("base", 1m, 1000, 0, 0, 0, 0, null);
}

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

    /// <summary>
    /// Prices that would lose money (DESIGN §12.1): a retired model's per-image base price below the
    /// most its successor may cost for that image (the successor's token price over its hold table,
    /// prompt aside). One line per model, naming it and its worst row.
    /// </summary>
    public IEnumerable<string> PriceWarnings()
    {
        foreach (var model in Models)
        {
            if (model.Successor is not { } successor || model.TokenPrice is not null || !TryGetModel(successor.Model, out var next)
                || next.TokenPrice is not { } price)
                continue;
            var losing = (from quality in model.Qualities
                          from size in model.FixedSizes
                          let charged = model.BasePrice(quality, size)!.Value
                          let cost = price.Cost(price.Bound(successor.Quality(quality), next.PricedPixels(successor.Size(size)), 1, 0), TierDefinition.Base)
                          where charged < cost
                          orderby (cost - charged).Value descending
                          select (quality, size, charged, cost)).ToArray();
            if (losing.Length == 0) continue;
            var (q, s, c, worst) = losing[0];
            yield return $"Model {model.Id}: {losing.Length} of its prices are below what {next.Id} may cost for them; worst {q} {s} "
                + $"is priced {c} credits but may cost up to {worst} credits ({successor.Quality(q)} {successor.Size(s)} at {next.Id}'s token price). "
                + $"Raise Gateway:Pricing:{model.Id} or change the successor's mapping.";
        }
    }

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
        var own = options.Models.ToDictionary(p => p.Key, p => BuildModel(p.Key, p.Value, options, errors), StringComparer.OrdinalIgnoreCase);
        foreach (var (id, model) in own)
        {
            if (model.Successor is not { } successor)
            {
                yield return model;
                continue;
            }
            var where = $"Gateway:Models:{id}:Successor";
            if (!own.TryGetValue(successor.Model, out var next))
                errors.Add($"{where}:Model '{successor.Model}' is not a configured model.");
            else if (next.Successor is not null)
                errors.Add($"{where}:Model '{successor.Model}' is retired itself; name the model that serves it.");
            else
            {
                foreach (var size in successor.Sizes.Values.Where(size => !next.AcceptsSize(size, out _, out _)))
                    errors.Add($"{where}:Sizes maps to '{size}', which {next.Id} does not take.");
                foreach (var quality in model.Qualities.Select(successor.Quality).Where(q => !next.Qualities.Contains(q)))
                    errors.Add($"{where}:Qualities maps to '{quality}', which {next.Id} does not take.");
            }
            // A retired model without a price of its own is priced as its successor.
            var inherits = model.TokenPrice is null && model.BasePrices.Count == 0 && next is not null;
            if (inherits && next!.TokenPrice is null)
                errors.Add($"Gateway:Pricing:{id} is missing: {id} can only take its successor's price when that is per token.");
            yield return inherits ? model with { TokenPrice = next!.TokenPrice } : model;
        }
    }

    private static ModelDefinition BuildModel(string id, ModelOptions m, CatalogOptions options, List<string> errors)
    {
        var where = $"Gateway:Models:{id}";
        if (m.Sizes.Count == 0) errors.Add($"{where}:Sizes is empty.");
        foreach (var size in m.Sizes)
            if (size != ModelDefinition.AutoSize && !TryParseSize(size, out _, out _))
                errors.Add($"{where}:Sizes has '{size}', expected WIDTHxHEIGHT or auto.");
        if (m.Sizes.Count > 0 && m.Sizes.All(size => size == ModelDefinition.AutoSize))
            errors.Add($"{where}:Sizes needs at least one WIDTHxHEIGHT besides auto.");
        var qualities = m.Qualities.Count > 0 ? m.Qualities.ToArray() : ["standard"];
        var defaultQuality = m.DefaultQuality ?? qualities[0];
        if (!qualities.Contains(defaultQuality)) errors.Add($"{where}:DefaultQuality '{defaultQuality}' is not in Qualities.");
        if (m.MaxN is < 1 or > 10) errors.Add($"{where}:MaxN must be 1-10.");
        if (m.MaxPromptLength < 1) errors.Add($"{where}:MaxPromptLength must be positive.");
        if (m.Family is not (null or "" or ModelDefinition.GptImageFamily))
            errors.Add($"{where}:Family '{m.Family}' is unknown; use {ModelDefinition.GptImageFamily} or leave it out.");
        CheckValues(errors, $"{where}:OutputFormats", m.OutputFormats, "png", "jpeg", "webp");
        CheckValues(errors, $"{where}:Backgrounds", m.Backgrounds, "transparent", "opaque", "auto");
        CheckValues(errors, $"{where}:Moderations", m.Moderations, "low", "auto");
        CheckValues(errors, $"{where}:InputFidelities", m.InputFidelities, "high", "low");
        if (m.CustomSizes is { } rule && (rule.MultipleOf < 1 || rule.MaxEdge < 1 || rule.MaxPixels < 1 || rule.MaxAspectRatio < 1))
            errors.Add($"{where}:CustomSizes: MultipleOf, MaxEdge and MaxPixels must be positive and MaxAspectRatio at least 1.");

        var successor = string.IsNullOrEmpty(m.Successor?.Model) ? null
            : new Successor(m.Successor.Model, m.Successor.Qualities, m.Successor.Sizes, m.Successor.Ignore.ToArray());
        var tokenPrice = options.TokenPricing.TryGetValue(id, out var tokens) ? BuildTokenPrice(id, tokens, qualities, errors) : null;
        var prices = BuildPriceTable(id, options, errors);
        if (tokenPrice is not null && prices.Count > 0)
            errors.Add($"Gateway:Pricing:{id} and Gateway:TokenPricing:{id} are both set: a model is priced per image or per token.");
        else if (tokenPrice is null && prices.Count == 0 && successor is null)
            errors.Add($"Gateway:Pricing:{id} is missing: every model needs a price (Pricing, or TokenPricing per token).");

        var model = new ModelDefinition(id, m.Sizes.ToArray(), qualities, defaultQuality, m.Styles.ToArray(),
            m.MaxN, m.MaxPromptLength, m.OwnedBy ?? "image-gateway", prices)
        {
            TokenPrice = tokenPrice,
            Family = string.IsNullOrEmpty(m.Family) ? null : m.Family,
            CustomSizes = m.CustomSizes,
            OutputFormats = m.OutputFormats.ToArray(),
            Backgrounds = m.Backgrounds.ToArray(),
            Moderations = m.Moderations.ToArray(),
            Successor = successor,
            Edits = m.Edits,
            Variations = m.Variations,
            Streaming = m.Streaming,
            InputFidelities = m.InputFidelities.ToArray(),
        };
        if (prices.Count > 0)
            foreach (var quality in qualities)
                foreach (var size in model.FixedSizes)
                    if (model.BasePrice(quality, size) is null)
                        errors.Add($"Gateway:Pricing:{id}:{quality}:{size} is missing.");
        if (prices.Count > 0 && (m.Sizes.Contains(ModelDefinition.AutoSize) || m.CustomSizes is not null))
            errors.Add($"{where}: size auto and CustomSizes need a per-token price (a per-image table has no row for them).");
        return model;
    }

    private static Dictionary<string, IReadOnlyDictionary<string, Millicredits>> BuildPriceTable(string id, CatalogOptions options, List<string> errors)
    {
        var prices = new Dictionary<string, IReadOnlyDictionary<string, Millicredits>>(StringComparer.Ordinal);
        if (!options.Pricing.TryGetValue(id, out var table)) return prices;
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
        return prices;
    }

    private static TokenPrice? BuildTokenPrice(string id, TokenPricingOptions o, IReadOnlyList<string> qualities, List<string> errors)
    {
        var where = $"Gateway:TokenPricing:{id}";
        var rates = new List<long>();
        foreach (var (name, credits) in new[] { ("TextInput", o.TextInput), ("ImageInput", o.ImageInput), ("ImageOutput", o.ImageOutput) })
        {
            if (credits < 0 || !Millicredits.TryFromCredits(credits, out var mc))
            {
                errors.Add($"{where}:{name} = {credits} is not a non-negative number of credits per million tokens with at most 3 decimals.");
                mc = Millicredits.Zero;
            }
            rates.Add(mc.Value);
        }
        foreach (var quality in qualities.Where(q => !o.OutputTokens.ContainsKey(q)))
            errors.Add($"{where}:OutputTokens:{quality} is missing: the hold needs each quality's output tokens at 1024x1024.");
        foreach (var (quality, tokens) in o.OutputTokens.Where(p => p.Value < 0))
            errors.Add($"{where}:OutputTokens:{quality} = {tokens} must not be negative.");
        if (o.HoldPercent < 100) errors.Add($"{where}:HoldPercent = {o.HoldPercent} must be at least 100.");
        foreach (var (fidelity, tokens) in o.InputImageTokens.Where(p => p.Value < 0))
            errors.Add($"{where}:InputImageTokens:{fidelity} = {tokens} must not be negative.");
        return new TokenPrice(rates[0], rates[1], rates[2], new Dictionary<string, long>(o.OutputTokens, StringComparer.Ordinal), o.HoldPercent)
        {
            InputImageTokens = new Dictionary<string, long>(o.InputImageTokens, StringComparer.Ordinal),
        };
    }

    private static void CheckValues(List<string> errors, string where, List<string> values, params string[] allowed)
    {
        foreach (var value in values.Where(v => !allowed.Contains(v)))
            errors.Add($"{where} has '{value}'; allowed: {string.Join(", ", allowed)}.");
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
