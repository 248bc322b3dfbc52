using ImageGateway.Http;
using ImageGateway.Providers;

namespace ImageGateway.Byok;

/// <summary>The BYOK step of a request: the caller's own key put on the route, when they have one for it.</summary>
public sealed class ByokRouter(ByokStore store, ProviderRegistry providers)
{
    /// <summary>
    /// The first step of <paramref name="route"/> for which the caller has an enabled key of their
    /// own, with that key in place of the platform's (on the key's own circuit). Null when the
    /// caller has none that applies. A key for a provider that does not allow BYOK (any more) is
    /// not used: the request is served as if the caller had none.
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
        foreach (var step in route.Where(s => s.Provider.AllowsByok))
        {
            var secret = secrets.FirstOrDefault(k => string.Equals(k.Provider, step.Provider.Name, StringComparison.OrdinalIgnoreCase));
            if (secret is not null)
                return ([step with { Provider = providers.WithCallerKey(step.Provider, secret.ApiKey) }], null);
        }
        return (null, null);
    }
}
