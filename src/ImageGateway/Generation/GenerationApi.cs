using ImageGateway.Accounts;
using ImageGateway.Billing;
using ImageGateway.Catalog;
using ImageGateway.Hosting;
using ImageGateway.Http;
using ImageGateway.Providers;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace ImageGateway.Generation;

public static class GenerationApi
{
    public static IEndpointRouteBuilder MapGenerationApi(this IEndpointRouteBuilder group)
    {
        // The brief documents the singular path; every OpenAI SDK calls the plural one.
        foreach (var path in new[] { "/image/generations", "/images/generations" })
            group.MapPost(path, GenerateAsync).Accepts<GenerateRequestBody>("application/json").RequireGatewayKey().WithTags(ApiDocs.Tags.Images)
                .ProducesErrors(400, 402, 409, 413, 415, 422, 429, 502, 503, 504);
        foreach (var path in new[] { "/image/edits", "/images/edits" })
            group.MapPost(path, EditAsync).Accepts<GenerateRequestBody>("multipart/form-data", "application/json").RequireGatewayKey().WithTags(ApiDocs.Tags.Images)
                .ProducesErrors(400, 402, 409, 413, 415, 422, 429, 502, 503, 504);
        foreach (var path in new[] { "/image/variations", "/images/variations" })
            group.MapPost(path, VariationAsync).Accepts<GenerateRequestBody>("multipart/form-data").RequireGatewayKey().WithTags(ApiDocs.Tags.Images)
                .ProducesErrors(400, 402, 409, 413, 415, 422, 429, 502, 503, 504);
        group.MapPost("/image/estimate", EstimateAsync).Accepts<GenerateRequestBody>("application/json").RequireGatewayKey().WithTags(ApiDocs.Tags.Images)
            .ProducesErrors(400, 413, 415, 422);
        return group;
    }

    /// <summary>Generate images</summary>
    /// <remarks>OpenAI-compatible: <c>prompt</c>, <c>model</c>, <c>n</c>, <c>size</c>, <c>quality</c>, <c>response_format</c> and the GPT-image fields. The cost is held, then charged exactly; a failure charges nothing. With <c>stream: true</c> the answer is <c>text/event-stream</c> (partial and completed events). Optional <c>Idempotency-Key</c> header.</remarks>
    public static Task<Results<ImagesOk, ContentHttpResult, ApiError, EmptyHttpResult>> GenerateAsync(
        HttpContext http, Caller caller, GenerationPipeline pipeline) => pipeline.RunAsync(http, caller);

    /// <summary>Edit images</summary>
    /// <remarks><c>multipart/form-data</c> with the image(s) (<c>image</c> or <c>image[]</c>, up to 16) and an optional PNG <c>mask</c>, or JSON with <c>image_url</c>s; plus the generation fields. Priced and charged as a generation.</remarks>
    public static Task<Results<ImagesOk, ContentHttpResult, ApiError, EmptyHttpResult>> EditAsync(
        HttpContext http, Caller caller, GenerationPipeline pipeline) => pipeline.RunAsync(http, caller, ImageOperation.Edit);

    /// <summary>Make a variation of an image</summary>
    /// <remarks><c>multipart/form-data</c> with one <c>image</c>; served by models whose provider can make variations (builtin-preview).</remarks>
    public static Task<Results<ImagesOk, ContentHttpResult, ApiError, EmptyHttpResult>> VariationAsync(
        HttpContext http, Caller caller, GenerationPipeline pipeline) => pipeline.RunAsync(http, caller, ImageOperation.Variation);

    /// <summary>Estimate a generation</summary>
    /// <remarks>The generate body; answers what that request would cost this caller and who would serve it, charging nothing. With the caller's own provider key (BYOK) the cost is 0 (<c>using_byok</c>, <c>byok_provider</c>) and <c>platform_cost</c> shows the platform's price. Uses the same routing decision as generate.</remarks>
    public static async Task<Results<JsonOk<EstimateResponse>, ApiError>> EstimateAsync(HttpContext http, Caller caller, ModelCatalog catalog,
        CreditLedger ledger, RoutePlanner planner, GenerationRequests requests)
    {
        var ct = http.RequestAborted;
        var (spec, invalid, _) = await requests.ReadAsync(http.Request, key: null, ImageOperation.Generate, ct);
        if (invalid is not null) return invalid;

        var tier = catalog.GetTier(caller.Tier);
        var plan = await planner.PlanAsync(caller.AccountId, spec!, ct);
        if (plan.ByokError is not null) return plan.ByokError;
        var platform = spec!.Quote(tier);
        var byok = plan.Byok is not null;
        var (unit, quote) = byok ? (Millicredits.Zero, new PriceQuote(Millicredits.Zero, Millicredits.Zero)) : (spec.Quote(tier, 1).Estimated, platform);
        var balance = await ledger.GetBalanceAsync(caller.AccountId, ct) ?? new Balance(Millicredits.Zero, Millicredits.Zero);
        return ApiResults.Ok(new EstimateResponse(spec.Model.Id, spec.N, spec.Size, spec.Quality, tier.Name, tier.Multiplier,
                unit, quote.Estimated, quote.Max, spec.Model.Pricing, spec.Model.TokenPrice?.Rates(tier.MultiplierPerMille),
                balance.Total, balance.Reserved, balance.Available, balance.Available >= quote.Max, plan.Servable,
                byok, plan.Byok?.Provider, platform.Estimated),
            GatewayJson.Context.EstimateResponse);
    }
}
