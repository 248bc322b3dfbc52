using System.Diagnostics;
using System.Text;
using System.Text.Json;
using ImageGateway.Accounts;
using ImageGateway.Billing;
using ImageGateway.Byok;
using ImageGateway.Catalog;
using ImageGateway.Data;
using ImageGateway.History;
using ImageGateway.Hosting;
using ImageGateway.Http;
using ImageGateway.Observability;
using ImageGateway.Providers;
using ImageGateway.RateLimits;
using ImageGateway.Usage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace ImageGateway.Generation;

/// <summary>The generate request, start to finish. Each step is a call into the folder that owns it.</summary>
public sealed class GenerationPipeline(ModelCatalog catalog, ProviderRegistry providers, ProviderRouter router, Database database,
    CreditLedger ledger, RoutePlanner planner, UsageStore usage, HistoryStore history, ImageRateLimiter rateLimiter, IdempotencyStore idempotency,
    ImageDelivery delivery, GenerationRequests requests, GatewayMetrics metrics, TimeProvider time, IOptions<BillingOptions> billing, IOptions<ByokOptions> byokOptions,
    ILogger<GenerationPipeline> logger)
{
    /// <summary>
    /// 1. Validate the body and the Idempotency-Key.
    /// 2. Claim the Idempotency-Key, or answer what it stored.
    /// 3. Price the request at the caller's tier.
    /// 4. Admit it against the tier's image windows.
    /// 5. BYOK: try the caller's own key first (free), if they have one for the model's route.
    /// 6. Hold the credits (nothing for BYOK or a free model).
    /// 7. Call the platform's providers, in route order.
    /// 8. Store the images (url mode).
    /// 9. Settle the charge with its usage event and history entry, in one write.
    /// 10. Respond, and keep the answer for the Idempotency-Key.
    /// The claim, the admission and the hold are given back when the request does not complete.
    /// A failure or a refusal after step 3 gets its history entry where it is answered.
    /// </summary>
    public async Task<Results<ImagesOk, ContentHttpResult, ApiError, EmptyHttpResult>> RunAsync(HttpContext http, Caller caller,
        ImageOperation operation = ImageOperation.Generate)
    {
        var ct = http.RequestAborted;
        var trace = new GenerationTrace(caller, metrics, logger);
        var key = http.Request.Headers[IdempotencyStore.Header].ToString() is { Length: > 0 } header ? header : null;

        // :: Step 1: validate
        var (spec, invalid, bodyHash) = await requests.ReadAsync(http.Request, key, operation, ct);
        if (invalid is not null) return trace.Done(invalid);
        trace.Spec = spec!;
        // A streamed answer starts with its first event; until then a failure is an ordinary error.
        var stream = spec!.Stream ? new ImageStream(http.Response, operation == ImageOperation.Edit ? "image_edit" : "image_generation") : null;
        async Task<Results<ImagesOk, ContentHttpResult, ApiError, EmptyHttpResult>> Refuse(ApiError error)
        {
            if (stream is not { Started: true }) return trace.Done(error);
            await stream.WriteErrorAsync(error);
            trace.Done(error);
            return TypedResults.Empty;
        }
        Results<ImagesOk, ContentHttpResult, ApiError, EmptyHttpResult> Gone()
        {
            trace.Done(Disconnected(trace)); // logged and counted as 499; nothing is written to a closed connection
            return TypedResults.Empty;
        }

        // :: Step 2: claim the Idempotency-Key
        await using var claim = key is null ? null : await idempotency.ClaimAsync(caller.AccountId, key, bodyHash!, ct);
        if (claim is { State: ClaimState.Replay }) return trace.Done(claim.Replay(http.Response));
        if (claim is { State: not ClaimState.Claimed }) return trace.Done(GenerationErrors.ClaimRefused(claim));

        // :: Step 3: price
        var tier = trace.Tier = catalog.GetTier(caller.Tier);
        var quote = spec!.Quote(tier);

        // :: Step 4: admit
        var limits = EffectiveLimits.For(tier, caller.Limits);
        await using var admission = await rateLimiter.AdmitAsync(caller.AccountId, limits, spec.N, ct);
        GenerationErrors.SetRateLimitHeaders(http.Response, admission);
        if (admission.Refusal is { } refusal) return trace.Done(RateLimited(refusal, tier));

        // :: Step 5: BYOK
        RoutePlan plan;
        RouteOutcome? outcome;
        ApiError? byokError;
        try
        {
            plan = await planner.PlanAsync(caller.AccountId, spec, ct);
            (outcome, byokError) = plan.ByokError is not null ? (null, await RefusedAsync(trace, plan.ByokError)) : plan.Byok is null ? (null, null)
                : await TryByokAsync(trace, plan.Byok, admission, stream, fallbackPossible: plan.Platform.Count > 0, ct);
        }
        catch (Exception e) when (stream is not null && ct.IsCancellationRequested && e is OperationCanceledException or IOException)
        {
            return Gone();
        }
        if (byokError is not null) return await Refuse(byokError);
        var isByok = outcome is not null;
        var platformRoute = plan.Platform;
        if (!isByok && platformRoute.Count == 0) return trace.Done(await RefusedAsync(trace, GenerationErrors.NoProvider(spec, providers, caller.IsAdmin)));

        // :: Step 6: hold the credits
        var (held, holdRefusal) = isByok || quote.Max.Value == 0 ? (CreditHold.None, null) : await HoldAsync(trace, quote.Max, limits.MonthlyCap, ct);
        if (holdRefusal is not null) return trace.Done(await RefusedAsync(trace, holdRefusal));
        await using var hold = held!;

        // :: Step 7: call the platform's providers (a streaming caller gets their partial images as they come)
        if (!isByok)
        {
            try
            {
                outcome = await CallProvidersAsync(trace, platformRoute, stream, ct);
            }
            catch (Exception e) when (stream is not null && ct.IsCancellationRequested && e is OperationCanceledException or IOException)
            {
                return Gone(); // the hold is released as it is disposed: nothing charged
            }
            admission.Keep(); // a provider was reached: the images stay counted
            if (outcome.Result.Failure is { } failure) return await Refuse(await FailAsync(trace, GenerationErrors.Provider(failure, spec.Model.Id, caller.IsAdmin), byok: false));
        }
        var (result, servedBy) = (outcome!.Result, outcome.ServedBy!);

        // :: Step 8: store (scaled down first when a retired model's size was made larger)
        if (spec.Downscale && (result = delivery.FitToSize(spec, result)).Failure is { } unreadable)
        {
            await hold.ReleaseAsync("upstream image unreadable");
            return await Refuse(await FailAsync(trace, GenerationErrors.Provider(unreadable, spec.Model.Id, caller.IsAdmin), isByok));
        }
        var delivered = await delivery.DeliverAsync(http.Request, spec, result.Images);
        if (delivered is null)
        {
            await hold.ReleaseAsync("image storage failed");
            return await Refuse(await FailAsync(trace, GenerationErrors.StorageFailed(), isByok));
        }

        // :: Step 9: settle (a streaming caller who left before the answer is not charged)
        if (stream is not null && ct.IsCancellationRequested) return Gone();
        var count = result.Images.Count;
        var charge = isByok ? Millicredits.Zero : Charge(spec, tier, count, result.Usage, servedBy);
        Answer? answer = null;
        var settlement = await SettleAsync(hold, charge, $"{spec.Model.Id} ×{count} {spec.Size} {spec.Quality} via {servedBy.Provider.Name}",
            charged => (trace.UsageEvent(servedBy.Provider.Name, count, charged, isByok, StatusCodes.Status200OK, result.UpstreamCostUsd),
                trace.History(HistoryStatus.Succeeded, null, isByok, servedBy.Provider.Name, count, charged, delivered.Files)),
            async (scope, settled) =>
            {
                // The answer is made from the settle, and kept for the Idempotency-Key in the same
                // commit: a charged request can always be replayed, even if we crash before sending it.
                trace.Served(servedBy.Provider.Name, count, settled.Charged, isByok);
                answer = Answer.Make(trace, servedBy, result, delivered, settled, stream, keep: claim is not null, time);
                if (claim is not null) await claim.StoreAsync(scope, StatusCodes.Status200OK, answer.Kept!, settled.TransactionId, settled.Charged);
            });
        if (settlement is null) return await Refuse(await FailAsync(trace, GenerationErrors.HoldExpired(), isByok));
        claim?.Committed();
        if (settlement.WrittenOff.Value > 0) WrittenOff(trace, settlement.WrittenOff);

        // :: Step 10: respond
        var response = await answer!.SendAsync(stream);
        return response is null ? trace.Done(TypedResults.Empty) : trace.Done(response);
    }

    /// <summary>The streaming caller went away: the upstream call was cancelled with the request, and nothing is charged.</summary>
    private ApiError Disconnected(GenerationTrace trace)
    {
        metrics.StreamDisconnected(trace.Spec!.Model.Id);
        return new ApiError(499, "invalid_request_error", "client_closed_request", "The client closed the stream before the answer; nothing was charged.");
    }

    private ApiError RateLimited(RateLimitRefusal refusal, TierDefinition tier)
    {
        metrics.RateLimited(tier.Name, "window");
        return GenerationErrors.RateLimited(refusal, tier.Name);
    }

    /// <summary>
    /// Serves the request with the caller's own key when they have one for the model's route. A
    /// failure is the caller's answer unless the operator lets it fall back to the platform (billed).
    /// </summary>
    private async Task<(RouteOutcome? Served, ApiError? Error)> TryByokAsync(GenerationTrace trace, ByokChoice choice, RateLimitAdmission admission,
        ImageStream? stream, bool fallbackPossible, CancellationToken ct)
    {
        var route = planner.ByokRoute(choice);
        var outcome = await CallProvidersAsync(trace, route, stream, ct);
        admission.Keep(); // a provider was reached: the images stay counted
        if (outcome.Result.Failure is not { } failure) return (outcome, null);
        if (!byokOptions.Value.FallbackToPlatform || !fallbackPossible)
            return (null, await FailAsync(trace, GenerationErrors.Byok(route[0].Provider.Name, failure, trace.Spec!.Model.Id, trace.Caller.IsAdmin), byok: true));
        trace.ByokFellBack = true;
        return (null, null);
    }

    /// <summary>
    /// A per-token model is charged the usage its upstream reported. An answer without usage is
    /// charged the estimate (the tables, no margin), and says so in the log.
    /// </summary>
    private Millicredits Charge(GenerationSpec spec, TierDefinition tier, int images, TokenUsage? usage, RouteStep servedBy)
    {
        var (charge, estimated) = spec.Charge(tier, images, usage);
        if (estimated) GenerationLog.NoUsage(logger, spec.Model.Id, servedBy.Provider.Name, charge.ToString());
        return charge;
    }

    private void WrittenOff(GenerationTrace trace, Millicredits amount)
    {
        metrics.WrittenOff(trace.Tier!.Name, trace.Spec!.Model.Id, amount.Value);
        GenerationLog.WrittenOff(logger, trace.Caller.AccountId, trace.Spec.Model.Id, amount.ToString());
    }

    private async Task<(CreditHold? Hold, ApiError? Refusal)> HoldAsync(GenerationTrace trace, Millicredits cost, Millicredits? monthlyCap, CancellationToken ct)
    {
        using var _ = GatewayMetrics.Activities.StartActivity("generate.reserve");
        var spec = trace.Spec!;
        var outcome = await ledger.ReserveAsync(trace.Caller.AccountId, cost, TimeSpan.FromSeconds(billing.Value.HoldTimeoutSeconds),
            $"{spec.Model.Id} ×{spec.N} {spec.Size} {spec.Quality}", monthlyCap, ct);
        if (outcome.Refusal == ReserveRefusal.MonthlyCap)
        {
            metrics.RateLimited(trace.Tier!.Name, "monthly_cap");
            return (null, GenerationErrors.MonthlyCapExceeded(monthlyCap!.Value, outcome, cost, trace.Tier.Name, time.GetUtcNow()));
        }
        return outcome.Succeeded ? (new CreditHold(ledger, database, outcome.Reservation), null) : (null, GenerationErrors.InsufficientCredits(outcome, cost));
    }

    /// <summary>The provider step, timed as upstream time; failures are counted per provider and reason.</summary>
    private async Task<RouteOutcome> CallProvidersAsync(GenerationTrace trace, IReadOnlyList<RouteStep> route, ImageStream? stream, CancellationToken ct)
    {
        using var activity = GatewayMetrics.Activities.StartActivity("generate.provider");
        var started = Stopwatch.GetTimestamp();
        try
        {
            var spec = trace.Spec!;
            Func<PartialImage, CancellationToken, ValueTask>? onPartial = stream is null ? null
                : async (partial, token) => await stream.WriteAsync(StreamEvents.Partial(stream.Prefix, spec, partial, time), token);
            var outcome = await router.GenerateAsync(route, step => spec.Job(step.UpstreamModel) with { OnPartial = onPartial }, ct);
            if (outcome.Result.Failure is { } failure)
                metrics.ProviderFailed(outcome.ServedBy?.Provider.Name ?? route[^1].Provider.Name, failure.Kind);
            activity?.SetTag("provider", outcome.ServedBy?.Provider.Name);
            return outcome;
        }
        finally
        {
            trace.UpstreamTime += Stopwatch.GetElapsedTime(started);
        }
    }

    /// <summary>
    /// A hold is settled with its usage event and history entry (one command: no round trip of their
    /// own); without a hold (BYOK, a free model) the two are written alone. Null when the hold expired
    /// first: the sweeper released it and nothing may be charged.
    /// </summary>
    private async Task<Settled?> SettleAsync(CreditHold hold, Millicredits charged, string description,
        Func<Millicredits, (UsageEvent Usage, HistoryEntry History)> records, Func<WriteScope, Settled, Task> alongside)
    {
        if (hold.Reservation is null)
        {
            var free = records(charged);
            var remaining = (await ledger.GetBalanceAsync(free.Usage.AccountId, CancellationToken.None))?.Total ?? Millicredits.Zero;
            var none = new Settled(null, remaining, Millicredits.Zero, charged);
            await database.WriteAsync(async scope =>
            {
                await scope.ExecuteAsync(usage.Insert(free.Usage), history.Insert(free.History));
                await alongside(scope, none);
                return true;
            }, CancellationToken.None);
            return none;
        }
        try
        {
            using var _ = GatewayMetrics.Activities.StartActivity("generate.settle");
            var settled = await hold.SettleAsync(charged, description, async (scope, settled) =>
            {
                var (usageEvent, entry) = records(settled.Charged);
                await scope.ExecuteAsync(usage.Insert(usageEvent), history.Insert(entry));
                await alongside(scope, new Settled(settled.TransactionId, settled.BalanceAfter, settled.WrittenOff, settled.Charged));
            });
            return new Settled(settled.TransactionId, settled.BalanceAfter, settled.WrittenOff, settled.Charged);
        }
        catch (ReservationClosedException)
        {
            return null;
        }
    }

    private async Task<ApiError> FailAsync(GenerationTrace trace, ApiError error, bool byok)
    {
        trace.Byok = byok;
        var (failed, entry) = (trace.UsageEvent(null, 0, Millicredits.Zero, byok, error.Status), trace.History(HistoryStatus.Failed, error, byok));
        await database.WriteAsync(scope => scope.ExecuteAsync(usage.Insert(failed), history.Insert(entry)), CancellationToken.None);
        return error;
    }

    /// <summary>A refusal after validation (credits, monthly cap, no provider, an unusable BYOK key): only its history entry is written.</summary>
    private async Task<ApiError> RefusedAsync(GenerationTrace trace, ApiError error)
    {
        await history.RecordAsync(trace.History(HistoryStatus.Refused, error, byok: false));
        return error;
    }
}
