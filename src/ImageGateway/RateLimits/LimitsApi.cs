using ImageGateway.Accounts;
using ImageGateway.Billing;
using ImageGateway.Catalog;
using ImageGateway.Http;

namespace ImageGateway.RateLimits;

/// <summary>One image window as a caller sees it. Limit, used and remaining are null when the window is unlimited.</summary>
/// <param name="Window"><c>minute</c>, <c>hour</c>, <c>day</c> or <c>month</c> (calendar-aligned, UTC).</param>
/// <param name="Limit">Images allowed in the window; null = unlimited.</param>
/// <param name="Used">Images counted in the current window.</param>
/// <param name="Remaining">Images left in it.</param>
/// <param name="ResetsAt">When the current window ends and its count frees (unix seconds).</param>
public sealed record WindowUsage(string Window, int? Limit, int? Used, int? Remaining, long ResetsAt);

/// <summary>What an account may still do: its tier, each image window, and the monthly credit cap.</summary>
/// <param name="UserId">The account.</param>
/// <param name="Tier">Its tier.</param>
/// <param name="Multiplier">The tier's markup on base prices.</param>
/// <param name="Customized">Whether an admin set limits of its own for this account (they replace the tier's).</param>
/// <param name="Windows">Minute, hour, day and month, in that order.</param>
/// <param name="MonthlyCap">Credits the account may spend per calendar month; null = no cap.</param>
/// <param name="MonthSpent">Credits charged this month.</param>
/// <param name="Reserved">Credits held by running requests (they count against the cap).</param>
/// <param name="MonthRemaining">Cap minus spent minus held, never below 0; null without a cap.</param>
/// <param name="MonthResetsAt">When the month (and its spend) resets (unix seconds).</param>
public sealed record LimitsStatus(string UserId, string Tier, decimal Multiplier, bool Customized, IReadOnlyList<WindowUsage> Windows,
    Millicredits? MonthlyCap, Millicredits MonthSpent, Millicredits Reserved, Millicredits? MonthRemaining, long MonthResetsAt);

/// <summary>The limits report, built one way for the caller's own endpoint and for the admin's view of a user.</summary>
public sealed class LimitsReport(ImageRateLimiter limiter, CreditLedger ledger, ModelCatalog catalog, TimeProvider time)
{
    public async Task<LimitsStatus> ForAsync(string accountId, string tierName, LimitOverrides? overrides, CancellationToken ct)
    {
        var tier = catalog.GetTier(tierName);
        var limits = EffectiveLimits.For(tier, overrides);
        var now = time.GetUtcNow();
        var used = await limiter.UsedAsync(accountId, limits, ct);
        var windows = new[] { (WindowKind.Minute, limits.PerMinute), (WindowKind.Hour, limits.PerHour), (WindowKind.Day, limits.PerDay), (WindowKind.Month, limits.PerMonth) }
            .Select(w =>
            {
                var window = WindowLimit.For(w.Item1, w.Item2, now);
                if (w.Item2 <= 0) return new WindowUsage(window.Name, null, null, null, window.End.ToUnixTimeSeconds());
                var count = used.TryGetValue(w.Item1, out var c) ? c : 0;
                return new WindowUsage(window.Name, w.Item2, count, Math.Max(0, w.Item2 - count), window.End.ToUnixTimeSeconds());
            }).ToArray();
        var spent = await ledger.MonthSpentAsync(accountId, ct);
        var reserved = (await ledger.GetBalanceAsync(accountId, ct))?.Reserved ?? Millicredits.Zero;
        Millicredits? left = limits.MonthlyCap is { } cap ? new Millicredits(Math.Max(0, cap.Value - spent.Value - reserved.Value)) : null;
        return new LimitsStatus(accountId, tier.Name, tier.Multiplier, overrides is { IsEmpty: false }, windows, limits.MonthlyCap, spent, reserved, left,
            WindowLimit.For(WindowKind.Month, 0, now).End.ToUnixTimeSeconds());
    }
}

public static class LimitsApi
{
    public static IEndpointRouteBuilder MapLimitsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/limits", GetLimitsAsync).RequireGatewayKey().WithTags(ApiDocs.Tags.Limits);
        return app;
    }

    /// <summary>Get your limits</summary>
    /// <remarks>Your tier and multiplier; each image window (minute, hour, day, month) with its limit, used, remaining and when it frees; the monthly credit cap, spent this month and what is left. Limits count images, not requests.</remarks>
    public static async Task<JsonOk<LimitsStatus>> GetLimitsAsync(Caller caller, LimitsReport report, CancellationToken ct) =>
        ApiResults.Ok(await report.ForAsync(caller.AccountId, caller.Tier, caller.Limits, ct), GatewayJson.Context.LimitsStatus);
}
