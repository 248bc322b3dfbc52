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
            group.MapPost(path, GenerateAsync).Accepts<GenerateRequestBody>("application/json").RequireGatewayKey()
                .ProducesErrors(400, 402, 409, 413, 415, 422, 429, 502, 503, 504);
        foreach (var path in new[] { "/image/edits", "/images/edits" })
            group.MapPost(path, EditAsync).Accepts<GenerateRequestBody>("multipart/form-data", "application/json").RequireGatewayKey()
                .ProducesErrors(400, 402, 409, 413, 415, 422, 429, 502, 503, 504);
        foreach (var path in new[] { "/image/variations", "/images/variations" })
            group.MapPost(path, VariationAsync).Accepts<GenerateRequestBody>("multipart/form-data").RequireGatewayKey()
                .ProducesErrors(400, 402, 409, 413, 415, 422, 429, 502, 503, 504);
        group.MapPost("/image/estimate", EstimateAsync).Accepts<GenerateRequestBody>("application/json").RequireGatewayKey()
            .ProducesErrors(400, 413, 415, 422);
        return group;
    }

    /// <summary>With <c>stream: true</c> the answer is <c>text/event-stream</c>, written by the pipeline (the empty result).</summary>
    public static Task<Results<JsonOk<ImagesResponse>, ContentHttpResult, ApiError, EmptyHttpResult>> GenerateAsync(
        HttpContext http, Caller caller, GenerationPipeline pipeline) => pipeline.RunAsync(http, caller);

    /// <summary><c>multipart/form-data</c> with the image(s) and an optional mask, or JSON with data: URLs.</summary>
    public static Task<Results<JsonOk<ImagesResponse>, ContentHttpResult, ApiError, EmptyHttpResult>> EditAsync(
        HttpContext http, Caller caller, GenerationPipeline pipeline) => pipeline.RunAsync(http, caller, ImageOperation.Edit);

    public static Task<Results<JsonOk<ImagesResponse>, ContentHttpResult, ApiError, EmptyHttpResult>> VariationAsync(
        HttpContext http, Caller caller, GenerationPipeline pipeline) => pipeline.RunAsync(http, caller, ImageOperation.Variation);

    /// <summary>
    /// Steps 1, 3 and 5 of the pipeline only: what the request would cost, and who would serve it.
    /// The route comes from the same <see cref="RoutePlanner"/> the pipeline uses, so a caller whose
    /// own key would serve the model is quoted 0 (as generate charges), whatever their balance.
    /// </summary>
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
