using ImageGateway.Accounts;
using ImageGateway.Billing;
using ImageGateway.Hosting;
using ImageGateway.Http;
using ImageGateway.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace ImageGateway.History;

/// <summary>
/// The caller's own history of requests, newest first: the console's gallery and prompt history,
/// and (every status, with its error) its activity list. Another account's entry is a 404, as a
/// missing one is.
/// </summary>
public static class HistoryApi
{
    public const int DefaultLimit = 20;
    public const int MaxLimit = 100;
    public const int MaxQueryLength = 200;

    public static IEndpointRouteBuilder MapHistoryApi(this IEndpointRouteBuilder app)
    {
        var history = app.MapGroup("/api/v1/history").RequireGatewayKey().WithTags(ApiDocs.Tags.History);
        history.MapGet("/", ListAsync).ProducesErrors(400);
        history.MapGet("/{id}", GetAsync).ProducesErrors(404);
        history.MapDelete("/{id}", DeleteAsync).ProducesErrors(404);
        history.MapDelete("/", DeleteAllAsync);
        // The activity list is the same record; the alias is for readers who look for it by that name.
        app.MapGet("/api/v1/activity", ListAsync).RequireGatewayKey().WithTags(ApiDocs.Tags.History).ProducesErrors(400)
            .WithSummary("List your activity").WithDescription("The same list as `GET /api/v1/history`, under the name the console's activity page uses.");
        return app;
    }

    public sealed record Links(SignedUrls Urls, IOptions<GatewayOptions> Gateway, TimeProvider Time, HttpRequest Request)
    {
        public string Origin => SignedUrls.Origin(Request, Gateway.Value.PublicBaseUrl);
    }

    /// <summary>List your history</summary>
    /// <remarks>
    /// Your requests, newest first, every outcome with its error. Paged by <c>limit</c> (1-100) and the
    /// <c>next_cursor</c> of the previous page; filtered by text in the prompt (<c>q</c>), <c>model</c> and <c>status</c>.
    /// </remarks>
    /// <param name="limit">Entries per page, 1-100 (default 20).</param>
    /// <param name="cursor">The <c>next_cursor</c> of the previous page; leave out for the first.</param>
    /// <param name="q">Only entries whose prompt contains this text (at most 200 characters).</param>
    /// <param name="model">Only entries for this model id.</param>
    /// <param name="status"><c>succeeded</c>, <c>failed</c> or <c>refused</c>.</param>
    public static async Task<Results<JsonOk<HistoryPage>, ApiError>> ListAsync(Caller caller, HistoryStore store, [AsParameters] Links links,
        CancellationToken ct, int? limit = null, string? cursor = null, string? q = null, string? model = null, string? status = null)
    {
        var take = limit ?? DefaultLimit;
        if (take is < 1 or > MaxLimit) return ApiError.Invalid("limit", $"'limit' must be between 1 and {MaxLimit}.");
        HistoryCursor? after = null;
        if (!string.IsNullOrEmpty(cursor) && !HistoryCursor.TryParse(cursor, out after))
            return ApiError.Invalid("cursor", "'cursor' is not one this endpoint gave out; start again without it.");
        if (q is { Length: > MaxQueryLength }) return ApiError.Invalid("q", $"'q' may be at most {MaxQueryLength} characters.");
        if (!string.IsNullOrEmpty(status) && !HistoryStatus.IsKnown(status))
            return ApiError.Invalid("status", $"'status' must be one of: {HistoryStatus.Succeeded}, {HistoryStatus.Failed}, {HistoryStatus.Refused}.");

        var query = new HistoryQuery(take, after, string.IsNullOrEmpty(q) ? null : q, string.IsNullOrEmpty(model) ? null : model,
            string.IsNullOrEmpty(status) ? null : status);
        var (rows, more) = await store.ListAsync(caller.AccountId, query, ct);
        var next = more ? new HistoryCursor(rows[^1].CreatedAt, rows[^1].Id).ToString() : null;
        return ApiResults.Ok(new HistoryPage(rows.Select(r => Item(r, links)).ToArray(), next, more), GatewayJson.Context.HistoryPage);
    }

    /// <summary>Get a history entry</summary>
    /// <remarks>One of your entries with the exact parameters to run it again (<c>request</c>); another account's id is a 404.</remarks>
    /// <param name="id">The entry's id, as the list gives it.</param>
    public static async Task<Results<JsonOk<HistoryItem>, ApiError>> GetAsync(string id, Caller caller, HistoryStore store, [AsParameters] Links links,
        CancellationToken ct)
    {
        var row = await store.GetAsync(caller.AccountId, id, ct);
        if (row is null) return NotFound();
        return ApiResults.Ok(Item(row, links) with { Request = row.RequestParameters() }, GatewayJson.Context.HistoryItem);
    }

    /// <summary>Delete a history entry</summary>
    /// <remarks>Removes the entry (its stored images expire on their own); what it was charged stays in the ledger.</remarks>
    /// <param name="id">The entry's id.</param>
    public static async Task<Results<JsonOk<HistoryDeleted>, ApiError>> DeleteAsync(string id, Caller caller, HistoryStore store, CancellationToken ct) =>
        await store.DeleteAsync(caller.AccountId, id, ct)
            ? ApiResults.Ok(new HistoryDeleted(1), GatewayJson.Context.HistoryDeleted)
            : NotFound();

    /// <summary>Delete your whole history</summary>
    /// <remarks>Every entry of yours, with how many went in <c>deleted</c>; your ledger and usage (what you were charged) stay.</remarks>
    public static async Task<JsonOk<HistoryDeleted>> DeleteAllAsync(Caller caller, HistoryStore store, CancellationToken ct) =>
        ApiResults.Ok(new HistoryDeleted(await store.DeleteAllAsync(caller.AccountId, ct)), GatewayJson.Context.HistoryDeleted);

    private static ApiError NotFound() => ApiError.NotFound("No history entry with this id.");

    private static HistoryItem Item(HistoryRow r, Links links)
    {
        var names = (r.ImageFiles ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(f => StoredImageName.TryParse(f, out var name) ? name : null).OfType<StoredImageName>().ToArray();
        var now = links.Time.GetUtcNow().ToUnixTimeSeconds();
        long? expiresAt = names.Length > 0 ? names.Min(n => n.ExpiresAt) : null;
        var live = names.Where(n => n.ExpiresAt > now).Select(n => new HistoryImage(links.Origin + links.Urls.PathAndQuery(n), n.ExpiresAt)).ToArray();
        var state = names.Length > 0 ? (live.Length > 0 ? "available" : "expired") : r.Images > 0 ? "not_stored" : "none";
        var error = r.Status == HistoryStatus.Succeeded ? null : new HistoryError((int)r.HttpStatus, r.ErrorCode, r.ErrorMessage ?? "");
        return new HistoryItem(r.Id, r.CreatedAt / 1000, r.Operation, r.Model, r.Prompt, r.Size, r.Quality, (int)r.N, r.Seed, r.Status, error,
            new Millicredits(r.CostMc), r.Provider, r.Byok != 0, (int)r.Images, state, expiresAt, live);
    }
}
