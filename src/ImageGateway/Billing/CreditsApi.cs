using Microsoft.AspNetCore.Http.HttpResults;
using ImageGateway.Accounts;
using ImageGateway.Catalog;
using ImageGateway.Http;

namespace ImageGateway.Billing;

/// <param name="UserId">Your account id.</param>
/// <param name="CreditsRemaining">Your balance.</param>
/// <param name="Reserved">Credits held by your running requests.</param>
/// <param name="Available">Balance minus holds: what a new request may use.</param>
/// <param name="Tier">Your tier.</param>
/// <param name="MonthlyCap">Credits you may spend a calendar month (UTC); null when uncapped.</param>
/// <param name="MonthlySpent">Credits spent this calendar month.</param>
public sealed record CreditsResponse(
    string UserId,
    Millicredits CreditsRemaining,
    Millicredits Reserved,
    Millicredits Available,
    string Tier,
    Millicredits? MonthlyCap,
    Millicredits MonthlySpent);

/// <param name="Id">The ledger entry id.</param>
/// <param name="Type"><c>grant</c>, <c>purchase</c>, <c>adjustment</c>, <c>reserve</c>, <c>settle</c>, <c>release</c>, <c>expire_hold</c> or <c>write_off</c>.</param>
/// <param name="Amount">The change to the balance (negative for a charge).</param>
/// <param name="Hold">The change to the credits held.</param>
/// <param name="BalanceAfter">The balance after this entry.</param>
/// <param name="ReservationId">The hold it belongs to; null for grants and adjustments.</param>
/// <param name="Description">What it was for; null without one.</param>
/// <param name="CreatedAt">When it was written (unix seconds).</param>
public sealed record TransactionDto(
    string Id,
    string Type,
    Millicredits Amount,
    Millicredits Hold,
    Millicredits BalanceAfter,
    string? ReservationId,
    string? Description,
    long CreatedAt)
{
    /// <summary>On a <c>write_off</c> entry: what a settle could not charge (the answer cost more than the hold and the balance).</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public Millicredits? WrittenOff { get; init; }
}

/// <param name="Transactions">This page of entries, newest first.</param>
/// <param name="Total">Entries in all.</param>
/// <param name="Limit">Page size asked for.</param>
/// <param name="Offset">Entries skipped before this page.</param>
public sealed record TransactionsResponse(IReadOnlyList<TransactionDto> Transactions, long Total, int Limit, int Offset);

public static class CreditsApi
{
    public const int MaxPageSize = 200;

    public static IEndpointRouteBuilder MapCreditsApi(this IEndpointRouteBuilder group)
    {
        group.MapGet("/credits", GetCreditsAsync).RequireGatewayKey().WithTags(ApiDocs.Tags.Money);
        group.MapGet("/credits/history", GetHistoryAsync).RequireGatewayKey().WithTags(ApiDocs.Tags.Money).ProducesErrors(400);
        return group;
    }

    /// <summary>Get your balance</summary>
    /// <remarks>Balance, credits held by running requests, what is available, the tier, the monthly cap and this month's spend.</remarks>
    public static async Task<JsonOk<CreditsResponse>> GetCreditsAsync(Caller caller, CreditLedger ledger, ModelCatalog catalog, CancellationToken ct)
    {
        var balance = await ledger.GetBalanceAsync(caller.AccountId, ct) ?? new Balance(Millicredits.Zero, Millicredits.Zero);
        var tier = catalog.GetTier(caller.Tier);
        var spent = await ledger.MonthSpentAsync(caller.AccountId, ct);
        return ApiResults.Ok(new CreditsResponse(caller.AccountId, balance.Total, balance.Reserved, balance.Available,
            tier.Name, RateLimits.EffectiveLimits.For(tier, caller.Limits).MonthlyCap, spent), GatewayJson.Context.CreditsResponse);
    }

    /// <summary>List your ledger entries</summary>
    /// <remarks>Grants, holds, settles, releases and write-offs, newest first, paged with <c>limit</c> (1-200) and <c>offset</c>.</remarks>
    public static async Task<Results<JsonOk<TransactionsResponse>, ApiError>> GetHistoryAsync(Caller caller, CreditLedger ledger, CancellationToken ct, int? limit = null, int? offset = null)
    {
        var take = limit ?? 50;
        var skip = offset ?? 0;
        if (take is < 1 or > MaxPageSize) return ApiError.Invalid("limit", $"'limit' must be between 1 and {MaxPageSize}.");
        if (skip < 0) return ApiError.Invalid("offset", "'offset' must not be negative.");
        var (entries, total) = await ledger.HistoryAsync(caller.AccountId, take, skip, ct);
        return ApiResults.Ok(new TransactionsResponse(entries.Select(ToDto).ToArray(), total, take, skip), GatewayJson.Context.TransactionsResponse);
    }

    public static TransactionDto ToDto(LedgerEntry e) => new(e.Id, e.Kind, e.Amount, e.Hold, e.BalanceAfter,
        e.ReservationId, e.Description, e.CreatedAt.ToUnixTimeSeconds()) { WrittenOff = e.Kind == LedgerKind.WriteOff ? e.WrittenOff : null };

}
