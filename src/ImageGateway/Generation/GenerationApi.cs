using ImageGateway.Accounts;
using ImageGateway.Billing;
using ImageGateway.Catalog;
using ImageGateway.Hosting;
using ImageGateway.Http;
using ImageGateway.Providers;
using ImageGateway.Storage;
using Microsoft.Extensions.Options;

namespace ImageGateway.Generation;

public sealed record GenerationServices(
    ModelCatalog Catalog,
    ProviderRegistry Providers,
    ProviderRouter Router,
    CreditLedger Ledger,
    IImageStore Store,
    SignedUrls Urls,
    TimeProvider Time,
    IOptions<GatewayOptions> Options,
    ILogger<GenerationServices> Logger);

public static class GenerationApi
{
    public static IEndpointRouteBuilder MapGenerationApi(this IEndpointRouteBuilder group)
    {
        // The brief documents the singular path; every OpenAI SDK calls the plural one.
        group.MapPost("/image/generations", GenerateAsync).RequireGatewayKey();
        group.MapPost("/images/generations", GenerateAsync).RequireGatewayKey();
        group.MapPost("/image/estimate", EstimateAsync).RequireGatewayKey();
        return group;
    }

    /// <summary>authenticate (middleware) → validate → price → reserve → route → store → settle → respond.</summary>
    public static async Task<IResult> GenerateAsync(HttpContext http, Caller caller, [AsParameters] GenerationServices s)
    {
        var ct = http.RequestAborted;
        var options = s.Options.Value;

        var (request, readError) = await GenerateRequestReader.ReadAsync(http.Request, options.MaxRequestBodyBytes, ct);
        if (readError is not null) return readError;
        var (spec, invalid) = GenerationSpec.Validate(request!, s.Catalog);
        if (invalid is not null) return invalid;

        var tier = s.Catalog.GetTier(caller.Tier);
        var cost = ModelCatalog.Quote(spec!.BasePrice, spec.N, tier);

        var route = s.Providers.Route(spec.Model.Id);
        if (route.Count == 0) return ApiError.NoProvider(s.Providers.DescribeNoProvider(spec.Model.Id));

        Reservation? reservation = null;
        if (cost.Value > 0)
        {
            var hold = await s.Ledger.ReserveAsync(caller.AccountId, cost, TimeSpan.FromSeconds(options.Billing.HoldTimeoutSeconds),
                $"{spec.Model.Id} ×{spec.N} {spec.Size} {spec.Quality}", ct);
            if (!hold.Succeeded)
                return ApiError.InsufficientCredits(
                    $"Insufficient credits. Balance: {hold.Balance.Available.ToDisplay()}, Estimated cost: {cost.ToDisplay()} credits");
            reservation = hold.Reservation;
        }

        var closed = reservation is null;
        try
        {
            var outcome = await s.Router.GenerateAsync(route, step => ToJob(spec, step), ct);
            if (outcome.Result.Failure is { } failure) return ToError(failure);
            var images = outcome.Result.Images;

            var (data, expiresAt, storeError) = await ToResponseDataAsync(http, spec, images, s, options, ct);
            if (storeError is not null) return storeError;

            var charged = ModelCatalog.Quote(spec.BasePrice, images.Count, tier);
            string? transactionId = null;
            Millicredits remaining;
            if (reservation is not null)
            {
                Settlement settlement;
                try
                {
                    settlement = await s.Ledger.SettleAsync(reservation, charged,
                        $"{spec.Model.Id} ×{images.Count} {spec.Size} {spec.Quality} via {outcome.ServedBy!.Provider.Name}", CancellationToken.None);
                }
                catch (ReservationClosedException)
                {
                    closed = true;
                    return ApiError.UpstreamTimeout("The generation outlasted the credit hold timeout and was discarded; you were not charged.");
                }
                closed = true;
                transactionId = settlement.TransactionId;
                remaining = settlement.BalanceAfter;
            }
            else
            {
                remaining = (await s.Ledger.GetBalanceAsync(caller.AccountId, CancellationToken.None))?.Total ?? Millicredits.Zero;
            }

            var metadata = new GenerationMetadata(
                outcome.ServedBy!.Provider.Name, spec.Model.Id, charged, remaining, transactionId, tier.Name,
                UsingByok: false, ByokProvider: null, images.Count, spec.Size, spec.Quality, expiresAt);
            return TypedResults.Json(new ImagesResponse(s.Time.GetUtcNow().ToUnixTimeSeconds(), data, metadata),
                GatewayJson.Context.ImagesResponse);
        }
        finally
        {
            // Any path that did not settle (failure, exception, client gone) gives the hold back.
            if (!closed) await s.Ledger.ReleaseAsync(reservation!, "generation failed", CancellationToken.None);
        }
    }

    public static async Task<IResult> EstimateAsync(HttpContext http, Caller caller, [AsParameters] GenerationServices s)
    {
        var ct = http.RequestAborted;
        var (request, readError) = await GenerateRequestReader.ReadAsync(http.Request, s.Options.Value.MaxRequestBodyBytes, ct);
        if (readError is not null) return readError;
        var (spec, invalid) = GenerationSpec.Validate(request!, s.Catalog);
        if (invalid is not null) return invalid;

        var tier = s.Catalog.GetTier(caller.Tier);
        var cost = ModelCatalog.Quote(spec!.BasePrice, spec.N, tier);
        var balance = await s.Ledger.GetBalanceAsync(caller.AccountId, ct) ?? new Balance(Millicredits.Zero, Millicredits.Zero);
        return TypedResults.Json(new EstimateResponse(spec.Model.Id, spec.N, spec.Size, spec.Quality, tier.Name, tier.Multiplier,
                ModelCatalog.Quote(spec.BasePrice, 1, tier), cost, balance.Total, balance.Reserved, balance.Available,
                balance.Available >= cost, s.Providers.Route(spec.Model.Id).Count > 0),
            GatewayJson.Context.EstimateResponse);
    }

    private static ImageJob ToJob(GenerationSpec spec, RouteStep step) =>
        new(step.UpstreamModel, spec.Prompt, spec.N, spec.Width, spec.Height, spec.Size, spec.Quality, spec.Style, spec.Seed, spec.User);

    private static async Task<(ImageDatum[] Data, long? ExpiresAt, ApiError? Error)> ToResponseDataAsync(
        HttpContext http, GenerationSpec spec, IReadOnlyList<GeneratedImage> images, GenerationServices s, GatewayOptions options, CancellationToken ct)
    {
        var data = new ImageDatum[images.Count];
        if (spec.ResponseFormat == GenerationSpec.B64Json)
        {
            for (var i = 0; i < images.Count; i++) data[i] = new ImageDatum(null, images[i].Bytes, images[i].RevisedPrompt);
            return (data, null, null);
        }

        var expiresAt = s.Time.GetUtcNow().AddSeconds(options.Storage.UrlTtlSeconds);
        var origin = PublicOrigin(http, options);
        try
        {
            var names = new StoredImageName[images.Count];
            for (var i = 0; i < images.Count; i++) names[i] = StoredImageName.New(expiresAt, images[i].Extension);
            await Task.WhenAll(images.Select((image, i) => s.Store.SaveAsync(names[i], image.Bytes, image.MediaType, ct)));
            for (var i = 0; i < images.Count; i++)
                data[i] = new ImageDatum(origin + s.Urls.PathAndQuery(names[i]), null, images[i].RevisedPrompt);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            s.Logger.LogError(e, "Storing generated images failed");
            return (data, null, new ApiError(503, "api_error", "storage_unavailable",
                "The images were generated but could not be stored; you were not charged. Try again or use response_format=b64_json."));
        }
        return (data, expiresAt.ToUnixTimeSeconds(), null);
    }

    private static string PublicOrigin(HttpContext http, GatewayOptions options) =>
        !string.IsNullOrEmpty(options.PublicBaseUrl)
            ? options.PublicBaseUrl.TrimEnd('/')
            : $"{http.Request.Scheme}://{http.Request.Host.Value}";

    /// <summary>
    /// Provider failures as the caller sees them. Every one of these is uncharged. A request the
    /// upstream refused as malformed is a 400 (retrying cannot help); outages are 502/504.
    /// </summary>
    private static ApiError ToError(ProviderFailure failure) => failure.Kind switch
    {
        FailureKind.ContentPolicy => ApiError.ContentPolicy(failure.Message),
        FailureKind.Rejected => new ApiError(400, "invalid_request_error", "upstream_rejected", $"{failure.Message} You were not charged."),
        FailureKind.Timeout => ApiError.UpstreamTimeout($"{failure.Message} You were not charged."),
        _ => ApiError.Upstream($"{failure.Message} You were not charged."),
    };
}
