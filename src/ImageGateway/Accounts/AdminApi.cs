using Microsoft.AspNetCore.Http.HttpResults;
using ImageGateway.Billing;
using ImageGateway.Catalog;
using ImageGateway.Http;
using ImageGateway.RateLimits;

namespace ImageGateway.Accounts;

/// <param name="Name">The account's display name (required, at most 200 characters).</param>
/// <param name="Tier">The pricing tier; default <c>free</c>.</param>
/// <param name="Credits">Credits to grant at creation; default 0.</param>
public sealed record CreateUserRequest(string? Name = null, string? Tier = null, decimal? Credits = null);

/// <param name="Tier">The new pricing tier (one of the configured tiers).</param>
public sealed record UpdateUserRequest(string? Tier = null);

/// <param name="Amount">Credits to add (positive, a grant) or take away (negative, an adjustment); not 0.</param>
/// <param name="Reason">Why, kept on the ledger entry (at most 500 characters).</param>
public sealed record CreditAdjustmentRequest(decimal? Amount = null, string? Reason = null);

/// <param name="Id">The new account's id.</param>
/// <param name="Name">Its display name.</param>
/// <param name="Tier">Its pricing tier.</param>
/// <param name="CreditsRemaining">Its balance after the initial grant.</param>
/// <param name="ApiKey">Its first user key, in full: shown in this answer only.</param>
public sealed record CreatedUserResponse(string Id, string Name, string Tier, Millicredits CreditsRemaining, string ApiKey);

/// <param name="Suspended">Whether the account is suspended (its keys are refused with 403 account_suspended).</param>
/// <param name="Id">The account id.</param>
/// <param name="Name">Display name.</param>
/// <param name="Tier">Pricing tier.</param>
/// <param name="CreditsRemaining">Balance.</param>
/// <param name="Reserved">Credits held by running requests.</param>
/// <param name="CreatedAt">When it was created (unix seconds).</param>
public sealed record UserDto(string Id, string Name, string Tier, Millicredits CreditsRemaining, Millicredits Reserved, long CreatedAt, bool Suspended);

/// <summary>One user for the operator's console: the account, balance, keys, limits and latest ledger entries.</summary>
/// <param name="SuspendedAt">When it was suspended (unix seconds); null when active.</param>
/// <param name="Limits">Its limits and what it has used of them, as the user sees them at <c>GET /api/v1/limits</c>.</param>
/// <param name="RecentTransactions">The newest ledger entries (at most 20); the rest via the usage and history views.</param>
/// <param name="Id">The account id.</param>
/// <param name="Name">Display name.</param>
/// <param name="Tier">Pricing tier.</param>
/// <param name="CreditsRemaining">Balance.</param>
/// <param name="Reserved">Credits held by running requests.</param>
/// <param name="CreatedAt">When it was created (unix seconds).</param>
/// <param name="Keys">Its gateway keys (prefixes only), revoked and expired ones included.</param>
/// <param name="Suspended">Whether the account is suspended (its keys are refused with 403 account_suspended).</param>
public sealed record UserDetailResponse(string Id, string Name, string Tier, Millicredits CreditsRemaining, Millicredits Reserved,
    long CreatedAt, IReadOnlyList<ApiKeyDto> Keys, bool Suspended, long? SuspendedAt, LimitsStatus Limits,
    IReadOnlyList<TransactionDto> RecentTransactions);

/// <param name="Total">How many users match the search (all users without <c>q</c>).</param>
/// <param name="Data">This page of users.</param>
/// <param name="Limit">Page size asked for.</param>
/// <param name="Offset">Users skipped before this page.</param>
/// <param name="Q">The search text (name or id), as given; null without one.</param>
public sealed record UserListResponse(IReadOnlyList<UserDto> Data, int Limit, int Offset, long Total, string? Q);

/// <param name="UserId">The account id.</param>
/// <param name="CreditsRemaining">Its balance after the change.</param>
/// <param name="Reserved">Credits held by its running requests.</param>
public sealed record CreditAdjustmentResponse(string UserId, Millicredits CreditsRemaining, Millicredits Reserved);

/// <summary>Per-user limits; a null field means "the tier's". A monthly_cap of 0 means no cap.</summary>
/// <param name="PerMinute">Requests a minute; null keeps the tier's.</param>
/// <param name="PerHour">Requests an hour; null keeps the tier's.</param>
/// <param name="PerDay">Requests a day; null keeps the tier's.</param>
/// <param name="PerMonth">Requests a calendar month (UTC); null keeps the tier's.</param>
/// <param name="MonthlyCap">Credits the account may spend a calendar month; 0 means no cap, null the tier's.</param>
public sealed record LimitsRequest(int? PerMinute = null, int? PerHour = null, int? PerDay = null, int? PerMonth = null, decimal? MonthlyCap = null);

/// <param name="PerMinute">Requests a minute in force.</param>
/// <param name="PerHour">Requests an hour in force.</param>
/// <param name="PerDay">Requests a day in force.</param>
/// <param name="PerMonth">Requests a calendar month (UTC) in force.</param>
/// <param name="MonthlyCap">Credits a calendar month in force; null when uncapped.</param>
public sealed record LimitsDto(int PerMinute, int PerHour, int PerDay, int PerMonth, Millicredits? MonthlyCap);

/// <param name="UserId">The account id.</param>
/// <param name="Tier">Its pricing tier.</param>
/// <param name="Overrides">The account's own values; null fields follow the tier.</param>
/// <param name="Effective">What applies: the overrides over the tier's values.</param>
public sealed record LimitsResponse(string UserId, string Tier, LimitsRequest Overrides, LimitsDto Effective);

/// <summary>Operator endpoints (admin-scope key): users, tiers, credit grants, keys.</summary>
public static class AdminApi
{
    public const int MaxNameLength = 200;

    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/api/v1/admin").RequireGatewayKey(KeyScope.Admin).WithTags(ApiDocs.Tags.Admin);
        admin.MapPost("/users", CreateUserAsync).Accepts<CreateUserRequest>("application/json").ProducesErrors(400);
        admin.MapGet("/users", ListUsersAsync).ProducesErrors(400);
        admin.MapGet("/users/{id}", GetUserAsync).ProducesErrors(404);
        admin.MapPatch("/users/{id}", UpdateUserAsync).ProducesErrors(400, 404);
        admin.MapPost("/users/{id}/credits", AdjustCreditsAsync).ProducesErrors(400, 404);
        admin.MapPost("/users/{id}/keys", CreateKeyAsync).ProducesErrors(400, 404);
        admin.MapDelete("/users/{id}/keys/{keyId}", RevokeKeyAsync).ProducesErrors(404);
        admin.MapGet("/users/{id}/limits", GetLimitsAsync).ProducesErrors(404);
        admin.MapPut("/users/{id}/limits", SetLimitsAsync).ProducesErrors(400, 404);
        admin.MapPost("/users/{id}/suspend", SuspendAsync).ProducesErrors(400, 404);
        admin.MapPost("/users/{id}/unsuspend", UnsuspendAsync).ProducesErrors(404);
        return app;
    }

    /// <summary>Create a user</summary>
    /// <remarks>Admin. A new account on a tier, with optional initial credits; the answer carries its first API key (shown once).</remarks>
    public static async Task<Results<JsonCreated<CreatedUserResponse>, ApiError>> CreateUserAsync(CreateUserRequest? request, AccountStore store, CreditLedger ledger,
        ModelCatalog catalog, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(request?.Name)) return ApiError.Missing("name", "'name' is required.");
        if (request.Name.Length > MaxNameLength) return ApiError.Invalid("name", $"'name' may be at most {MaxNameLength} characters.");
        var tierName = request.Tier ?? "free";
        if (!catalog.TryGetTier(tierName, out var tier)) return UnknownTier(tierName, catalog);
        var credits = Millicredits.Zero;
        if (request.Credits is { } c && (c < 0 || !Millicredits.TryFromCredits(c, out credits)))
            return ApiError.Invalid("credits", "'credits' must be a non-negative amount with at most 3 decimals.");

        var account = await store.CreateAccountAsync(request.Name.Trim(), tier.Name, ct);
        if (credits.Value > 0) await ledger.AdjustAsync(account.Id, credits, LedgerKind.Grant, "initial credits", ct);
        var (_, key) = await store.CreateKeyAsync(account.Id, KeyScope.User, "default", null, ct);
        return ApiResults.Created(new CreatedUserResponse(account.Id, account.Name, account.Tier, credits, key),
            GatewayJson.Context.CreatedUserResponse);
    }

    /// <summary>List users</summary>
    /// <remarks>Admin. Oldest first, paged with <c>limit</c> (1-1000) and <c>offset</c>; <c>q</c> keeps users whose name or id contains it (case-insensitive). <c>total</c> counts all matches.</remarks>
    public static async Task<Results<JsonOk<UserListResponse>, ApiError>> ListUsersAsync(AccountStore store, CancellationToken ct, int? limit = null, int? offset = null,
        string? q = null)
    {
        var take = limit ?? 100;
        var skip = offset ?? 0;
        if (take is < 1 or > 1000) return ApiError.Invalid("limit", "'limit' must be between 1 and 1000.");
        if (skip < 0) return ApiError.Invalid("offset", "'offset' must not be negative.");
        if (q is { Length: > MaxNameLength }) return ApiError.Invalid("q", $"'q' may be at most {MaxNameLength} characters.");
        var search = string.IsNullOrWhiteSpace(q) ? null : q.Trim();
        var (rows, total) = await store.ListAccountsAsync(take, skip, search, ct);
        var users = rows.Select(r => new UserDto(r.Account.Id, r.Account.Name, r.Account.Tier, new(r.BalanceMc), new(r.ReservedMc),
            r.Account.CreatedAt.ToUnixTimeSeconds(), r.Account.SuspendedAt is not null)).ToArray();
        return ApiResults.Ok(new UserListResponse(users, take, skip, total, search), GatewayJson.Context.UserListResponse);
    }

    /// <summary>Get a user</summary>
    /// <remarks>Admin. The account, balance, keys, suspension, limits with what is used of them, and the 20 newest ledger entries.</remarks>
    public static async Task<Results<JsonOk<UserDetailResponse>, ApiError>> GetUserAsync(string id, AccountStore store, CreditLedger ledger, LimitsReport limits,
        TimeProvider time, CancellationToken ct)
    {
        var account = await store.GetAccountAsync(id, ct);
        if (account is null) return UserNotFound(id);
        var balance = (await ledger.GetBalanceAsync(id, ct))!;
        var keys = await store.ListKeysAsync(id, ct);
        var status = await limits.ForAsync(id, account.Tier, await store.GetLimitsAsync(id, ct), ct);
        var (recent, _) = await ledger.HistoryAsync(id, 20, 0, ct);
        return ApiResults.Ok(new UserDetailResponse(account.Id, account.Name, account.Tier, balance.Total, balance.Reserved,
            account.CreatedAt.ToUnixTimeSeconds(), keys.Select(k => KeysApi.ToDto(k, time.GetUtcNow())).ToArray(),
            account.SuspendedAt is not null, account.SuspendedAt?.ToUnixTimeSeconds(), status, recent.Select(CreditsApi.ToDto).ToArray()),
            GatewayJson.Context.UserDetailResponse);
    }

    /// <summary>Change a user's tier</summary>
    /// <remarks>Admin. <c>{"tier": "professional"}</c>; answers the user as <c>GET</c> does.</remarks>
    public static async Task<Results<JsonOk<UserDetailResponse>, ApiError>> UpdateUserAsync(string id, UpdateUserRequest? request, AccountStore store, CreditLedger ledger,
        ModelCatalog catalog, LimitsReport limits, TimeProvider time, CancellationToken ct)
    {
        if (request?.Tier is null) return ApiError.Missing("tier", "'tier' is required.");
        if (!catalog.TryGetTier(request.Tier, out var tier)) return UnknownTier(request.Tier, catalog);
        if (!await store.SetTierAsync(id, tier.Name, ct)) return UserNotFound(id);
        return await GetUserAsync(id, store, ledger, limits, time, ct);
    }

    /// <summary>Suspend a user</summary>
    /// <remarks>Admin. The account's keys are refused with 403 <c>account_suspended</c> until it is unsuspended; its balance and data are kept. An admin cannot suspend their own account.</remarks>
    public static async Task<Results<JsonOk<UserDetailResponse>, ApiError>> SuspendAsync(string id, Caller caller, AccountStore store, CreditLedger ledger,
        LimitsReport limits, TimeProvider time, CancellationToken ct)
    {
        // Suspending oneself would lock the operator out (their admin key is refused at once).
        if (id == caller.AccountId) return ApiError.Invalid("id", "You cannot suspend your own account.");
        if (!await store.SetSuspendedAsync(id, suspended: true, ct)) return UserNotFound(id);
        return await GetUserAsync(id, store, ledger, limits, time, ct);
    }

    /// <summary>Unsuspend a user</summary>
    /// <remarks>Admin. The account's keys work again.</remarks>
    public static async Task<Results<JsonOk<UserDetailResponse>, ApiError>> UnsuspendAsync(string id, AccountStore store, CreditLedger ledger,
        LimitsReport limits, TimeProvider time, CancellationToken ct)
    {
        if (!await store.SetSuspendedAsync(id, suspended: false, ct)) return UserNotFound(id);
        return await GetUserAsync(id, store, ledger, limits, time, ct);
    }

    /// <summary>Grant or remove credits</summary>
    /// <remarks>Admin. A positive <c>amount</c> grants credits; a negative one removes them, never below zero or below what running requests hold.</remarks>
    public static async Task<Results<JsonOk<CreditAdjustmentResponse>, ApiError>> AdjustCreditsAsync(string id, CreditAdjustmentRequest? request, AccountStore store,
        CreditLedger ledger, CancellationToken ct)
    {
        if (request?.Amount is not { } amount) return ApiError.Missing("amount", "'amount' is required.");
        if (!Millicredits.TryFromCredits(amount, out var mc) || mc.Value == 0)
            return ApiError.Invalid("amount", "'amount' must be a non-zero number of credits with at most 3 decimals.");
        if (request.Reason is { Length: > 500 }) return ApiError.Invalid("reason", "'reason' may be at most 500 characters.");
        if (await store.GetAccountAsync(id, ct) is null) return UserNotFound(id);

        var balance = await ledger.AdjustAsync(id, mc, mc.Value > 0 ? LedgerKind.Grant : LedgerKind.Adjustment, request.Reason, ct);
        if (balance is null)
            return ApiError.Invalid("amount", mc.Value < 0
                ? "Removing that many credits would take the balance below zero (or below credits held by running requests)."
                : $"Adding that many credits would take the balance above the maximum of {CreditLedger.MaxBalance.ToDisplay()}.");
        return ApiResults.Ok(new CreditAdjustmentResponse(id, balance.Total, balance.Reserved), GatewayJson.Context.CreditAdjustmentResponse);
    }

    /// <summary>Issue a key for a user</summary>
    /// <remarks>Admin. A new API key on the user's account (an admin key with <c>scope: admin</c>); shown once.</remarks>
    public static async Task<Results<JsonCreated<CreatedKeyDto>, ApiError>> CreateKeyAsync(string id, CreateKeyRequest? request, AccountStore store, TimeProvider time, CancellationToken ct)
    {
        if (await store.GetAccountAsync(id, ct) is null) return UserNotFound(id);
        var (scope, expiresAt, error) = KeysApi.ValidateNewKey(request, callerIsAdmin: true, time);
        if (error is not null) return error;
        var (info, key) = await store.CreateKeyAsync(id, scope, request?.Name, expiresAt, ct);
        return KeysApi.Created(info, key);
    }

    /// <summary>Revoke a user's key</summary>
    /// <remarks>Admin. One of the user's API keys stops working at once on this process (within <c>AuthCacheSeconds</c> on others); revoking a revoked key answers the same. 404 when the user has no key with that id.</remarks>
    public static async Task<Results<JsonOk<RevokedKeyResponse>, ApiError>> RevokeKeyAsync(string id, string keyId, AccountStore store, CancellationToken ct)
    {
        if (await store.GetAccountAsync(id, ct) is null) return UserNotFound(id);
        // Scoped to the account: a key id of another user's key is not found here.
        return await store.RevokeKeyAsync(id, keyId, ct)
            ? ApiResults.Ok(new RevokedKeyResponse(keyId, true), GatewayJson.Context.RevokedKeyResponse)
            : ApiError.NotFound($"User '{id}' has no API key '{keyId}'.");
    }

    /// <summary>Get a user's limit overrides</summary>
    /// <remarks>Admin. The overrides set for this user (null = the tier's) and the limits in effect.</remarks>
    public static async Task<Results<JsonOk<LimitsResponse>, ApiError>> GetLimitsAsync(string id, AccountStore store, ModelCatalog catalog, CancellationToken ct)
    {
        var account = await store.GetAccountAsync(id, ct);
        if (account is null) return UserNotFound(id);
        return LimitsResult(account, await store.GetLimitsAsync(id, ct), catalog);
    }

    /// <summary>Set a user's limit overrides</summary>
    /// <remarks>Admin. Per-user image limits and monthly cap in place of the tier's (0 = unlimited, null = the tier's), without changing the tier.</remarks>
    public static async Task<Results<JsonOk<LimitsResponse>, ApiError>> SetLimitsAsync(string id, LimitsRequest? request, AccountStore store, ModelCatalog catalog, CancellationToken ct)
    {
        var account = await store.GetAccountAsync(id, ct);
        if (account is null) return UserNotFound(id);
        request ??= new LimitsRequest();
        foreach (var (name, value) in new[] { ("per_minute", request.PerMinute), ("per_hour", request.PerHour), ("per_day", request.PerDay), ("per_month", request.PerMonth) })
            if (value is < 0) return ApiError.Invalid(name, $"'{name}' must be 0 (unlimited) or positive, or null for the tier's limit.");
        Millicredits? cap = null;
        if (request.MonthlyCap is { } c)
        {
            if (c < 0 || !Millicredits.TryFromCredits(c, out var capMc))
                return ApiError.Invalid("monthly_cap", "'monthly_cap' must be a non-negative amount of credits (0 = no cap), or null for the tier's cap.");
            cap = capMc;
        }
        var overrides = new LimitOverrides(request.PerMinute, request.PerHour, request.PerDay, request.PerMonth, cap?.Value);
        await store.SetLimitsAsync(id, overrides, ct);
        return LimitsResult(account, overrides.IsEmpty ? null : overrides, catalog);
    }

    private static JsonOk<LimitsResponse> LimitsResult(Account account, LimitOverrides? overrides, ModelCatalog catalog)
    {
        var effective = RateLimits.EffectiveLimits.For(catalog.GetTier(account.Tier), overrides);
        var asRequest = new LimitsRequest(overrides?.PerMinute, overrides?.PerHour, overrides?.PerDay, overrides?.PerMonth,
            overrides?.MonthlyCapMc is { } mc ? new Millicredits(mc).Credits : null);
        return ApiResults.Ok(new LimitsResponse(account.Id, account.Tier, asRequest,
            new LimitsDto(effective.PerMinute, effective.PerHour, effective.PerDay, effective.PerMonth, effective.MonthlyCap)),
            GatewayJson.Context.LimitsResponse);
    }

    private static ApiError UserNotFound(string id) => ApiError.NotFound($"No user '{id}'.");

    private static ApiError UnknownTier(string tier, ModelCatalog catalog) =>
        ApiError.Invalid("tier", $"Unknown tier '{tier}'. Tiers: {string.Join(", ", catalog.Tiers.Select(t => t.Name))}.");
}
