using ImageGateway.Http;
using ImageGateway.Providers;

namespace ImageGateway.Byok;

/// <summary>The BYOK step of a request: the caller's own key put on the route, when they have one for it.</summary>
public sealed class ByokRouter(ByokStore store)
{
    /// <summary>
    /// The first step of <paramref name="route"/> for which the caller has an enabled key of their
    /// own, with that key in place of the platform's. Null when the caller has none that applies.
    /// </summary>
    public async Task<(RouteStep[]? Route, ApiError? Error)> RouteAsync(string accountId, IReadOnlyList<RouteStep> route, CancellationToken ct)
    {
        IReadOnlyList<ByokSecret> secrets;
        try
        {
            secrets = await store.EnabledSecretsAsync(accountId, ct);
        }
        catch (KeyDecryptionException e)
        {
            return (null, ByokApi.Unreadable("provider", e));
        }
        if (secrets.Count == 0) return (null, null);
        foreach (var step in route)
        {
            var secret = secrets.FirstOrDefault(k => string.Equals(k.Provider, step.Provider.Name, StringComparison.OrdinalIgnoreCase));
            if (secret is not null)
                return ([step with { Provider = step.Provider with { Credential = step.Provider.Credential with { ApiKey = secret.ApiKey } } }], null);
        }
        return (null, null);
    }
}
