using ImageGateway.Billing;
using ImageGateway.Catalog;
using ImageGateway.Hosting;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Catalog;

/// <summary>
/// DESIGN §2: base prices × tier multiplier, exactly, in millicredits. The expected tables below are
/// written out by hand from DESIGN.md; they are deliberately not read from the configuration under test.
/// </summary>
public sealed class PricingTests
{
    // DESIGN §2 base price table: (model, quality, size, credits per image).
    internal static readonly (string Model, string Quality, string Size, decimal Credits)[] BaseTable =
    [
        ("dall-e-3", "standard", "1024x1024", 40m),
        ("dall-e-3", "standard", "1792x1024", 80m),
        ("dall-e-3", "standard", "1024x1792", 80m),
        ("dall-e-3", "hd", "1024x1024", 80m),
        ("dall-e-3", "hd", "1792x1024", 120m),
        ("dall-e-3", "hd", "1024x1792", 120m),

        ("dall-e-2", "standard", "256x256", 16m),
        ("dall-e-2", "standard", "512x512", 16m),
        ("dall-e-2", "standard", "1024x1024", 18m),

        ("stable-diffusion-xl", "standard", "512x512", 2m),
        ("stable-diffusion-xl", "standard", "1024x1024", 5m),
        ("stable-diffusion-xl", "standard", "1536x1536", 8m),

        ("stable-diffusion-3", "standard", "512x512", 3m),
        ("stable-diffusion-3", "standard", "1024x1024", 6m),
        ("stable-diffusion-3", "standard", "1536x1536", 10m),

        ("builtin-preview", "standard", "256x256", 1m),
        ("builtin-preview", "standard", "512x512", 1m),
        ("builtin-preview", "standard", "1024x1024", 1m),
        ("builtin-preview", "standard", "1536x1536", 1m),
        ("builtin-preview", "standard", "1792x1024", 1m),
        ("builtin-preview", "standard", "1024x1792", 1m),
        ("builtin-preview", "standard", "1536x1024", 1m),
        ("builtin-preview", "standard", "1024x1536", 1m),

        // Google's price per image: $0.067 at 1K (standard), $0.101 at 2K (hd); Pro $0.134 at both.
        .. Gateway("gemini-3.1-flash-image", 67m, 101m),
        .. Gateway("gemini-3-pro-image", 134m, 134m),

        // BFL's FLUX.2 [pro] per megapixel (2^20 pixels, rounded up): 3 cents the first, 1.5 each further.
        ("flux-2-pro", "standard", "1024x1024", FluxTwoPro(1024, 1024)),
        ("flux-2-pro", "standard", "1536x1024", FluxTwoPro(1536, 1024)),
        ("flux-2-pro", "standard", "1024x1536", FluxTwoPro(1024, 1536)),
        ("flux-2-pro", "standard", "2048x2048", FluxTwoPro(2048, 2048)),

        // $0.04 an image on both BFL and Replicate; flux-schnell $0.003 on Replicate.
        .. new[] { "1024x1024", "1440x960", "960x1440", "1440x800", "800x1440" }.Select(size => ("flux-1.1-pro", "standard", size, 40m)),
        .. new[] { "1024x1024", "1344x768", "768x1344" }.Select(size => ("flux-schnell", "standard", size, 3m)),
    ];

    private static IEnumerable<(string, string, string, decimal)> Gateway(string model, decimal standard, decimal hd) =>
        new[] { "1024x1024", "1536x1024", "1024x1536", "1792x1024", "1024x1792" }
            .SelectMany(size => new[] { (model, "standard", size, standard), (model, "hd", size, hd) });

    private static decimal FluxTwoPro(int width, int height)
    {
        var megapixels = (int)Math.Ceiling(width * (double)height / (1 << 20));
        return 30m + 15m * (megapixels - 1);
    }

    // DESIGN §2 tier table: multipliers.
    internal static readonly (string Tier, decimal Multiplier)[] TierTable =
    [
        ("free", 1.5m),
        ("starter", 1.2m),
        ("professional", 1.2m),
        ("managed", 1.2m),
        ("enterprise", 1.2m),
        ("vip_founder", 1.0m),
        ("byok", 1.0m),
    ];

    public static TheoryData<string, string, string, string, decimal, decimal> EveryPriceForEveryTier()
    {
        var data = new TheoryData<string, string, string, string, decimal, decimal>();
        foreach (var (model, quality, size, credits) in BaseTable)
            foreach (var (tier, multiplier) in TierTable)
                data.Add(model, quality, size, tier, credits, multiplier);
        return data;
    }

    private static ModelCatalog Catalog => CatalogFixture.Default;

    [Theory]
    [MemberData(nameof(EveryPriceForEveryTier))]
    public void Quote_for_one_image_is_base_price_times_tier_multiplier_exactly(
        string modelId, string quality, string size, string tierName, decimal baseCredits, decimal multiplier)
    {
        Assert.True(Catalog.TryGetModel(modelId, out var model), $"model {modelId} missing from the catalog");
        var basePrice = model.BasePrice(quality, size);
        Assert.NotNull(basePrice);
        Assert.Equal(baseCredits, basePrice!.Value.Credits);
        Assert.Equal(baseCredits * 1000m, basePrice.Value.Value);

        var tier = Catalog.GetTier(tierName);
        var quote = ModelCatalog.Quote(basePrice.Value, 1, tier);

        var expected = baseCredits * multiplier;
        Assert.Equal(expected, quote.Credits);
        Assert.Equal(expected * 1000m, quote.Value);
    }

    // DESIGN §12.1: the models priced per token, all at gpt-image-2's price.
    private static readonly string[] TokenModels = ["gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5", "gpt-image-2"];

    [Fact]
    public void Catalog_contains_exactly_the_designed_models_with_prices_for_every_quality_and_size()
    {
        var expectedModels = BaseTable.Select(r => r.Model).Concat(TokenModels).Distinct().OrderBy(m => m, StringComparer.Ordinal).ToArray();
        Assert.Equal(expectedModels, Catalog.Models.Select(m => m.Id).ToArray());

        foreach (var model in Catalog.Models.Where(m => !TokenModels.Contains(m.Id)))
        {
            Assert.Equal("per_image", model.Pricing);
            var expectedCombos = BaseTable.Where(r => r.Model == model.Id)
                .Select(r => (r.Quality, r.Size)).OrderBy(c => c).ToArray();
            var catalogCombos = model.Qualities.SelectMany(q => model.Sizes.Select(s => (q, s))).OrderBy(c => c).ToArray();
            Assert.Equal(expectedCombos, catalogCombos);
        }
    }

    [Fact]
    public void Catalog_contains_exactly_the_designed_tiers_and_multipliers()
    {
        var actual = Catalog.Tiers.Select(t => (t.Name, t.Multiplier)).OrderBy(t => t.Name, StringComparer.Ordinal).ToArray();
        var expected = TierTable.OrderBy(t => t.Tier, StringComparer.Ordinal).ToArray();
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i].Tier, actual[i].Name);
            Assert.Equal(expected[i].Multiplier, actual[i].Multiplier);
            Assert.Equal(expected[i].Multiplier * 1000m, Catalog.GetTier(expected[i].Tier).MultiplierPerMille);
        }
    }

    [Theory]
    [InlineData("gpt-image-2")]
    [InlineData("gpt-image-1")]
    [InlineData("gpt-image-1.5")]
    [InlineData("gpt-image-1-mini")]
    public void Gpt_image_models_are_priced_per_token_at_5_8_and_30_thousand_credits_per_million(string id)
    {
        Assert.True(Catalog.TryGetModel(id, out var model));
        Assert.Equal("per_token", model.Pricing);
        Assert.Empty(model.BasePrices);
        var price = model.TokenPrice!;
        // Millicredits per million tokens: $5 / $8 / $30 per 1M = 5,000 / 8,000 / 30,000 credits.
        Assert.Equal((5_000_000L, 8_000_000L, 30_000_000L), (price.TextInputPerMillion, price.ImageInputPerMillion, price.ImageOutputPerMillion));
        Assert.Equal(new Dictionary<string, long> { ["low"] = 200, ["medium"] = 1767, ["high"] = 7033, ["auto"] = 7033 }, price.OutputTokens);
        Assert.Equal(125, price.HoldPercent);
        Assert.Equal("auto", model.DefaultQuality);
    }

    [Fact]
    public void Worked_check_managed_usage_50_text_and_1767_image_out_is_63_912_credits()
    {
        Assert.True(Catalog.TryGetModel("gpt-image-2", out var model));
        var cost = model.TokenPrice!.Cost(new ImageGateway.Providers.TokenUsage(50, 0, 1767), Catalog.GetTier("managed"));
        Assert.Equal(63_912, cost.Value); // (50 × 5 + 1,767 × 30) millicredits × 1.2
    }

    [Theory]
    // tokens, text/image-in/out, tier → millicredits, worked by hand: Σ tokens × credits-per-million ÷ 1,000 × multiplier, rounded up once.
    [InlineData(1, 0, 0, "vip_founder", 5)]              // 1 × 5 = 5
    [InlineData(0, 1, 0, "vip_founder", 8)]
    [InlineData(0, 0, 1, "free", 45)]                    // 30 × 1.5
    [InlineData(1, 1, 1, "managed", 52)]                 // (5 + 8 + 30) × 1.2 = 51.6 → 52
    [InlineData(33, 0, 0, "managed", 198)]               // 165 × 1.2 = 198 exactly
    [InlineData(0, 0, 7033, "free", 316_485)]            // 210,990 × 1.5
    [InlineData(120, 1000, 272, "starter", 20_112)]      // (600 + 8,000 + 8,160) × 1.2
    public void Token_cost_is_exact_integer_arithmetic_rounded_up_once(long text, long imageIn, long output, string tier, long expected)
    {
        Assert.True(Catalog.TryGetModel("gpt-image-2", out var model));
        Assert.Equal(expected, model.TokenPrice!.Cost(new ImageGateway.Providers.TokenUsage(text, imageIn, output), Catalog.GetTier(tier)).Value);
    }

    // --- DESIGN §2 worked examples ---

    private static decimal QuoteCredits(string modelId, string quality, string size, string tier, int n = 1)
    {
        Assert.True(Catalog.TryGetModel(modelId, out var model));
        return ModelCatalog.Quote(model.BasePrice(quality, size)!.Value, n, Catalog.GetTier(tier)).Credits;
    }

    [Fact]
    public void Managed_dall_e_3_standard_1024_costs_48() =>
        Assert.Equal(48m, QuoteCredits("dall-e-3", "standard", "1024x1024", "managed"));

    [Fact]
    public void Managed_dall_e_3_hd_1024_costs_96() =>
        Assert.Equal(96m, QuoteCredits("dall-e-3", "hd", "1024x1024", "managed"));

    [Fact]
    public void Managed_dall_e_2_1024_costs_21_point_6_not_rounded_to_22()
    {
        var cost = QuoteCredits("dall-e-2", "standard", "1024x1024", "managed");
        Assert.Equal(21.6m, cost);
        Assert.NotEqual(22m, cost);
    }

    [Fact]
    public void Managed_sdxl_1024_costs_6() =>
        Assert.Equal(6m, QuoteCredits("stable-diffusion-xl", "standard", "1024x1024", "managed"));

    [Fact]
    public void Free_sdxl_1024_costs_7_point_5() =>
        Assert.Equal(7.5m, QuoteCredits("stable-diffusion-xl", "standard", "1024x1024", "free"));

    // --- n scaling and rounding ---

    [Theory]
    [InlineData("dall-e-3", "standard", "1024x1024", "managed", 144)]
    [InlineData("dall-e-2", "standard", "1024x1024", "managed", 64.8)]
    [InlineData("stable-diffusion-xl", "standard", "1024x1024", "free", 22.5)]
    public void Quote_for_three_images_is_three_times_one_image(string model, string quality, string size, string tier, decimal expected)
    {
        var one = QuoteCredits(model, quality, size, tier, 1);
        var three = QuoteCredits(model, quality, size, tier, 3);
        Assert.Equal(expected, three);
        Assert.Equal(3 * one, three);
    }

    [Fact]
    public void Quote_for_ten_images_scales_linearly()
    {
        Assert.Equal(480m, QuoteCredits("dall-e-3", "standard", "1024x1024", "managed", 10));
        Assert.Equal(10m, QuoteCredits("builtin-preview", "standard", "256x256", "byok", 10));
    }

    private static TierDefinition CustomTier(decimal multiplier) =>
        new("custom", multiplier, (long)(multiplier * 1000m), 0, 0, 0, 0, null);

    [Fact]
    public void Quote_rounds_a_sub_millicredit_product_up()
    {
        // 1 mc × 1.001 = 1.001 mc → 2 mc (never below the published price).
        Assert.Equal(2, ModelCatalog.Quote(new Millicredits(1), 1, CustomTier(1.001m)).Value);
        // 7 mc × 1.333 = 9.331 mc → 10 mc.
        Assert.Equal(10, ModelCatalog.Quote(new Millicredits(7), 1, CustomTier(1.333m)).Value);
        // 7 mc × 1.5 = 10.5 mc → 11 mc.
        Assert.Equal(11, ModelCatalog.Quote(new Millicredits(7), 1, CustomTier(1.5m)).Value);
    }

    [Fact]
    public void Quote_does_not_round_an_exact_product()
    {
        // 5 credits × 1.333 = 6.665 credits, exactly 6665 mc.
        Assert.Equal(6665, ModelCatalog.Quote(Millicredits.FromCredits(5m), 1, CustomTier(1.333m)).Value);
        Assert.Equal(7, ModelCatalog.Quote(new Millicredits(7), 1, CustomTier(1m)).Value);
        Assert.Equal(0, ModelCatalog.Quote(Millicredits.Zero, 4, CustomTier(1.5m)).Value);
    }

    [Fact]
    public void Quote_rounds_the_total_for_n_images_once_not_per_image()
    {
        // 7 mc × 3 × 1.333 = 27.993 mc → 28 mc (per-image rounding would give 30).
        Assert.Equal(28, ModelCatalog.Quote(new Millicredits(7), 3, CustomTier(1.333m)).Value);
    }

    [Fact]
    public void Custom_multiplier_from_configuration_is_applied_and_rounded_up()
    {
        var options = CatalogFixture.MinimalOptions(multiplier: 1.001m);
        options.Pricing["m"]["standard"]["512x512"] = 0.001m;
        var catalog = new ModelCatalog(options);
        Assert.True(catalog.TryGetModel("m", out var model));
        var tier = catalog.GetTier("t");
        Assert.Equal(1001, tier.MultiplierPerMille);
        Assert.Equal(2, ModelCatalog.Quote(model.BasePrice("standard", "512x512")!.Value, 1, tier).Value);
        Assert.Equal(4004, ModelCatalog.Quote(model.BasePrice("hd", "1024x1024")!.Value, 1, tier).Value);
    }

    // --- configuration validation ---

    [Fact]
    public void Minimal_configuration_is_accepted()
    {
        var catalog = new ModelCatalog(CatalogFixture.MinimalOptions());
        Assert.Single(catalog.Models);
        Assert.True(catalog.TryGetTier("t", out _));
    }

    private static string CatalogError(CatalogOptions options) =>
        Assert.Throws<InvalidOperationException>(() => new ModelCatalog(options)).Message;

    [Fact]
    public void Catalog_rejects_a_model_without_any_pricing_naming_the_setting()
    {
        var options = CatalogFixture.MinimalOptions();
        options.Pricing.Remove("m");
        Assert.Contains("Gateway:Pricing:m", CatalogError(options));
    }

    [Fact]
    public void Catalog_rejects_a_missing_price_for_one_quality_and_size_naming_it()
    {
        var options = CatalogFixture.MinimalOptions();
        options.Pricing["m"]["hd"].Remove("1024x1024");
        Assert.Contains("Gateway:Pricing:m:hd:1024x1024", CatalogError(options));
    }

    [Fact]
    public void Catalog_rejects_a_missing_quality_price_table_naming_it()
    {
        var options = CatalogFixture.MinimalOptions();
        options.Pricing["m"].Remove("hd");
        var message = CatalogError(options);
        Assert.Contains("Gateway:Pricing:m:hd:512x512", message);
        Assert.Contains("Gateway:Pricing:m:hd:1024x1024", message);
    }

    [Fact]
    public void Catalog_rejects_a_price_with_more_than_three_decimals_naming_it()
    {
        var options = CatalogFixture.MinimalOptions();
        options.Pricing["m"]["standard"]["512x512"] = 1.0005m;
        Assert.Contains("Gateway:Pricing:m:standard:512x512", CatalogError(options));
    }

    [Fact]
    public void Catalog_rejects_a_negative_price_naming_it()
    {
        var options = CatalogFixture.MinimalOptions();
        options.Pricing["m"]["hd"]["512x512"] = -1m;
        Assert.Contains("Gateway:Pricing:m:hd:512x512", CatalogError(options));
    }

    [Theory]
    [InlineData("1.0001")]
    [InlineData("1.2345")]
    [InlineData("0")]
    [InlineData("-1.2")]
    public void Catalog_rejects_a_bad_multiplier_naming_the_setting(string multiplier)
    {
        var options = CatalogFixture.MinimalOptions(decimal.Parse(multiplier, System.Globalization.CultureInfo.InvariantCulture));
        var message = CatalogError(options);
        Assert.Contains("Gateway:Tiers:t:Multiplier", message);
    }

    [Fact]
    public void Catalog_accepts_a_multiplier_with_exactly_three_decimals()
    {
        var catalog = new ModelCatalog(CatalogFixture.MinimalOptions(1.125m));
        Assert.Equal(1125, catalog.GetTier("t").MultiplierPerMille);
    }

    [Fact]
    public void Catalog_rejects_an_unknown_default_quality_naming_the_setting()
    {
        var options = CatalogFixture.MinimalOptions();
        options.Models["m"].DefaultQuality = "ultra";
        var message = CatalogError(options);
        Assert.Contains("Gateway:Models:m:DefaultQuality", message);
        Assert.Contains("ultra", message);
    }

    [Fact]
    public void Catalog_rejects_a_malformed_size_naming_the_setting()
    {
        var options = CatalogFixture.MinimalOptions();
        options.Models["m"].Sizes.Add("big");
        Assert.Contains("Gateway:Models:m:Sizes", CatalogError(options));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(11)]
    public void Catalog_rejects_max_n_outside_1_to_10_naming_the_setting(int maxN)
    {
        var options = CatalogFixture.MinimalOptions();
        options.Models["m"].MaxN = maxN;
        Assert.Contains("Gateway:Models:m:MaxN", CatalogError(options));
    }

    [Fact]
    public void Catalog_reports_every_configuration_error_at_once()
    {
        var options = CatalogFixture.MinimalOptions(1.0001m);
        options.Models["m"].DefaultQuality = "ultra";
        options.Pricing["m"]["hd"].Remove("512x512");
        var message = CatalogError(options);
        Assert.Contains("Gateway:Tiers:t:Multiplier", message);
        Assert.Contains("Gateway:Models:m:DefaultQuality", message);
        Assert.Contains("Gateway:Pricing:m:hd:512x512", message);
    }

    [Fact]
    public void Catalog_rejects_an_empty_configuration()
    {
        var message = CatalogError(new CatalogOptions());
        Assert.Contains("Gateway:Models", message);
        Assert.Contains("Gateway:Tiers", message);
    }
}

/// <summary>DESIGN §12.1: start-up warns about a retired model's per-image price below what its successor may cost.</summary>
public sealed class PriceWarningTests
{
    [Fact]
    public void The_shipped_prices_raise_no_warning() =>
        Assert.Empty(CatalogFixture.Default.PriceWarnings());

    [Fact]
    public void A_price_below_the_successors_worst_case_is_named_with_its_worst_row()
    {
        var options = CatalogFixture.LoadDefaultOptions();
        options.Pricing["dall-e-3"]["hd"]["1792x1024"] = 100m;
        options.Pricing["dall-e-3"]["hd"]["1024x1024"] = 60m;

        var warning = Assert.Single(new ModelCatalog(options).PriceWarnings());

        // hd → medium at 1792x1024: 1,767 × 1.75 → 3,093 tokens, × 1.25 → 3,867, × 30 millicredits = 116.01 credits.
        // hd 1024x1024: 2,209 × 30 = 66.27 credits, above 60 but by less.
        Assert.StartsWith("Model dall-e-3: 2 of its prices", warning);
        Assert.Contains("worst hd 1792x1024 is priced 100 credits but may cost up to 116.01 credits", warning);
        Assert.Contains("Gateway:Pricing:dall-e-3", warning);
    }

    [Fact]
    public void The_gateway_logs_the_warning_at_start_up()
    {
        using var gateway = new GatewayFactory();
        gateway.Settings["Gateway:Pricing:dall-e-2:standard:512x512"] = "0.5";
        gateway.Settings["Gateway:Pricing:dall-e-2:standard:256x256"] = "7.499"; // gpt-image-2 low 1024x1024 may cost 7.5
        using var client = gateway.CreateClient();

        Assert.Contains(gateway.Logs.Lines, l => l.Contains("Model dall-e-2: 2 of its prices are below what gpt-image-2 may cost"));
    }
}
