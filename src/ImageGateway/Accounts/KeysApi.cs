using Microsoft.AspNetCore.Http.HttpResults;
using ImageGateway.Http;

namespace ImageGateway.Accounts;

/// <param name="Name">A label for the key (at most 100 characters).</param>
/// <param name="Scope"><c>user</c> (default) or <c>admin</c>; only an admin key may create an admin key.</param>
/// <param name="ExpiresInDays">Days until the key stops working, 1-3650; without it the key does not expire.</param>
public sealed record CreateKeyRequest(string? Name = null, string? Scope = null, int? ExpiresInDays = null);

/// <summary>A key as listed: never the key itself, only its display prefix.</summary>
/// <param name="Id">The key's id (for revoking it).</param>
/// <param name="Prefix">The first characters of the key, to recognise it by.</param>
/// <param name="Name">Its label; null without one.</param>
/// <param name="Scope"><c>user</c> or <c>admin</c>.</param>
/// <param name="CreatedAt">When it was created (unix seconds).</param>
/// <param name="ExpiresAt">When it stops working (unix seconds); null when it does not expire.</param>
/// <param name="RevokedAt">When it was revoked (unix seconds); null while not revoked.</param>
/// <param name="Active">Whether it works now: neither revoked nor expired.</param>
public sealed record ApiKeyDto(string Id, string Prefix, string? Name, string Scope, long CreatedAt, long? ExpiresAt, long? RevokedAt, bool Active);

/// <summary>A newly issued key: the only response that ever carries the full key.</summary>
/// <param name="Id">The key's id (for revoking it).</param>
/// <param name="Prefix">The first characters of the key, to recognise it by.</param>
/// <param name="Name">Its label; null without one.</param>
/// <param name="Scope"><c>user</c> or <c>admin</c>.</param>
/// <param name="CreatedAt">When it was created (unix seconds).</param>
/// <param name="ExpiresAt">When it stops working (unix seconds); null when it does not expire.</param>
/// <param name="Key">The full key, to send as <c>Authorization: Bearer</c>: shown in this answer only.</param>
public sealed record CreatedKeyDto(string Id, string Key, string Prefix, string? Name, string Scope, long CreatedAt, long? ExpiresAt);

/// <param name="Data">Your keys, revoked and expired ones included.</param>
public sealed record KeyListResponse(IReadOnlyList<ApiKeyDto> Data);

/// <param name="Id">The revoked key's id.</param>
/// <param name="Revoked">Always true.</param>
public sealed record RevokedKeyResponse(string Id, bool Revoked);

public static class KeysApi
{
    public const int MaxNameLength = 100;

    public static IEndpointRouteBuilder MapKeysApi(this IEndpointRouteBuilder app)
    {
        var keys = app.MapGroup("/api/v1/keys").RequireGatewayKey().WithTags(ApiDocs.Tags.Keys);
        keys.MapPost("/", CreateAsync).ProducesErrors(400, 403);
        keys.MapGet("/", ListAsync);
        keys.MapDelete("/{id}", RevokeAsync).ProducesErrors(404);
        return app;
    }

    /// <summary>Create an API key</summary>
    /// <remarks>A new gateway key for your account; the full key is in this answer only.</remarks>
    public static async Task<Results<JsonCreated<CreatedKeyDto>, ApiError>> CreateAsync(Caller caller, CreateKeyRequest? request, AccountStore store, TimeProvider time, CancellationToken ct)
    {
        var (scope, expiresAt, error) = ValidateNewKey(request, caller.IsAdmin, time);
        if (error is not null) return error;
        var (info, key) = await store.CreateKeyAsync(caller.AccountId, scope, request?.Name, expiresAt, ct);
        return Created(info, key);
    }

    /// <summary>List your API keys</summary>
    /// <remarks>Prefix, name, scope, created, expiry and revocation of each; never the key.</remarks>
    public static async Task<JsonOk<KeyListResponse>> ListAsync(Caller caller, AccountStore store, TimeProvider time, CancellationToken ct)
    {
        var keys = await store.ListKeysAsync(caller.AccountId, ct);
        var now = time.GetUtcNow();
        return ApiResults.Ok(new KeyListResponse(keys.Select(k => ToDto(k, now)).ToArray()), GatewayJson.Context.KeyListResponse);
    }

    /// <summary>Revoke an API key</summary>
    /// <remarks>The key stops working at once on this process (within <c>AuthCacheSeconds</c> on others).</remarks>
    public static async Task<Results<JsonOk<RevokedKeyResponse>, ApiError>> RevokeAsync(Caller caller, string id, AccountStore store, CancellationToken ct) =>
        await store.RevokeKeyAsync(caller.AccountId, id, ct)
            ? ApiResults.Ok(new RevokedKeyResponse(id, true), GatewayJson.Context.RevokedKeyResponse)
            : ApiError.NotFound($"No API key '{id}' on this account.");

    /// <summary>Shared by self-service and admin issuance. Only an admin may mint an admin key.</summary>
    internal static (string Scope, DateTimeOffset? ExpiresAt, ApiError? Error) ValidateNewKey(CreateKeyRequest? request, bool callerIsAdmin, TimeProvider time)
    {
        var scope = request?.Scope ?? KeyScope.User;
        if (scope is not (KeyScope.User or KeyScope.Admin))
            return (scope, null, ApiError.Invalid("scope", "'scope' must be 'user' or 'admin'."));
        if (scope == KeyScope.Admin && !callerIsAdmin)
            return (scope, null, ApiError.Forbidden("Only an admin key can create an admin key.", "admin_required"));
        if (request?.Name is { Length: > MaxNameLength })
            return (scope, null, ApiError.Invalid("name", $"'name' may be at most {MaxNameLength} characters."));
        if (request?.ExpiresInDays is { } days && days is < 1 or > 3650)
            return (scope, null, ApiError.Invalid("expires_in_days", "'expires_in_days' must be between 1 and 3650."));
        DateTimeOffset? expiresAt = request?.ExpiresInDays is { } d ? time.GetUtcNow().AddDays(d) : null;
        return (scope, expiresAt, null);
    }

    internal static JsonCreated<CreatedKeyDto> Created(ApiKeyInfo info, string key) =>
        ApiResults.Created(new CreatedKeyDto(info.Id, key, info.Prefix, info.Name, info.Scope, info.CreatedAt.ToUnixTimeSeconds(),
            info.ExpiresAt?.ToUnixTimeSeconds()), GatewayJson.Context.CreatedKeyDto);

    internal static ApiKeyDto ToDto(ApiKeyInfo k, DateTimeOffset now) =>
        new(k.Id, k.Prefix, k.Name, k.Scope, k.CreatedAt.ToUnixTimeSeconds(), k.ExpiresAt?.ToUnixTimeSeconds(),
            k.RevokedAt?.ToUnixTimeSeconds(), k.RevokedAt is null && (k.ExpiresAt is null || k.ExpiresAt > now));
}
