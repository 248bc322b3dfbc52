using Microsoft.AspNetCore.Http.HttpResults;
using ImageGateway.Http;

namespace ImageGateway.Accounts;

/// <summary>Who the presented key acts for: what the console shows in its header and whether it offers the admin page.</summary>
/// <param name="UserId">The account id.</param>
/// <param name="Name">The account's display name.</param>
/// <param name="Tier">Its pricing tier.</param>
/// <param name="IsAdmin">Whether the presented key is an admin key.</param>
public sealed record MeResponse(string UserId, string Name, string Tier, bool IsAdmin);

public static class MeApi
{
    public static IEndpointRouteBuilder MapMeApi(this IEndpointRouteBuilder app)
    {
        // Any valid key may ask, so the console never has to probe an admin route (and log a 403) to find out.
        app.MapGet("/api/v1/me", GetAsync).RequireGatewayKey().WithTags(ApiDocs.Tags.Keys);
        return app;
    }

    /// <summary>Who is this key</summary>
    /// <remarks>The account the presented key acts for: its id, name and tier, and whether the key is an admin key.</remarks>
    public static async Task<JsonOk<MeResponse>> GetAsync(Caller caller, AccountStore store, CancellationToken ct)
    {
        var account = await store.GetAccountAsync(caller.AccountId, ct);
        return ApiResults.Ok(new MeResponse(caller.AccountId, account?.Name ?? "", caller.Tier, caller.IsAdmin), GatewayJson.Context.MeResponse);
    }
}
