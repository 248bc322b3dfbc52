using System.Diagnostics;
using ImageGateway.Accounts;
using ImageGateway.Billing;
using ImageGateway.Byok;
using ImageGateway.Catalog;
using ImageGateway.Data;
using ImageGateway.Hosting;
using ImageGateway.Http;
using ImageGateway.Observability;
using ImageGateway.Providers;
using ImageGateway.RateLimits;
using ImageGateway.Storage;
using ImageGateway.Usage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace ImageGateway.Generation;

public sealed record GenerationServices(
    ModelCatalog Catalog,
    ProviderRegistry Providers,
    ProviderRouter Router,
    Database Database,
    CreditLedger Ledger,
    ByokStore Byok,
    UsageStore Usage,
    ImageRateLimiter RateLimiter,
    GatewayMetrics Metrics,
    IdempotencyStore Idempotency,
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
        group.MapPost("/image/generations", GenerateAsync).Returns<ImagesResponse>().Accepts<GenerateRequestBody>("application/json").RequireGatewayKey();
        group.MapPost("/images/generations", GenerateAsync).Returns<ImagesResponse>().Accepts<GenerateRequestBody>("application/json").RequireGatewayKey();
        group.MapPost("/image/estimate", EstimateAsync).Returns<EstimateResponse>().Accepts<GenerateRequestBody>("application/json").RequireGatewayKey();
        return group;
    }

    /// <summary>
    /// authenticate (middleware) → validate → price → rate-limit → route → [BYOK: generate free] →
    /// reserve → generate → store → settle → respond. Every path that does not settle releases the
    /// hold. Around it: one metrics record and one log line per request, whatever the outcome.
    /// </summary>
    public static async Task<IResult> GenerateAsync(HttpContext http, Caller caller, [AsParameters] GenerationServices s)
    {
        var run = new Run(http, caller, s, Stopwatch.GetTimestamp());
        var idempotencyKey = http.Request.Headers[IdempotencyStore.Header].ToString();
        run.IdempotencyKey = idempotencyKey.Length > 0 ? idempotencyKey : null;
        IResult result;
        try
        {
            result = await GenerateStepsAsync(run, http.RequestAborted);
            if (run.IdempotencyClaimed && result is JsonHttpResult<ImagesResponse> { Value: { } body })
            {
                // Stored as sent, so a replay is byte-identical.
                var json = System.Text.Json.JsonSerializer.Serialize(body, GatewayJson.Context.ImagesResponse);
                await s.Idempotency.CompleteAsync(caller.AccountId, run.IdempotencyKey!, StatusCodes.Status200OK, json);
                run.IdempotencyClaimed = false;
                result = TypedResults.Text(json, "application/json", System.Text.Encoding.UTF8);
            }
        }
        finally
        {
            if (run.IdempotencyClaimed) await s.Idempotency.ReleaseAsync(caller.AccountId, run.IdempotencyKey!);
        }
        Observe(run, result is ApiError error ? error.Status : StatusCodes.Status200OK);
        return result;
    }

    private static async Task<IResult> GenerateStepsAsync(Run run, CancellationToken ct)
    {
        var (http, caller, s) = (run.Http, run.Caller, run.S);
        var options = s.Options.Value;

        GenerationSpec? spec;
        using (GatewayMetrics.Activities.StartActivity("generate.validate"))
        {
            var (request, readError, bodyHash) = await GenerateRequestReader.ReadAsync(http.Request, options.MaxRequestBodyBytes,
                hashBody: run.IdempotencyKey is not null, ct);
            if (readError is not null) return readError;
            (spec, var invalid) = GenerationSpec.Validate(request!, s.Catalog);
            if (invalid is not null) return invalid;
            if (run.IdempotencyKey is { } key)
            {
                if (key.Length > IdempotencyStore.MaxKeyLength)
                    return ApiError.Invalid("Idempotency-Key", $"Idempotency-Key may be at most {IdempotencyStore.MaxKeyLength} characters.");
                var claim = await s.Idempotency.ClaimAsync(caller.AccountId, key, bodyHash!, ct);
                if (claim.Error is not null) return claim.Error;
                if (!claim.Claimed)
                {
                    http.Response.Headers["Idempotent-Replayed"] = "true";
                    return TypedResults.Text(claim.ReplayBody!, "application/json", System.Text.Encoding.UTF8, claim.ReplayStatus);
                }
                run.IdempotencyClaimed = true;
            }
        }
        run.Spec = spec;

        var tier = s.Catalog.GetTier(caller.Tier);
        run.Tier = tier;
        var cost = ModelCatalog.Quote(spec!.BasePrice, spec.N, tier);

        var limits = EffectiveLimits.For(tier, caller.Limits);
        var admission = await s.RateLimiter.AdmitAsync(http, caller, limits, tier.Name, spec.N, ct);
        if (admission.Refusal is not null)
        {
            s.Metrics.RateLimited(tier.Name, "window");
            return admission.Refusal;
        }
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
        var (caller, spec, tier, s) = (run.Caller, run.Spec!, run.Tier!, run.S);
        var options = s.Options.Value;

        var platformRoute = s.Providers.Route(spec.Model.Id);
        var (byokStep, byokError) = await ByokStepAsync(caller, spec, s, ct);
        if (byokError is not null) return byokError;
        if (byokStep is not null)
        {
            run.ReachedProvider = true;
            var outcome = await CallProvidersAsync(run, [byokStep], ct);
            if (outcome.Result.Failure is null) return await DeliverAsync(run, outcome, reservation: null, byok: true);
            if (!options.Byok.FallbackToPlatform || platformRoute.Count == 0)
                return await FailAsync(run, ByokError(byokStep.Provider.Name, outcome.Result.Failure), byok: true);
            run.ByokFellBack = true;
        }

        if (platformRoute.Count == 0) return ApiError.NoProvider(s.Providers.DescribeNoProvider(spec.Model.Id));

        Reservation? reservation = null;
        if (cost.Value > 0)
        {
            using var reserving = GatewayMetrics.Activities.StartActivity("generate.reserve");
            var hold = await s.Ledger.ReserveAsync(caller.AccountId, cost, TimeSpan.FromSeconds(options.Billing.HoldTimeoutSeconds),
                $"{spec.Model.Id} ×{spec.N} {spec.Size} {spec.Quality}", monthlyCap, ct);
            if (hold.Refusal == ReserveRefusal.MonthlyCap)
            {
                s.Metrics.RateLimited(tier.Name, "monthly_cap");
                return MonthlyCapExceeded(monthlyCap!.Value, hold, cost, tier.Name, s.Time.GetUtcNow());
            }
            if (!hold.Succeeded)
                return ApiError.InsufficientCredits(
                    $"Insufficient credits. Balance: {hold.Balance.Available.ToDisplay()}, Estimated cost: {cost.ToDisplay()} credits");
            reservation = hold.Reservation;
        }

        var closed = reservation is null;
        run.ReachedProvider = true;
        try
        {
            var outcome = await CallProvidersAsync(run, platformRoute, ct);
            if (outcome.Result.Failure is { } failure) return await FailAsync(run, ToError(failure), byok: false);
            var result = await DeliverAsync(run, outcome, reservation, byok: false);
            closed = true; // DeliverAsync settles or releases the hold itself
            return result;
        }
        finally
        {
            // Any path that did not reach delivery (failure, exception, client gone) gives the hold back.
            if (!closed) await s.Ledger.ReleaseAsync(reservation!, "generation failed", CancellationToken.None);
        }
    }

    /// <summary>The provider step, timed as upstream time; failures are counted per provider and reason.</summary>
    private static async Task<RouteOutcome> CallProvidersAsync(Run run, IReadOnlyList<RouteStep> route, CancellationToken ct)
    {
        using var activity = GatewayMetrics.Activities.StartActivity("generate.provider");
        var started = Stopwatch.GetTimestamp();
        try
        {
            var outcome = await run.S.Router.GenerateAsync(route, step => ToJob(run.Spec!, step), ct);
            if (outcome.Result.Failure is { } failure)
                run.S.Metrics.ProviderFailed(outcome.ServedBy?.Provider.Name ?? route[^1].Provider.Name, failure.Kind);
            activity?.SetTag("provider", outcome.ServedBy?.Provider.Name);
            return outcome;
        }
        finally
        {
            run.UpstreamTime += Stopwatch.GetElapsedTime(started);
        }
    }

    /// <summary>Metrics and the one Information log line of a generate request. Never the prompt or a key.</summary>
    private static void Observe(Run run, int status)
    {
        var total = Stopwatch.GetElapsedTime(run.Started);
        var model = run.Spec?.Model.Id ?? "invalid";
        run.S.Metrics.Generated(model, run.Provider, status, run.Byok, run.Images, run.Tier?.Name ?? run.Caller.Tier, run.Charged.Value);
        run.S.Metrics.Duration("gateway", total - run.UpstreamTime, model);
        if (run.UpstreamTime > TimeSpan.Zero) run.S.Metrics.Duration("upstream", run.UpstreamTime, model);
        GenerationLog.Finished(run.S.Logger, run.Caller.AccountId, model, run.Provider ?? "-", status, run.Images, run.Charged.ToString(),
            run.Byok, total.TotalMilliseconds, run.UpstreamTime.TotalMilliseconds);
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

    /// <summary>Everything one request carries from step to step, and what it came to.</summary>
    private sealed class Run(HttpContext http, Caller caller, GenerationServices s, long started)
    {
        public HttpContext Http { get; } = http;
        public Caller Caller { get; } = caller;
        public GenerationServices S { get; } = s;
        public long Started { get; } = started;
        public GenerationSpec? Spec { get; set; }
        public TierDefinition? Tier { get; set; }
        public bool ByokFellBack { get; set; }
        public bool ReachedProvider { get; set; }
        public TimeSpan UpstreamTime { get; set; }
        public string? Provider { get; set; }
        public int Images { get; set; }
        public Millicredits Charged { get; set; }
        public bool Byok { get; set; }
        public string? IdempotencyKey { get; set; }
        public bool IdempotencyClaimed { get; set; }
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
        var (s, spec, tier) = (run.S, run.Spec!, run.Tier!);
        var images = outcome.Result.Images;
        var servedBy = outcome.ServedBy!.Provider.Name;

        var (data, expiresAt, storeError) = await ToResponseDataAsync(run.Http, spec, images, s);
        if (storeError is not null)
        {
            if (reservation is not null) await s.Ledger.ReleaseAsync(reservation, "image storage failed", CancellationToken.None);
            return await FailAsync(run, storeError, byok);
        }

        var charged = byok ? Millicredits.Zero : ModelCatalog.Quote(spec.BasePrice, images.Count, tier);
        string? transactionId = null;
        Millicredits remaining;
        if (reservation is not null)
        {
            try
            {
                // The charge and its usage event commit together, in one write.
                using var settling = GatewayMetrics.Activities.StartActivity("generate.settle");
                var settlement = await s.Database.WriteAsync(async scope =>
                {
                    var settled = await s.Ledger.SettleAsync(scope, reservation, charged,
                        $"{spec.Model.Id} ×{images.Count} {spec.Size} {spec.Quality} via {servedBy}");
                    await s.Usage.RecordAsync(scope, ToUsageEvent(run, servedBy, images.Count, charged, byok, StatusCodes.Status200OK));
                    return settled;
                }, CancellationToken.None);
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
            await RecordAsync(run, servedBy, images.Count, charged, byok, StatusCodes.Status200OK);
        }

        (run.Provider, run.Images, run.Charged, run.Byok) = (servedBy, images.Count, charged, byok);
        var metadata = new GenerationMetadata(
            servedBy, outcome.ServedBy.UpstreamModel, charged, remaining, transactionId, tier.Name,
            UsingByok: byok, ByokProvider: byok ? servedBy : null, images.Count, spec.Size, spec.Quality, expiresAt,
            ByokFallback: run.ByokFellBack ? true : null);
        return TypedResults.Json(new ImagesResponse(s.Time.GetUtcNow().ToUnixTimeSeconds(), data, metadata), GatewayJson.Context.ImagesResponse);
    }

    private static async Task<IResult> FailAsync(Run run, ApiError error, bool byok)
    {
        run.Byok = byok;
        await RecordAsync(run, null, 0, Millicredits.Zero, byok, error.Status);
        return error;
    }

    private static Task RecordAsync(Run run, string? provider, int images, Millicredits cost, bool byok, int status) =>
        run.S.Usage.RecordAsync(ToUsageEvent(run, provider, images, cost, byok, status), CancellationToken.None);

    private static UsageEvent ToUsageEvent(Run run, string? provider, int images, Millicredits cost, bool byok, int status) =>
        new(run.Caller.AccountId, run.Caller.KeyId, run.Spec!.Model.Id, provider, run.Tier!.Name,
            run.Spec.Size, run.Spec.Quality, images, cost.Value, byok, status, run.Spec.User, run.ElapsedMs);

    private static ImageJob ToJob(GenerationSpec spec, RouteStep step) =>
        new(step.UpstreamModel, spec.Prompt, spec.N, spec.Width, spec.Height, spec.Size, spec.Quality, spec.Style, spec.Seed, spec.User);

    private static async Task<(ImageDatum[] Data, long? ExpiresAt, ApiError? Error)> ToResponseDataAsync(
        HttpContext http, GenerationSpec spec, IReadOnlyList<GeneratedImage> images, GenerationServices s)
    {
        var options = s.Options.Value;
        var data = new ImageDatum[images.Count];
        if (spec.ResponseFormat == GenerationSpec.B64Json)
        {
            for (var i = 0; i < images.Count; i++) data[i] = new ImageDatum(null, images[i], images[i].RevisedPrompt);
            return (data, null, null);
        }

        var expiresAt = s.Time.GetUtcNow().AddSeconds(options.Storage.UrlTtlSeconds);
        var origin = !string.IsNullOrEmpty(options.PublicBaseUrl)
            ? options.PublicBaseUrl.TrimEnd('/')
            : $"{http.Request.Scheme}://{http.Request.Host.Value}";
        try
        {
            var names = images.Select(image => StoredImageName.New(expiresAt, image.Extension)).ToArray();
            using (GatewayMetrics.Activities.StartActivity("generate.store"))
                await Task.WhenAll(images.Select((image, i) => s.Store.SaveAsync(names[i], image.Bytes, image.MediaType, CancellationToken.None)));
            s.Metrics.StorageWritten(images.Sum(image => (long)image.Bytes.Length));
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

internal static partial class GenerationLog
{
    [LoggerMessage(Level = LogLevel.Information,
        Message = "generate account={AccountId} model={Model} provider={Provider} status={Status} images={Images} cost={Cost} byok={Byok} total_ms={TotalMs:0.0} upstream_ms={UpstreamMs:0.0}")]
    public static partial void Finished(ILogger logger, string accountId, string model, string provider, int status, int images,
        string cost, bool byok, double totalMs, double upstreamMs);
}
