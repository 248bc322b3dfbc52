using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using ImageGateway.Accounts;
using ImageGateway.Billing;
using ImageGateway.Byok;
using ImageGateway.Http;
using ImageGateway.Providers;

namespace ImageGateway.Catalog;

/// <summary>
/// A model as <c>GET /image/models</c> lists it: its options, both price tables and where it is
/// served. For a per-token model the tables are the estimate of one image (no prompt), and
/// <see cref="YourMaxPrices"/> what one image holds; the rates are credits per million tokens.
/// <see cref="Available"/> says whether the platform serves the model; <see cref="Usable"/> whether
/// this caller can use it, their own key counting (then <see cref="ByokProvider"/> names it, and
/// generating with it charges nothing).
/// </summary>
/// <param name="Id">The model id to send as <c>model</c>.</param>
/// <param name="Sizes">Sizes it accepts.</param>
/// <param name="Qualities">Qualities it accepts.</param>
/// <param name="DefaultQuality">The quality used when none is given.</param>
/// <param name="Styles">Styles it accepts; empty when it takes none.</param>
/// <param name="MaxN">Most images one request may ask for.</param>
/// <param name="MaxPromptLength">Longest prompt it accepts, in characters.</param>
/// <param name="BasePrices">Credits per image by quality, then size, before the tier's markup.</param>
/// <param name="YourPrices">Credits per image by quality, then size, at your tier.</param>
/// <param name="Tier">Your tier.</param>
/// <param name="Multiplier">Your tier's markup on base prices.</param>
/// <param name="Available">Whether the platform serves the model (a configured provider).</param>
/// <param name="Providers">The platform's providers that serve it, in the order they are tried.</param>
/// <param name="Pricing"><c>per_image</c> or <c>per_token</c>.</param>
/// <param name="Rates">Base credits per million tokens, for per-token models.</param>
/// <param name="YourRates">Your credits per million tokens, for per-token models.</param>
/// <param name="YourMaxPrices">For per-token models: credits one image holds while it runs, by quality, then size.</param>
/// <param name="Family">The model family (e.g. <c>gpt-image</c>); absent for standalone models.</param>
/// <param name="OutputFormats">Values of <c>output_format</c> it takes; empty when fixed.</param>
/// <param name="Backgrounds">Values of <c>background</c> it takes.</param>
/// <param name="Moderations">Values of <c>moderation</c> it takes.</param>
/// <param name="CustomSizes">The rules for a size of your own, when it takes one.</param>
/// <param name="ServedBy">For a retired model: the model that now makes its images.</param>
/// <param name="Edits">Whether it edits images (<c>/images/edits</c>).</param>
/// <param name="Variations">Whether it makes variations (<c>/images/variations</c>).</param>
/// <param name="Streaming">Whether it streams partial images (<c>stream: true</c>).</param>
/// <param name="Usable">Whether you can use it now, your own provider keys counting.</param>
/// <param name="ByokProvider">The provider of your own key it would use (then it costs no credits); null without one.</param>
public sealed record ModelInfo(
    string Id, IReadOnlyList<string> Sizes, IReadOnlyList<string> Qualities, string DefaultQuality, IReadOnlyList<string> Styles,
    int MaxN, int MaxPromptLength,
    Dictionary<string, Dictionary<string, Millicredits>> BasePrices,
    Dictionary<string, Dictionary<string, Millicredits>> YourPrices,
    string Tier, decimal Multiplier, bool Available, IReadOnlyList<string> Providers,
    string Pricing,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] TokenRates? Rates,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] TokenRates? YourRates,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Dictionary<string, Dictionary<string, Millicredits>>? YourMaxPrices,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Family,
    IReadOnlyList<string> OutputFormats, IReadOnlyList<string> Backgrounds, IReadOnlyList<string> Moderations,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] CustomSizeOptions? CustomSizes,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ServedBy,
    bool Edits, bool Variations, bool Streaming, bool Usable, string? ByokProvider);

/// <param name="Object">Always <c>list</c>.</param>
/// <param name="Data">Every model of the catalogue.</param>
public sealed record ModelCatalogResponse(string Object, IReadOnlyList<ModelInfo> Data);

/// <param name="Id">The model id.</param>
/// <param name="Object">Always <c>model</c>.</param>
/// <param name="Created">A fixed timestamp (unix seconds), as OpenAI's list has one.</param>
/// <param name="OwnedBy">Who makes the model (e.g. <c>openai</c>).</param>
public sealed record OpenAiModel(string Id, string Object, long Created, string OwnedBy);

/// <param name="Object">Always <c>list</c>.</param>
/// <param name="Data">The models, in OpenAI's shape.</param>
public sealed record OpenAiModelList(string Object, IReadOnlyList<OpenAiModel> Data);

public static class CatalogApi
{
    public static IEndpointRouteBuilder MapCatalogApi(this IEndpointRouteBuilder group)
    {
        group.MapGet("/image/models", GetImageModelsAsync).RequireGatewayKey().WithTags(ApiDocs.Tags.Models);
        group.MapGet("/models", GetModels).RequireGatewayKey().WithTags(ApiDocs.Tags.Models);
        group.MapGet("/models/{id}", GetModel).RequireGatewayKey().WithTags(ApiDocs.Tags.Models).ProducesErrors(404);
        return group;
    }

    /// <summary>List models with your prices</summary>
    /// <remarks>Every model with its sizes, qualities and options, the base price table and the caller's own prices (tier applied). <c>available</c>: the platform serves it; <c>usable</c>: this caller can use it, their own key counting (<c>byok_provider</c>).</remarks>
    public static async Task<JsonOk<ModelCatalogResponse>> GetImageModelsAsync(Caller caller, ModelCatalog catalog, ProviderRegistry providers,
        ByokRouter byok, CancellationToken ct)
    {
        var tier = catalog.GetTier(caller.Tier);
        var keyed = await byok.KeyedProvidersAsync(caller.AccountId, ct);
        var data = catalog.Models.Select(m =>
        {
            var routeModel = m.Successor?.Model ?? m.Id;
            var route = providers.Route(routeModel);
            // The rule a generate request applies (ByokRouter.StepFor on the full route).
            var own = keyed.Count == 0 ? null : ByokRouter.StepFor(keyed, providers.FullRoute(routeModel))?.Provider.Name;
            return new ModelInfo(m.Id, m.Sizes, m.Qualities, m.DefaultQuality, m.Styles, m.MaxN, m.MaxPromptLength,
                PriceTable(m, TierDefinition.Base, max: false), PriceTable(m, tier, max: false),
                tier.Name, tier.Multiplier, route.Count > 0, route.Select(r => r.Provider.Name).ToArray(),
                m.Pricing, m.TokenPrice?.Rates(), m.TokenPrice?.Rates(tier.MultiplierPerMille),
                m.TokenPrice is null ? null : PriceTable(m, tier, max: true),
                m.Family, m.OutputFormats, m.Backgrounds, m.Moderations, m.CustomSizes, m.Successor?.Model,
                m.Edits, m.Variations, m.Streaming, route.Count > 0 || own is not null, own);
        }).ToArray();
        return ApiResults.Ok(new ModelCatalogResponse("list", data), GatewayJson.Context.ModelCatalogResponse);
    }

    /// <summary>List models (OpenAI format)</summary>
    /// <remarks>OpenAI's model list, so SDK <c>models.list()</c> works.</remarks>
    public static JsonOk<OpenAiModelList> GetModels(ModelCatalog catalog) =>
        ApiResults.Ok(new OpenAiModelList("list", catalog.Models.Select(ToOpenAi).ToArray()), GatewayJson.Context.OpenAiModelList);

    /// <summary>Get one model (OpenAI format)</summary>
    /// <remarks>OpenAI's <c>Model</c> object, so SDK <c>models.retrieve(id)</c> works; an unknown id is OpenAI's 404.</remarks>
    public static Results<JsonOk<OpenAiModel>, ApiError> GetModel(string id, ModelCatalog catalog) =>
        catalog.TryGetModel(id, out var model)
            ? ApiResults.Ok(ToOpenAi(model), GatewayJson.Context.OpenAiModel)
            : new ApiError(404, "invalid_request_error", "model_not_found",
                $"The model '{(id.Length > 100 ? id[..100] + "…" : id)}' does not exist. Available models: {string.Join(", ", catalog.Models.Select(m => m.Id))}.", "model");

    /// <summary>Models have no release date of their own here; a fixed one keeps the answers stable.</summary>
    private static readonly long Created = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();

    private static OpenAiModel ToOpenAi(ModelDefinition m) => new(m.Id, "model", Created, m.OwnedBy);

    /// <summary>One image at each quality and size: the price (or, per token, the estimate with no prompt); with <paramref name="max"/>, the hold.</summary>
    private static Dictionary<string, Dictionary<string, Millicredits>> PriceTable(ModelDefinition model, TierDefinition tier, bool max) =>
        model.Qualities.ToDictionary(q => q, q => model.Sizes.ToDictionary(size => size, size =>
        {
            if (model.TokenPrice is not { } price) return ModelCatalog.Quote(model.BasePrice(q, size)!.Value, 1, tier);
            var pixels = model.PricedPixels(size);
            return price.Cost(max ? price.Bound(q, pixels, 1, 0) : price.Estimate(q, pixels, 1, 0), tier);
        }));
}
