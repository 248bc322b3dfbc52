using ImageGateway.Billing;
using ImageGateway.Catalog;
using ImageGateway.Http;

namespace ImageGateway.Generation;

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
    public const int MaxUserLength = 256;
    public const long MaxSeed = 4294967295;

    /// <summary>Applies DESIGN §1.1. A parameter that does not apply to the model is refused, not dropped.</summary>
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

        var size = r.Size ?? "1024x1024";
        if (!model.Sizes.Contains(size))
            return Fail(ApiError.Invalid("size",
                $"Size '{Truncate(size)}' is not available for {model.Id}. Choose one of: {string.Join(", ", model.Sizes)}."));
        ModelCatalog.TryParseSize(size, out var width, out var height);

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

        var format = r.ResponseFormat ?? Url;
        if (format is not (Url or B64Json))
            return Fail(ApiError.Invalid("response_format", "'response_format' must be 'url' or 'b64_json'."));

        if (r.User is { Length: > MaxUserLength })
            return Fail(ApiError.Invalid("user", $"'user' may be at most {MaxUserLength} characters."));

        if (r.Seed is < 0 or > MaxSeed)
            return Fail(ApiError.Invalid("seed", $"'seed' must be between 0 and {MaxSeed}."));

        var basePrice = model.BasePrice(quality, size)!.Value;
        return (new GenerationSpec(model, r.Prompt, n, size, width, height, quality, r.Style, format, r.User, r.Seed, basePrice), null);
    }

    private static (GenerationSpec?, ApiError?) Fail(ApiError error) => (null, error);

    private static string Truncate(string value) => value.Length <= 64 ? value : value[..64] + "…";
}
