using System.Globalization;
using ImageGateway.Billing;
using ImageGateway.Http;
using ImageGateway.Providers;
using ImageGateway.RateLimits;

namespace ImageGateway.Generation;

/// <summary>The outcomes of the pipeline's steps as the caller sees them: status, error body and headers.</summary>
public static class GenerationErrors
{
    public static ApiError KeyTooLong() =>
        ApiError.Invalid(IdempotencyStore.Header, $"Idempotency-Key may be at most {IdempotencyStore.MaxKeyLength} characters.");

    public static ApiError ClaimRefused(IdempotencyClaim claim) => claim.State == ClaimState.OtherBody
        ? new ApiError(422, "invalid_request_error", "idempotency_key_reused",
            "This Idempotency-Key was already used with a different request body. Use a new key for a new request.", IdempotencyStore.Header)
        : new ApiError(409, "invalid_request_error", "idempotency_key_in_use",
            "A request with this Idempotency-Key is still running; retry after it finishes.", IdempotencyStore.Header);

    /// <summary>X-RateLimit-* describe the window with the fewest images left (or the one that refused); Reset is its end in unix seconds.</summary>
    public static void SetRateLimitHeaders(HttpResponse response, RateLimitAdmission admission)
    {
        if (admission.Shown is not { } shown) return;
        var headers = response.Headers;
        headers["X-RateLimit-Limit"] = shown.Window.Limit.ToString(CultureInfo.InvariantCulture);
        headers["X-RateLimit-Remaining"] = shown.Remaining.ToString(CultureInfo.InvariantCulture);
        headers["X-RateLimit-Reset"] = shown.Window.End.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
    }

    public static ApiError RateLimited(RateLimitRefusal refusal, string tier)
    {
        var window = refusal.Window;
        var message = refusal.Requested > window.Limit
            ? $"This request asks for {refusal.Requested} images but the {tier} tier allows {window.Limit} per {window.Name}."
            : $"Rate limit exceeded: {window.Limit} images per {window.Name} on the {tier} tier; {refusal.Used} used in this window. Retry after {refusal.RetryAfterSeconds} s.";
        return new ApiError(429, "rate_limit_error", "rate_limit_exceeded", message)
            .WithHeader("Retry-After", refusal.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture));
    }

    public static ApiError MonthlyCapExceeded(Millicredits cap, ReserveOutcome hold, Millicredits cost, string tier, DateTimeOffset now)
    {
        var nextMonth = WindowLimit.For(WindowKind.Month, 0, now).End;
        return new ApiError(429, "rate_limit_error", "monthly_cap_exceeded",
                $"Monthly spending cap reached: the cap is {cap.ToDisplay()} credits ({tier} tier), {hold.MonthSpent.ToDisplay()} spent this month"
                + $" and {hold.Balance.Reserved.ToDisplay()} held by running requests; this request costs {cost.ToDisplay()}.")
            .WithHeader("Retry-After", ImageRateLimiter.SecondsUntil(nextMonth, now).ToString(CultureInfo.InvariantCulture));
    }

    public static ApiError InsufficientCredits(ReserveOutcome hold, Millicredits cost) => ApiError.InsufficientCredits(
        $"Insufficient credits. Balance: {hold.Balance.Available.ToDisplay()}, Estimated cost: {cost.ToDisplay()} credits");

    public static ApiError StorageFailed() => new(503, "api_error", "storage_unavailable",
        "The images were generated but could not be stored; you were not charged. Try again or use response_format=b64_json.");

    public static ApiError HoldExpired() => ApiError.UpstreamTimeout(
        "The generation outlasted the credit hold timeout and was discarded; you were not charged.");

    /// <summary>
    /// Provider failures as the caller sees them. Every one of these is uncharged. A request the
    /// upstream refused as malformed is a 400 (retrying cannot help); outages are 502/504. Only an
    /// admin caller sees what failed (settings, circuit state, sizes); a user is told the model
    /// failed, because the rest is the operator's to fix and names their configuration.
    /// </summary>
    public static ApiError Provider(ProviderFailure failure, string model, bool detailed)
    {
        var shown = detailed || failure.ForAnyCaller;
        return failure.Kind switch
        {
            FailureKind.ContentPolicy => ApiError.ContentPolicy(failure.Message),
            FailureKind.Rejected => new ApiError(400, "invalid_request_error", "upstream_rejected", $"{failure.Message} You were not charged."),
            FailureKind.Timeout => ApiError.UpstreamTimeout(shown ? $"{failure.Message} You were not charged."
                : $"The provider serving {model} did not answer in time. You were not charged; try again later."),
            _ => ApiError.Upstream(shown ? $"{failure.Message} You were not charged."
                : $"{model} could not make the images right now. You were not charged; try again later."),
        };
    }

    /// <summary>
    /// No provider can serve the model. The existing code (503 no_provider) stays; only an admin is
    /// told which settings would enable it (environment-variable names are the operator's business).
    /// </summary>
    public static ApiError NoProvider(GenerationSpec spec, ProviderRegistry providers, bool detailed)
    {
        var verb = spec.Operation == ImageOperation.Edit ? "edit images" : "make variations";
        var cannotDo = spec.Operation != ImageOperation.Generate && providers.Route(spec.RouteModel).Count > 0;
        if (!detailed)
            return ApiError.NoProvider(cannotDo ? $"{spec.Model.Id} cannot {verb} here right now." : $"{spec.Model.Id} is not available here right now.");
        return ApiError.NoProvider(cannotDo ? $"No provider on {spec.RouteModel}'s route can {verb}."
            : providers.DescribeNoProvider(spec.RouteModel, spec.Model.Id));
    }

    /// <summary>
    /// The caller's own key failed: they see why, in terms they can act on, and nothing is billed.
    /// A rejected key is permanent (no SDK retries it); an upstream rate limit stays retryable.
    /// </summary>
    public static ApiError Byok(string provider, ProviderFailure failure, string model, bool detailed) => failure switch
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
        _ => Provider(failure, model, detailed),
    };
}
