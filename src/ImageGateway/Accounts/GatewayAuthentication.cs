using ImageGateway.Http;

namespace ImageGateway.Accounts;

/// <summary>Endpoint metadata: this endpoint needs a gateway key with at least this scope.</summary>
public sealed record RequireKeyMetadata(string Scope);

public static class GatewayAuthentication
{
    public static TBuilder RequireGatewayKey<TBuilder>(this TBuilder builder, string scope = KeyScope.User)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new RequireKeyMetadata(scope))
            .ProducesErrors(scope == KeyScope.Admin ? [StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden] : [StatusCodes.Status401Unauthorized]);

    /// <summary>
    /// Resolves <c>Authorization: Bearer uc_…</c> for endpoints that ask for it, before any body is
    /// read, and stores the <see cref="Caller"/> for the handler. Runs after routing so it can see
    /// the endpoint's metadata.
    /// </summary>
    public static IApplicationBuilder UseGatewayAuthentication(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            var required = context.GetEndpoint()?.Metadata.GetMetadata<RequireKeyMetadata>();
            if (required is null)
            {
                await next(context);
                return;
            }

            var error = await AuthenticateAsync(context, required.Scope);
            if (error is not null)
            {
                await error.ExecuteAsync(context);
                return;
            }
            await next(context);
        });

    private static async Task<ApiError?> AuthenticateAsync(HttpContext context, string scope)
    {
        var header = context.Request.Headers.Authorization;
        if (header.Count == 0 || string.IsNullOrWhiteSpace(header[0]))
            return ApiError.Unauthorized("Missing API key. Send it as 'Authorization: Bearer <key>'.");
        if (header.Count > 1)
            return ApiError.Unauthorized("Send exactly one Authorization header.");

        var value = header[0].AsSpan().Trim();
        if (!value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return ApiError.Unauthorized("Authorization must use the Bearer scheme: 'Authorization: Bearer <key>'.");
        var key = value["Bearer ".Length..].Trim();
        if (!ApiKeys.HasValidShape(key))
            return ApiError.Unauthorized("Invalid API key.");

        var store = context.RequestServices.GetRequiredService<AccountStore>();
        var (status, caller) = await store.FindCallerAsync(key.ToString(), context.RequestAborted);
        switch (status)
        {
            case KeyLookupStatus.Revoked: return ApiError.Unauthorized("This API key has been revoked.");
            case KeyLookupStatus.Expired: return ApiError.Unauthorized("This API key has expired.");
            case KeyLookupStatus.Unknown: return ApiError.Unauthorized("Invalid API key.");
            case KeyLookupStatus.Suspended:
                return ApiError.Forbidden("This account is suspended; its keys are refused until the operator reinstates it.", "account_suspended");
        }
        if (scope == KeyScope.Admin && !caller!.IsAdmin)
            return ApiError.Forbidden("This endpoint needs an admin key.", "admin_required");

        context.Items[Caller.ItemKey] = caller;
        return null;
    }
}
