using System.Text;
using ImageGateway.Billing;
using ImageGateway.Catalog;
using ImageGateway.Http;
using ImageGateway.Providers;

namespace ImageGateway.Generation;

/// <summary>What a request asks of the model: a new image, an edit of the caller's images, or a variation of one.</summary>
public enum ImageOperation { Generate, Edit, Variation }

/// <summary>A generate request that passed every rule of its model: what will be priced and sent upstream.</summary>
public sealed record GenerationSpec(
    ModelDefinition Model,
    string Prompt,
    int N,
    string Size,
    int Width,
    int Height,
    string Quality,
    string? Style,
    string ResponseFormat,
    string? User,
    long? Seed,
    Millicredits BasePrice)
{
    public const string Url = "url";
    public const string B64Json = "b64_json";
    public const string DefaultModel = "dall-e-3";
    /// <summary>OpenAI's edit default (gpt-image-1.5) is retired; the model that serves it.</summary>
    public const string DefaultEditModel = "gpt-image-2";
    /// <summary>The only model that makes variations since dall-e-2 was shut down.</summary>
    public const string DefaultVariationModel = "builtin-preview";
    public const int MaxUserLength = 256;
    public const long MaxSeed = 4294967295;

    public string? OutputFormat { get; init; }
    public int? OutputCompression { get; init; }
    public string? Background { get; init; }
    public string? Moderation { get; init; }

    public ImageOperation Operation { get; init; }

    /// <summary>The caller's images, for an edit or a variation.</summary>
    public ImageUploads? Uploads { get; init; }

    public string? InputFidelity { get; init; }

    /// <summary>Answer as server-sent events, with <see cref="PartialImages"/> partial images first.</summary>
    public bool Stream { get; init; }

    public int PartialImages { get; init; }

    /// <summary>The bound on an edit's image-input tokens at a per-token price (0 otherwise).</summary>
    private long InputImageTokens => Model.TokenPrice is { } price && Uploads is { } uploads
        ? price.InputTokens(uploads.Images.Select(i => (i.Width, i.Height)), InputFidelity)
        : 0;

    /// <summary>The catalog model whose route serves the request: the successor of a retired model, else the model itself.</summary>
    public string RouteModel => Model.Successor?.Model ?? Model.Id;

    /// <summary>Fields the caller sent that the serving model does not take (a retired model's <c>style</c>): accepted, not forwarded.</summary>
    public IReadOnlyList<string> Ignored { get; init; } = [];

    /// <summary>The quality and size asked of the upstream, after a retired model's mapping.</summary>
    public string UpstreamQuality => Model.Successor?.Quality(Quality) ?? Quality;

    public string UpstreamSize => Model.Successor?.Size(Size) ?? Size;

    /// <summary>Whether the images must be scaled down to <see cref="Size"/> (the upstream made a larger size).</summary>
    public bool Downscale => UpstreamSize != Size;

    public int PromptBytes => Encoding.UTF8.GetByteCount(Prompt);

    /// <summary>What the request may cost at the caller's tier: the estimate and the hold.</summary>
    public PriceQuote Quote(TierDefinition tier) => Quote(tier, N);

    public PriceQuote Quote(TierDefinition tier, int images)
    {
        if (Model.TokenPrice is not { } price)
        {
            var cost = ModelCatalog.Quote(BasePrice, images, tier);
            return new PriceQuote(cost, cost);
        }
        var pixels = Model.PricedPixels(Size);
        return new PriceQuote(price.Cost(price.Estimate(Quality, pixels, images, PromptBytes, InputImageTokens), tier),
            price.Cost(price.Bound(Quality, pixels, images, PromptBytes, InputImageTokens), tier));
    }

    /// <summary>
    /// The charge for <paramref name="images"/> images made: a per-token model's reported usage, or
    /// its estimate when the upstream reported none (<paramref name="estimated"/> is then true).
    /// </summary>
    public (Millicredits Charge, bool Estimated) Charge(TierDefinition tier, int images, TokenUsage? usage) =>
        Model.TokenPrice is { } price && usage is not null ? (price.Cost(usage, tier), false)
            : (Quote(tier, images).Estimated, Model.TokenPrice is not null);

    /// <summary>The steps whose adapter can do what the request asks (an edit, a variation); any can generate, and streaming degrades to one event.</summary>
    public IReadOnlyList<RouteStep> Servable(IReadOnlyList<RouteStep> route) => Operation switch
    {
        ImageOperation.Edit => route.Where(s => s.Provider.Adapter.CanEdit(s.UpstreamModel)).ToArray(),
        ImageOperation.Variation => route.Where(s => s.Provider.Adapter.CanVary(s.UpstreamModel)).ToArray(),
        _ => route,
    };

    /// <summary>The job for one route step: this request in the upstream's terms.</summary>
    public ImageJob Job(string upstreamModel)
    {
        var (width, height) = Downscale && ModelCatalog.TryParseSize(UpstreamSize, out var w, out var h) ? (w, h) : (Width, Height);
        return new ImageJob(upstreamModel, Prompt, N, width, height, UpstreamSize, UpstreamQuality,
            Ignored.Contains("style") ? null : Style, Seed, User, OutputFormat, OutputCompression, Background, Moderation)
        {
            Inputs = Uploads?.Images ?? [],
            Mask = Uploads?.Mask,
            InputFidelity = InputFidelity,
            Variation = Operation == ImageOperation.Variation,
            PartialImages = Stream ? PartialImages : 0,
        };
    }

    /// <summary>An edit or a variation: the request's images, checked against what the model does with them (after the common rules).</summary>
    public static (GenerationSpec? Spec, ApiError? Error) Validate(GenerateRequest r, ModelCatalog catalog, ImageOperation operation, ImageUploads uploads)
    {
        var modelId = r.Model ?? (operation == ImageOperation.Variation ? DefaultVariationModel : DefaultEditModel);
        if (catalog.TryGetModel(modelId, out var model) && !(operation == ImageOperation.Edit ? model.Edits : model.Variations))
        {
            var able = catalog.Models.Where(m => operation == ImageOperation.Edit ? m.Edits : m.Variations).Select(m => m.Id);
            return Fail(ApiError.Invalid("model", $"{model.Id} does not {(operation == ImageOperation.Edit ? "edit images" : "make variations")}; "
                + $"models that do: {string.Join(", ", able)}."));
        }
        // A variation has no prompt of the caller's; the size defaults to the first image's when the model makes it.
        var first = uploads.Images[0];
        var inputSize = $"{first.Width}x{first.Height}";
        var request = r with
        {
            Model = modelId,
            Prompt = operation == ImageOperation.Variation ? r.Prompt ?? "a variation" : r.Prompt,
            Size = r.Size ?? (model is not null && !model.Sizes.Contains(ModelDefinition.AutoSize) && model.AcceptsSize(inputSize, out _, out _) ? inputSize : null),
        };
        var (spec, error) = Validate(request, catalog);
        if (error is not null) return Fail(error);
        if (r.InputFidelity is { } fidelity && OneOf("input_fidelity", fidelity, spec!.Model.InputFidelities, spec.Model) is { } fidelityError)
            return Fail(fidelityError);
        return (spec! with { Operation = operation, Uploads = uploads, InputFidelity = r.InputFidelity }, null);
    }

    /// <summary>Applies DESIGN §1.1 and §12.2. A parameter that does not apply to the model is refused, not dropped.</summary>
    public static (GenerationSpec? Spec, ApiError? Error) Validate(GenerateRequest r, ModelCatalog catalog)
    {
        if (r.Prompt is null) return Fail(ApiError.Missing("prompt", "'prompt' is required."));
        if (string.IsNullOrWhiteSpace(r.Prompt)) return Fail(ApiError.Invalid("prompt", "'prompt' must not be blank."));

        var modelId = r.Model ?? DefaultModel;
        if (!catalog.TryGetModel(modelId, out var model))
            return Fail(ApiError.Invalid("model",
                $"Unknown model '{Truncate(modelId)}'. Available models: {string.Join(", ", catalog.Models.Select(m => m.Id))}."));

        if (r.Prompt.Length > model.MaxPromptLength)
            return Fail(ApiError.Invalid("prompt",
                $"'prompt' is {r.Prompt.Length} characters; {model.Id} accepts at most {model.MaxPromptLength}."));

        var n = r.N ?? 1;
        if (n < 1 || n > model.MaxN)
            return Fail(ApiError.Invalid("n", $"'n' must be between 1 and {model.MaxN} for {model.Id}; got {n}."));

        var size = r.Size ?? (model.IsGptImage && model.Sizes.Contains(ModelDefinition.AutoSize) ? ModelDefinition.AutoSize : "1024x1024");
        if (!model.AcceptsSize(size, out var width, out var height))
            return Fail(ApiError.Invalid("size", SizeRule(model, size)));

        var quality = r.Quality ?? model.DefaultQuality;
        if (!model.Qualities.Contains(quality))
            return Fail(ApiError.Invalid("quality", model.Qualities.Count == 1
                ? $"'quality' '{Truncate(quality)}' does not apply to {model.Id}; omit it or use '{model.Qualities[0]}'."
                : $"'quality' must be one of: {string.Join(", ", model.Qualities)} for {model.Id}."));

        if (r.Style is not null)
        {
            if (model.Styles.Count == 0)
                return Fail(ApiError.Invalid("style", $"'style' does not apply to {model.Id}; omit it."));
            if (!model.Styles.Contains(r.Style))
                return Fail(ApiError.Invalid("style", $"'style' must be one of: {string.Join(", ", model.Styles)}."));
        }

        var format = r.ResponseFormat ?? (model.IsGptImage ? B64Json : Url);
        if (format is not (Url or B64Json))
            return Fail(ApiError.Invalid("response_format", "'response_format' must be 'url' or 'b64_json'."));

        if (GptImageError(r, model) is { } gptImageError) return Fail(gptImageError);

        if (r.Stream == true && !model.Streaming)
            return Fail(ApiError.Invalid("stream", $"{model.Id} does not stream; ask without 'stream', or use one of the models that do."));
        if (r.PartialImages is < 0 or > 3)
            return Fail(ApiError.Invalid("partial_images", $"'partial_images' must be between 0 and 3; got {r.PartialImages}."));

        if (r.User is { Length: > MaxUserLength })
            return Fail(ApiError.Invalid("user", $"'user' may be at most {MaxUserLength} characters."));

        if (r.Seed is < 0 or > MaxSeed)
            return Fail(ApiError.Invalid("seed", $"'seed' must be between 0 and {MaxSeed}."));

        var spec = new GenerationSpec(model, r.Prompt, n, size, width, height, quality, r.Style, format, r.User, r.Seed, Millicredits.Zero)
        {
            OutputFormat = r.OutputFormat,
            OutputCompression = r.OutputCompression,
            Background = r.Background,
            Moderation = r.Moderation,
            Stream = r.Stream == true,
            PartialImages = r.PartialImages ?? 0,
            Ignored = r.Style is not null && model.Successor?.Ignore.Contains("style") == true ? ["style"] : [],
        };
        // The per-image base price; for a per-token model, the estimate of one image at the base rate.
        var basePrice = model.TokenPrice is null ? model.BasePrice(quality, size)!.Value : spec.Quote(TierDefinition.Base, 1).Estimated;
        return (spec with { BasePrice = basePrice }, null);
    }

    /// <summary>The GPT-image fields (DESIGN §12.2): each only where the model lists its values, and in the combinations OpenAI allows.</summary>
    private static ApiError? GptImageError(GenerateRequest r, ModelDefinition model)
    {
        if (OneOf("output_format", r.OutputFormat, model.OutputFormats, model) is { } formatError) return formatError;
        if (OneOf("background", r.Background, model.Backgrounds, model) is { } backgroundError) return backgroundError;
        if (OneOf("moderation", r.Moderation, model.Moderations, model) is { } moderationError) return moderationError;
        var format = r.OutputFormat ?? "png";
        if (r.OutputCompression is { } compression)
        {
            if (model.OutputFormats.Count == 0)
                return ApiError.Invalid("output_compression", $"'output_compression' does not apply to {model.Id}; omit it.");
            if (compression is < 0 or > 100)
                return ApiError.Invalid("output_compression", $"'output_compression' must be between 0 and 100; got {compression}.");
            if (format == "png")
                return ApiError.Invalid("output_compression", "'output_compression' applies only to output_format 'jpeg' or 'webp'.");
        }
        if (r.Background == "transparent" && format == "jpeg")
            return ApiError.Invalid("background", "'background' 'transparent' needs output_format 'png' or 'webp'; JPEG has no transparency.");
        return null;
    }

    private static ApiError? OneOf(string field, string? value, IReadOnlyList<string> allowed, ModelDefinition model) =>
        value is null ? null
        : allowed.Count == 0 ? ApiError.Invalid(field, $"'{field}' does not apply to {model.Id}; omit it.")
        : allowed.Contains(value) ? null
        : ApiError.Invalid(field, $"'{field}' must be one of: {string.Join(", ", allowed)}; got '{Truncate(value)}'.");

    private static string SizeRule(ModelDefinition model, string size) => model.CustomSizes is { } rule
        ? $"Size '{Truncate(size)}' is not available for {model.Id}. Use one of: {string.Join(", ", model.Sizes)}, or WIDTHxHEIGHT with both sides divisible by {rule.MultipleOf}, "
          + $"the long side at most {rule.MaxAspectRatio.ToString(System.Globalization.CultureInfo.InvariantCulture)} times the short one, at most {rule.MaxEdge} pixels a side and {rule.MinPixels}–{rule.MaxPixels} in all."
        : $"Size '{Truncate(size)}' is not available for {model.Id}. Choose one of: {string.Join(", ", model.Sizes)}.";

    private static (GenerationSpec?, ApiError?) Fail(ApiError error) => (null, error);

    private static string Truncate(string value) => value.Length <= 64 ? value : value[..64] + "…";
}
