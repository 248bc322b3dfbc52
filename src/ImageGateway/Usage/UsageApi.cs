using Microsoft.AspNetCore.Http.HttpResults;
using ImageGateway.Accounts;
using ImageGateway.Billing;
using ImageGateway.Http;

namespace ImageGateway.Usage;

/// <param name="Day">The UTC day, YYYY-MM-DD.</param>
/// <param name="Model">The model.</param>
/// <param name="Provider">The provider; null when none answered.</param>
/// <param name="Tier">The tier at the time.</param>
/// <param name="Byok">Whether these requests used the caller's own key.</param>
/// <param name="Requests">Requests.</param>
/// <param name="Images">Images made.</param>
/// <param name="Credits">Credits charged.</param>
public sealed record UsageRowDto(string Day, string Model, string? Provider, string Tier, bool Byok, long Requests, long Images, Millicredits Credits);

/// <param name="Requests">Requests.</param>
/// <param name="Images">Images made.</param>
/// <param name="Credits">Credits charged.</param>
public sealed record UsageSplit(long Requests, long Images, Millicredits Credits);

/// <param name="Requests">Requests, all rows.</param>
/// <param name="Images">Images made, all rows.</param>
/// <param name="Credits">Credits charged, all rows.</param>
/// <param name="Platform">The totals on the platform's providers.</param>
/// <param name="Byok">The totals on the callers' own keys.</param>
public sealed record UsageTotals(long Requests, long Images, Millicredits Credits, UsageSplit Platform, UsageSplit Byok);

/// <param name="Days">The window, in days back from today.</param>
/// <param name="UserId">The account asked about; null for all accounts (admin).</param>
/// <param name="Data">One row per day, model, provider, tier and BYOK.</param>
/// <param name="Totals">Sums over the rows.</param>
public sealed record UsageResponse(int Days, string? UserId, IReadOnlyList<UsageRowDto> Data, UsageTotals Totals)
{
    /// <summary>Per model, where upstream costs are known (admin view only): revenue, upstream cost and margin in US dollars.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<ModelMargin>? Margins { get; init; }
}

/// <summary>
/// Over the <see cref="PricedRequests"/> whose upstream reported a cost: what the callers paid
/// (credits at <c>Gateway:Billing:UsdPerCredit</c>), what the upstream cost, and the difference.
/// </summary>
/// <param name="Model">The model.</param>
/// <param name="PricedRequests">Requests whose upstream reported a cost.</param>
/// <param name="RevenueUsd">What the callers paid for them, in US dollars.</param>
/// <param name="UpstreamCostUsd">What the upstream charged, in US dollars.</param>
/// <param name="MarginUsd">Revenue minus upstream cost.</param>
public sealed record ModelMargin(string Model, long PricedRequests, decimal RevenueUsd, decimal UpstreamCostUsd, decimal MarginUsd);

/// <summary>
/// Usage per UTC day, model, provider and tier, BYOK and platform apart. Every generate request
/// that reached a provider is counted, failed ones with 0 images and 0 credits.
/// </summary>
public static class UsageApi
{
    public const int MaxDays = 366;

    public static IEndpointRouteBuilder MapUsageApi(this IEndpointRouteBuilder group)
    {
        group.MapGet("/usage", GetOwnAsync).RequireGatewayKey().WithTags(ApiDocs.Tags.Money).ProducesErrors(400);
        return group;
    }

    public static IEndpointRouteBuilder MapAdminUsageApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/admin/usage", GetAnyAsync).RequireGatewayKey(KeyScope.Admin).WithTags(ApiDocs.Tags.Admin).ProducesErrors(400);
        return app;
    }

    /// <summary>Get your usage</summary>
    /// <remarks>Requests, images and credits per UTC day, model, provider and tier over the last <c>days</c> (default 30), BYOK and platform apart.</remarks>
    public static Task<Results<JsonOk<UsageResponse>, ApiError>> GetOwnAsync(Caller caller, UsageStore usage, TimeProvider time, CancellationToken ct, int? days = null) =>
        UsageAsync(caller.AccountId, usage, time, days, null, ct);

    /// <summary>Get everyone's usage</summary>
    /// <remarks>Admin. The usage report across accounts (optionally one <c>user_id</c>), with the margin per model where the upstream reports its cost.</remarks>
    public static Task<Results<JsonOk<UsageResponse>, ApiError>> GetAnyAsync(UsageStore usage, TimeProvider time,
        Microsoft.Extensions.Options.IOptions<BillingOptions> billing, CancellationToken ct, int? days = null, string? user = null) =>
        UsageAsync(string.IsNullOrEmpty(user) ? null : user, usage, time, days, billing.Value.UsdPerCredit, ct);

    /// <param name="usdPerCredit">Set for the admin view, which adds the margin per model.</param>
    private static async Task<Results<JsonOk<UsageResponse>, ApiError>> UsageAsync(string? accountId, UsageStore usage, TimeProvider time, int? days,
        decimal? usdPerCredit, CancellationToken ct)
    {
        var span = days ?? 30;
        if (span is < 1 or > MaxDays) return ApiError.Invalid("days", $"'days' must be between 1 and {MaxDays}.");
        var today = time.GetUtcNow().UtcDateTime.Date;
        var since = new DateTimeOffset(today.AddDays(-(span - 1)), TimeSpan.Zero);
        var rows = await usage.AggregateAsync(since, accountId, ct);

        UsageSplit Split(bool byok) => new(rows.Where(r => r.Byok == byok).Sum(r => r.Requests), rows.Where(r => r.Byok == byok).Sum(r => r.Images),
            new Millicredits(rows.Where(r => r.Byok == byok).Sum(r => r.Credits.Value)));
        var totals = new UsageTotals(rows.Sum(r => r.Requests), rows.Sum(r => r.Images), new Millicredits(rows.Sum(r => r.Credits.Value)),
            Split(false), Split(true));
        var data = rows.Select(r => new UsageRowDto(r.Day.ToString("yyyy-MM-dd"), r.Model, r.Provider, r.Tier, r.Byok, r.Requests, r.Images, r.Credits)).ToArray();
        var margins = usdPerCredit is not { } rate ? null : rows.Where(r => r.PricedRequests > 0).GroupBy(r => r.Model).Select(g =>
        {
            var revenue = g.Sum(r => r.PricedCredits) / 1000m * rate;
            var cost = g.Sum(r => r.UpstreamCostMicroUsd) / 1_000_000m;
            return new ModelMargin(g.Key, g.Sum(r => r.PricedRequests), revenue, cost, revenue - cost);
        }).OrderBy(m => m.Model, StringComparer.Ordinal).ToArray();
        return ApiResults.Ok(new UsageResponse(span, accountId, data, totals) { Margins = margins }, GatewayJson.Context.UsageResponse);
    }
}
