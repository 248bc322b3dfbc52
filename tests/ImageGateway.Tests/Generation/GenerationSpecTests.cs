using ImageGateway.Catalog;
using ImageGateway.Generation;
using ImageGateway.Http;
using ImageGateway.Tests.Catalog;

namespace ImageGateway.Tests.Generation;

/// <summary>DESIGN §1.1 field rules, applied to an already-parsed request against the default catalog.</summary>
public sealed class GenerationSpecTests
{
    private static ModelCatalog Catalog => CatalogFixture.Default;

    private static GenerationSpec Valid(GenerateRequest request)
    {
        var (spec, error) = GenerationSpec.Validate(request, Catalog);
        Assert.True(error is null, $"expected valid, got {error?.Param}: {error?.Message}");
        Assert.NotNull(spec);
        return spec!;
    }

    private static ApiError Invalid(GenerateRequest request, string param)
    {
        var (spec, error) = GenerationSpec.Validate(request, Catalog);
        Assert.Null(spec);
        Assert.NotNull(error);
        Assert.Equal(400, error!.Status);
        Assert.Equal("invalid_request_error", error.Type);
        Assert.Equal(param, error.Param);
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
        return error;
    }

    private static GenerateRequest Req(string? prompt = "a cat", string? model = null) => new(Prompt: prompt, Model: model);

    // --- prompt ---

    [Fact]
    public void Missing_prompt_is_400_naming_prompt()
    {
        var error = Invalid(new GenerateRequest(), "prompt");
        Assert.Equal("missing_required_parameter", error.Code);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("\t\n  \r\n")]
    public void Blank_prompt_is_400_naming_prompt(string prompt) => Invalid(Req(prompt), "prompt");

    [Theory]
    [InlineData("dall-e-2", 1000)]
    [InlineData("dall-e-3", 4000)]
    [InlineData("gpt-image-1", 32000)]
    [InlineData("stable-diffusion-xl", 4000)]
    [InlineData("stable-diffusion-3", 4000)]
    [InlineData("builtin-preview", 4000)]
    public void Prompt_at_the_model_limit_is_accepted_and_one_more_is_400(string model, int limit)
    {
        var atLimit = Valid(Req(new string('a', limit), model));
        Assert.Equal(limit, atLimit.Prompt.Length);

        var error = Invalid(Req(new string('a', limit + 1), model), "prompt");
        Assert.Contains(limit.ToString(System.Globalization.CultureInfo.InvariantCulture), error.Message);
    }

    [Fact]
    public void Prompt_limit_applies_to_the_default_model_dall_e_3()
    {
        Valid(Req(new string('x', 4000)));
        Invalid(Req(new string('x', 4001)), "prompt");
    }

    [Fact]
    public void Prompt_is_passed_through_unchanged()
    {
        Assert.Equal("  a cat in a hat ", Valid(Req("  a cat in a hat ")).Prompt);
    }

    // --- model ---

    [Fact]
    public void Model_defaults_to_dall_e_3()
    {
        var spec = Valid(Req());
        Assert.Equal("dall-e-3", spec.Model.Id);
        Assert.Equal("dall-e-3", GenerationSpec.DefaultModel);
    }

    [Theory]
    [InlineData("dall-e-4")]
    [InlineData("")]
    [InlineData("midjourney")]
    [InlineData("dall-e-3 ")]
    public void Unknown_model_is_400_naming_model(string model) => Invalid(Req(model: model), "model");

    [Fact]
    public void Unknown_model_message_lists_the_available_models()
    {
        var error = Invalid(Req(model: "nope"), "model");
        Assert.Contains("dall-e-3", error.Message);
        Assert.Contains("builtin-preview", error.Message);
    }

    [Fact]
    public void Unknown_model_error_truncates_a_huge_model_name()
    {
        var error = Invalid(Req(model: new string('m', 10_000)), "model");
        Assert.True(error.Message.Length < 1000, $"message is {error.Message.Length} characters");
    }

    [Theory]
    [InlineData("dall-e-3")]
    [InlineData("dall-e-2")]
    [InlineData("stable-diffusion-xl")]
    [InlineData("stable-diffusion-3")]
    [InlineData("builtin-preview")]
    public void Every_per_image_model_accepts_a_minimal_request(string model)
    {
        var spec = Valid(Req(model: model));
        Assert.Equal(model, spec.Model.Id);
        Assert.Equal(1, spec.N);
        Assert.Equal("1024x1024", spec.Size);
        Assert.Equal(1024, spec.Width);
        Assert.Equal(1024, spec.Height);
        Assert.Equal(GenerationSpec.Url, spec.ResponseFormat);
        Assert.Equal(spec.Model.BasePrice(spec.Quality, spec.Size), spec.BasePrice);
    }

    // --- n ---

    [Fact]
    public void N_defaults_to_1() => Assert.Equal(1, Valid(Req()).N);

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(11)]
    [InlineData(int.MaxValue)]
    [InlineData(int.MinValue)]
    public void N_outside_1_to_10_is_400_naming_n(int n) => Invalid(Req() with { N = n }, "n");

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(10)]
    public void N_from_1_to_10_is_accepted_for_dall_e_3(int n) => Assert.Equal(n, Valid(Req() with { N = n }).N);

    // --- size ---

    public static TheoryData<string, string> ValidSizes() => new()
    {
        { "dall-e-3", "1024x1024" }, { "dall-e-3", "1792x1024" }, { "dall-e-3", "1024x1792" },
        { "dall-e-2", "256x256" }, { "dall-e-2", "512x512" }, { "dall-e-2", "1024x1024" },
        { "stable-diffusion-xl", "512x512" }, { "stable-diffusion-xl", "1024x1024" }, { "stable-diffusion-xl", "1536x1536" },
        { "stable-diffusion-3", "512x512" }, { "stable-diffusion-3", "1024x1024" }, { "stable-diffusion-3", "1536x1536" },
        { "gpt-image-1", "1024x1024" }, { "gpt-image-1", "1536x1024" }, { "gpt-image-1", "1024x1536" },
        { "builtin-preview", "256x256" }, { "builtin-preview", "512x512" }, { "builtin-preview", "1024x1024" },
        { "builtin-preview", "1536x1536" }, { "builtin-preview", "1792x1024" }, { "builtin-preview", "1024x1792" },
        { "builtin-preview", "1536x1024" }, { "builtin-preview", "1024x1536" },
    };

    [Theory]
    [MemberData(nameof(ValidSizes))]
    public void Size_of_the_model_is_accepted_with_its_dimensions(string model, string size)
    {
        var spec = Valid(Req(model: model) with { Size = size });
        Assert.Equal(size, spec.Size);
        Assert.Equal(size, $"{spec.Width}x{spec.Height}");
    }

    public static TheoryData<string, string> InvalidSizes() => new()
    {
        { "dall-e-3", "512x512" }, { "dall-e-3", "256x256" }, { "dall-e-3", "1536x1024" }, { "dall-e-3", "1536x1536" },
        { "dall-e-2", "1792x1024" }, { "dall-e-2", "1024x1792" }, { "dall-e-2", "1536x1536" },
        { "stable-diffusion-xl", "256x256" }, { "stable-diffusion-xl", "1792x1024" }, { "stable-diffusion-xl", "1536x1024" },
        { "stable-diffusion-3", "256x256" }, { "stable-diffusion-3", "1024x1792" }, { "stable-diffusion-3", "1024x1536" },
        { "gpt-image-1", "512x512" }, { "gpt-image-1", "1792x1024" }, { "gpt-image-1", "1536x1536" },
        { "builtin-preview", "2048x2048" }, { "builtin-preview", "100x100" },
        { "dall-e-3", "" }, { "dall-e-3", "1024X1024" }, { "dall-e-3", "1024x1024 " }, { "dall-e-3", "auto" },
        { "dall-e-3", "default" },
    };

    [Theory]
    [MemberData(nameof(InvalidSizes))]
    public void Size_not_offered_by_the_model_is_400_naming_size(string model, string size)
    {
        var error = Invalid(Req(model: model) with { Size = size }, "size");
        Assert.Contains(model, error.Message);
    }

    [Fact]
    public void Size_defaults_to_1024x1024() => Assert.Equal("1024x1024", Valid(Req(model: "dall-e-2")).Size);

    // --- quality ---

    [Theory]
    [InlineData("standard")]
    [InlineData("hd")]
    public void Dall_e_3_accepts_standard_and_hd(string quality) =>
        Assert.Equal(quality, Valid(Req(model: "dall-e-3") with { Quality = quality }).Quality);

    [Fact]
    public void Dall_e_3_quality_defaults_to_standard() => Assert.Equal("standard", Valid(Req(model: "dall-e-3")).Quality);

    [Fact]
    public void Dall_e_3_hd_is_priced_as_hd()
    {
        var spec = Valid(Req(model: "dall-e-3") with { Quality = "hd", Size = "1792x1024" });
        Assert.Equal(120m, spec.BasePrice.Credits);
    }

    [Theory]
    [InlineData("low")]
    [InlineData("medium")]
    [InlineData("high")]
    [InlineData("auto")]
    public void Gpt_image_1_accepts_low_medium_high_auto(string quality) =>
        Assert.Equal(quality, Valid(Req(model: "gpt-image-1") with { Quality = quality }).Quality);

    [Theory]
    [InlineData("gpt-image-2")]
    [InlineData("gpt-image-1")]
    [InlineData("gpt-image-1.5")]
    [InlineData("gpt-image-1-mini")]
    public void Gpt_image_models_default_to_size_auto_quality_auto_and_b64_json(string model)
    {
        var spec = Valid(Req(model: model));
        Assert.Equal(("auto", "auto", GenerationSpec.B64Json), (spec.Size, spec.Quality, spec.ResponseFormat));
        // auto holds as high at the largest listed size: 7,033 × 1.5 → 10,550 output tokens, × 1.25 → 13,188.
        var price = spec.Model.TokenPrice!;
        Assert.Equal(10_550, price.OutputTokensPerImage("auto", spec.Model.PricedPixels("auto")));
        Assert.Equal(new ImageGateway.Providers.TokenUsage(spec.PromptBytes, 0, 13_188),
            price.Bound(spec.Quality, spec.Model.PricedPixels(spec.Size), 1, spec.PromptBytes));
    }

    [Fact]
    public void Gpt_image_1_quality_auto_is_estimated_as_high()
    {
        var spec = Valid(Req(model: "gpt-image-1") with { Size = "1536x1024" });
        Assert.Equal("auto", spec.Quality);
        // 10,550 output tokens × 30 millicredits (30 credits per thousand), plus the prompt's bytes × 5.
        Assert.Equal(316_500 + spec.PromptBytes * 5, spec.BasePrice.Value);
    }

    [Theory]
    [InlineData("stable-diffusion-xl", "hd")]
    [InlineData("stable-diffusion-3", "hd")]
    [InlineData("dall-e-2", "hd")]
    [InlineData("builtin-preview", "hd")]
    [InlineData("dall-e-3", "low")]
    [InlineData("dall-e-3", "auto")]
    [InlineData("dall-e-3", "HD")]
    [InlineData("gpt-image-1", "standard")]
    [InlineData("gpt-image-1", "hd")]
    [InlineData("stable-diffusion-xl", "")]
    public void Quality_not_offered_by_the_model_is_400_naming_quality(string model, string quality) =>
        Invalid(Req(model: model) with { Quality = quality }, "quality");

    [Theory]
    [InlineData("dall-e-2")]
    [InlineData("stable-diffusion-xl")]
    [InlineData("stable-diffusion-3")]
    [InlineData("builtin-preview")]
    public void Models_without_qualities_accept_standard_or_absent(string model)
    {
        Assert.Equal("standard", Valid(Req(model: model)).Quality);
        Assert.Equal("standard", Valid(Req(model: model) with { Quality = "standard" }).Quality);
    }

    // --- style ---

    [Theory]
    [InlineData("vivid")]
    [InlineData("natural")]
    public void Dall_e_3_accepts_vivid_and_natural(string style) =>
        Assert.Equal(style, Valid(Req(model: "dall-e-3") with { Style = style }).Style);

    [Fact]
    public void Style_is_null_when_absent() => Assert.Null(Valid(Req()).Style);

    [Theory]
    [InlineData("dall-e-2", "vivid")]
    [InlineData("gpt-image-1", "natural")]
    [InlineData("stable-diffusion-xl", "vivid")]
    [InlineData("builtin-preview", "vivid")]
    public void Style_on_a_model_without_styles_is_400_naming_style(string model, string style)
    {
        var error = Invalid(Req(model: model) with { Style = style }, "style");
        Assert.Contains(model, error.Message);
    }

    [Theory]
    [InlineData("cinematic")]
    [InlineData("")]
    [InlineData("Vivid")]
    public void Invalid_style_on_dall_e_3_is_400_naming_style(string style) =>
        Invalid(Req(model: "dall-e-3") with { Style = style }, "style");

    // --- response_format ---

    [Theory]
    [InlineData("url")]
    [InlineData("b64_json")]
    public void Response_format_url_and_b64_json_are_accepted(string format) =>
        Assert.Equal(format, Valid(Req() with { ResponseFormat = format }).ResponseFormat);

    [Fact]
    public void Response_format_defaults_to_url() => Assert.Equal("url", Valid(Req()).ResponseFormat);

    [Theory]
    [InlineData("png")]
    [InlineData("b64")]
    [InlineData("URL")]
    [InlineData("")]
    [InlineData("base64")]
    public void Other_response_formats_are_400_naming_response_format(string format) =>
        Invalid(Req() with { ResponseFormat = format }, "response_format");

    // --- user ---

    [Fact]
    public void User_up_to_256_characters_is_kept()
    {
        Assert.Equal("end-user-42", Valid(Req() with { User = "end-user-42" }).User);
        Assert.Equal(256, Valid(Req() with { User = new string('u', 256) }).User!.Length);
        Assert.Null(Valid(Req()).User);
    }

    [Fact]
    public void User_longer_than_256_characters_is_400_naming_user() =>
        Invalid(Req() with { User = new string('u', 257) }, "user");

    // --- seed ---

    [Theory]
    [InlineData(0L)]
    [InlineData(42L)]
    [InlineData(4294967295L)]
    public void Seed_in_range_is_kept(long seed) => Assert.Equal(seed, Valid(Req(model: "builtin-preview") with { Seed = seed }).Seed);

    [Theory]
    [InlineData(-1L)]
    [InlineData(4294967296L)]
    [InlineData(long.MaxValue)]
    [InlineData(long.MinValue)]
    public void Seed_out_of_range_is_400_naming_seed(long seed) =>
        Invalid(Req(model: "builtin-preview") with { Seed = seed }, "seed");

    [Fact]
    public void Seed_is_null_when_absent() => Assert.Null(Valid(Req()).Seed);

    // --- everything together ---

    [Fact]
    public void Full_valid_request_is_carried_into_the_spec()
    {
        var spec = Valid(new GenerateRequest("a red fox", "dall-e-3", 3, "1024x1792", "hd", "natural", "b64_json", "u-1", 7));
        Assert.Equal("a red fox", spec.Prompt);
        Assert.Equal("dall-e-3", spec.Model.Id);
        Assert.Equal(3, spec.N);
        Assert.Equal("1024x1792", spec.Size);
        Assert.Equal(1024, spec.Width);
        Assert.Equal(1792, spec.Height);
        Assert.Equal("hd", spec.Quality);
        Assert.Equal("natural", spec.Style);
        Assert.Equal("b64_json", spec.ResponseFormat);
        Assert.Equal("u-1", spec.User);
        Assert.Equal(7, spec.Seed);
        Assert.Equal(120m, spec.BasePrice.Credits);
    }
}
