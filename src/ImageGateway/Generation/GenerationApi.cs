using System.Diagnostics;
using ImageGateway.Accounts;
using ImageGateway.Billing;
using ImageGateway.Byok;
using ImageGateway.Catalog;
using ImageGateway.Hosting;
using ImageGateway.Http;
using ImageGateway.Providers;
using ImageGateway.RateLimits;
using ImageGateway.Storage;
using ImageGateway.Usage;
using Microsoft.Extensions.Options;

namespace ImageGateway.Generation;

public sealed record GenerationServices(
    ModelCatalog Catalog,
    ProviderRegistry Providers,
    ProviderRouter Router,
    CreditLedger Ledger,
    ByokStore Byok,
    UsageStore Usage,
    ImageRateLimiter RateLimiter,
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

    /// <summary>
    /// authenticate (middleware) → validate → price → rate-limit → route → [BYOK: generate free] →
    /// reserve → generate → store → settle → respond. Every path that does not settle releases the hold.
    /// </summary>
    public static async Task<IResult> GenerateAsync(HttpContext http, Caller caller, [AsParameters] GenerationServices s)
    {
        var ct = http.RequestAborted;
        var options = s.Options.Value;
        var started = Stopwatch.GetTimestamp();

        var (request, readError) = await GenerateRequestReader.ReadAsync(http.Request, options.MaxRequestBodyBytes, ct);
        if (readError is not null) return readError;
        var (spec, invalid) = GenerationSpec.Validate(request!, s.Catalog);
        if (invalid is not null) return invalid;

        var tier = s.Catalog.GetTier(caller.Tier);
        var cost = ModelCatalog.Quote(spec!.BasePrice, spec.N, tier);
        var run = new Run(http, caller, spec, tier, s, started);

        var limits = EffectiveLimits.For(tier, caller.Limits);
        var admission = await s.RateLimiter.AdmitAsync(http, caller, limits, tier.Name, spec.N, ct);
        if (admission.Refusal is not null) return admission.Refusal;
        var admitted = false; // images stay counted only for requests that got past admission to a provider
        try
        {
            var result = await GenerateAdmittedAsync(run, cost, limits.MonthlyCap, ct);
            admitted = run.ReachedProvider;
            return result;
        }
        finally
        {
            if (!admitted) await s.RateLimiter.RefundAsync(caller, admission, spec.N);
        }
    }

    private static async Task<IResult> GenerateAdmittedAsync(Run run, Millicredits cost, Millicredits? monthlyCap, CancellationToken ct)
    {
        var (http, caller, spec, tier, s) = (run.Http, run.Caller, run.Spec, run.Tier, run.S);
        var options = s.Options.Value;

        var platformRoute = s.Providers.Route(spec.Model.Id);
        var (byokStep, byokError) = await ByokStepAsync(caller, spec, s, ct);
        if (byokError is not null) return byokError;
        var byokFellBack = false;
        if (byokStep is not null)
        {
            run.ReachedProvider = true;
            var outcome = await s.Router.GenerateAsync([byokStep], step => ToJob(spec, step), ct);
            if (outcome.Result.Failure is null) return await DeliverAsync(run, outcome, reservation: null, byok: true);
            if (!options.Byok.FallbackToPlatform || platformRoute.Count == 0)
                return await FailAsync(run, ByokError(byokStep.Provider.Name, outcome.Result.Failure), byok: true);
            byokFellBack = true;
        }

        if (platformRoute.Count == 0) return ApiError.NoProvider(s.Providers.DescribeNoProvider(spec.Model.Id));

        Reservation? reservation = null;
        if (cost.Value > 0)
        {
            var hold = await s.Ledger.ReserveAsync(caller.AccountId, cost, TimeSpan.FromSeconds(options.Billing.HoldTimeoutSeconds),
                $"{spec.Model.Id} ×{spec.N} {spec.Size} {spec.Quality}", monthlyCap, ct);
            if (hold.Refusal == ReserveRefusal.MonthlyCap)
                return MonthlyCapExceeded(monthlyCap!.Value, hold, cost, tier.Name, s.Time.GetUtcNow());
            if (!hold.Succeeded)
                return ApiError.InsufficientCredits(
                    $"Insufficient credits. Balance: {hold.Balance.Available.ToDisplay()}, Estimated cost: {cost.ToDisplay()} credits");
            reservation = hold.Reservation;
        }

        var closed = reservation is null;
        run.ReachedProvider = true;
        try
        {
            var outcome = await s.Router.GenerateAsync(platformRoute, step => ToJob(spec, step), ct);
            if (outcome.Result.Failure is { } failure) return await FailAsync(run, ToError(failure), byok: false);
            var result = await DeliverAsync(run with { ByokFellBack = byokFellBack }, outcome, reservation, byok: false);
            closed = true; // DeliverAsync settles or releases the hold itself
            return result;
        }
        finally
        {
            // Any path that did not reach delivery (failure, exception, client gone) gives the hold back.
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

    /// <summary>Everything one request carries from step to step.</summary>
    private sealed record Run(HttpContext Http, Caller Caller, GenerationSpec Spec, TierDefinition Tier, GenerationServices S, long Started)
    {
        public bool ByokFellBack { get; init; }
        public bool ReachedProvider { get; set; }
        public long ElapsedMs => (long)Stopwatch.GetElapsedTime(Started).TotalMilliseconds;
    }

    /// <summary>
    /// The first step of the model's route for which the caller has an enabled key of their own,
    /// with that key in place of the platform's. Null when the caller has none that applies.
    /// </summary>
    private static async Task<(RouteStep? Step, ApiError? Error)> ByokStepAsync(Caller caller, GenerationSpec spec, GenerationServices s, CancellationToken ct)
    {
        IReadOnlyList<ByokSecret> secrets;
        try
        {
            secrets = await s.Byok.EnabledSecretsAsync(caller.AccountId, ct);
        }
        catch (KeyDecryptionException e)
        {
            return (null, ByokApi.Unreadable("provider", e));
        }
        if (secrets.Count == 0) return (null, null);
        foreach (var step in s.Providers.FullRoute(spec.Model.Id))
        {
            var secret = secrets.FirstOrDefault(k => string.Equals(k.Provider, step.Provider.Name, StringComparison.OrdinalIgnoreCase));
            if (secret is not null)
                return (step with { Provider = step.Provider with { Credential = step.Provider.Credential with { ApiKey = secret.ApiKey } } }, null);
        }
        return (null, null);
    }

    /// <summary>store → settle (or nothing to settle for BYOK) → usage → respond.</summary>
    private static async Task<IResult> DeliverAsync(Run run, RouteOutcome outcome, Reservation? reservation, bool byok)
    {
        var (s, spec) = (run.S, run.Spec);
        var images = outcome.Result.Images;
        var servedBy = outcome.ServedBy!.Provider.Name;

        var (data, expiresAt, storeError) = await ToResponseDataAsync(run.Http, spec, images, s);
        if (storeError is not null)
        {
            if (reservation is not null) await s.Ledger.ReleaseAsync(reservation, "image storage failed", CancellationToken.None);
            return await FailAsync(run, storeError, byok);
        }

        var charged = byok ? Millicredits.Zero : ModelCatalog.Quote(spec.BasePrice, images.Count, run.Tier);
        string? transactionId = null;
        Millicredits remaining;
        if (reservation is not null)
        {
            try
            {
                var settlement = await s.Ledger.SettleAsync(reservation, charged,
                    $"{spec.Model.Id} ×{images.Count} {spec.Size} {spec.Quality} via {servedBy}", CancellationToken.None);
                transactionId = settlement.TransactionId;
                remaining = settlement.BalanceAfter;
            }
            catch (ReservationClosedException)
            {
                return await FailAsync(run, ApiError.UpstreamTimeout(
                    "The generation outlasted the credit hold timeout and was discarded; you were not charged."), byok);
            }
        }
        else
        {
            remaining = (await s.Ledger.GetBalanceAsync(run.Caller.AccountId, CancellationToken.None))?.Total ?? Millicredits.Zero;
        }

        await RecordAsync(run, servedBy, images.Count, charged, byok, StatusCodes.Status200OK);
        var metadata = new GenerationMetadata(
            servedBy, outcome.ServedBy.UpstreamModel, charged, remaining, transactionId, run.Tier.Name,
            UsingByok: byok, ByokProvider: byok ? servedBy : null, images.Count, spec.Size, spec.Quality, expiresAt,
            ByokFallback: run.ByokFellBack ? true : null);
        return TypedResults.Json(new ImagesResponse(s.Time.GetUtcNow().ToUnixTimeSeconds(), data, metadata), GatewayJson.Context.ImagesResponse);
    }

    private static async Task<IResult> FailAsync(Run run, ApiError error, bool byok)
    {
        await RecordAsync(run, null, 0, Millicredits.Zero, byok, error.Status);
        return error;
    }

    private static Task RecordAsync(Run run, string? provider, int images, Millicredits cost, bool byok, int status) =>
        run.S.Usage.RecordAsync(new UsageEvent(run.Caller.AccountId, run.Caller.KeyId, run.Spec.Model.Id, provider, run.Tier.Name,
            run.Spec.Size, run.Spec.Quality, images, cost.Value, byok, status, run.Spec.User, run.ElapsedMs), CancellationToken.None);

    private static ImageJob ToJob(GenerationSpec spec, RouteStep step) =>
        new(step.UpstreamModel, spec.Prompt, spec.N, spec.Width, spec.Height, spec.Size, spec.Quality, spec.Style, spec.Seed, spec.User);

    private static async Task<(ImageDatum[] Data, long? ExpiresAt, ApiError? Error)> ToResponseDataAsync(
        HttpContext http, GenerationSpec spec, IReadOnlyList<GeneratedImage> images, GenerationServices s)
    {
        var options = s.Options.Value;
        var data = new ImageDatum[images.Count];
        if (spec.ResponseFormat == GenerationSpec.B64Json)
        {
            for (var i = 0; i < images.Count; i++) data[i] = new ImageDatum(null, images[i].Bytes, images[i].RevisedPrompt);
            return (data, null, null);
        }

        var expiresAt = s.Time.GetUtcNow().AddSeconds(options.Storage.UrlTtlSeconds);
        var origin = !string.IsNullOrEmpty(options.PublicBaseUrl)
            ? options.PublicBaseUrl.TrimEnd('/')
            : $"{http.Request.Scheme}://{http.Request.Host.Value}";
        try
        {
            var names = images.Select(image => StoredImageName.New(expiresAt, image.Extension)).ToArray();
            await Task.WhenAll(images.Select((image, i) => s.Store.SaveAsync(names[i], image.Bytes, image.MediaType, CancellationToken.None)));
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

    private static ApiError MonthlyCapExceeded(Millicredits cap, ReserveOutcome hold, Millicredits cost, string tier, DateTimeOffset now)
    {
        var nextMonth = WindowLimit.For(WindowKind.Month, 0, now).End;
        return new ApiError(429, "rate_limit_error", "monthly_cap_exceeded",
                $"Monthly spending cap reached: the cap is {cap.ToDisplay()} credits ({tier} tier), {hold.MonthSpent.ToDisplay()} spent this month"
                + $" and {hold.Balance.Reserved.ToDisplay()} held by running requests; this request costs {cost.ToDisplay()}.")
            .WithHeader("Retry-After", ImageRateLimiter.SecondsUntil(nextMonth, now).ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

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

    /// <summary>
    /// The caller's own key failed: they see why, in terms they can act on, and nothing is billed.
    /// A rejected key is permanent (no SDK retries it); an upstream rate limit stays retryable.
    /// </summary>
    private static ApiError ByokError(string provider, ProviderFailure failure) => failure switch
    {
        { Kind: FailureKind.Unauthorized, UpstreamStatus: 402 } or { Kind: FailureKind.Unauthorized, UpstreamStatus: 429 } =>
            new ApiError(402, "insufficient_quota", "byok_insufficient_quota",
                $"Your own {provider} key has no credit or quota left ({provider} answered HTTP {failure.UpstreamStatus}). Nothing was charged here."),
        { Kind: FailureKind.Unauthorized } =>
            new ApiError(400, "invalid_request_error", "byok_key_rejected",
                $"Your own {provider} key was rejected by {provider} (HTTP {failure.UpstreamStatus}). Update it with POST /byok/keys or disable it. Nothing was charged."),
        { UpstreamStatus: 429 } =>
            new ApiError(429, "rate_limit_error", "byok_rate_limited",
                $"{provider} is rate limiting your own key. Nothing was charged.")
                .WithHeader("Retry-After", ((int)Math.Ceiling((failure.RetryAfter ?? TimeSpan.FromSeconds(1)).TotalSeconds)).ToString()),
        _ => ToError(failure),
    };
}
