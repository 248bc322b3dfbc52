using ImageGateway.Http;
using ImageGateway.Providers;

namespace ImageGateway.Byok;

/// <summary>The route step a caller's own key would serve, and that key.</summary>
public sealed record ByokChoice(RouteStep Step, ByokSecret Secret)
{
    public string Provider => Step.Provider.Name;
}

/// <summary>The BYOK step of a request: the caller's own key put on the route, when they have one for it.</summary>
public sealed class ByokRouter(ByokStore store, ProviderRegistry providers)
{
    /// <summary>
    /// The first step of <paramref name="route"/> for which the caller has an enabled key of their
    /// own. Null when the caller has none that applies. A key for a provider that does not allow
    /// BYOK (any more) is not used: the request is served as if the caller had none.
    /// </summary>
    public async Task<(ByokChoice? Choice, ApiError? Error)> ChooseAsync(string accountId, IReadOnlyList<RouteStep> route, CancellationToken ct)
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
        var step = StepFor(secrets.Select(s => s.Provider).ToArray(), route);
        return step is null ? (null, null)
            : (new ByokChoice(step, secrets.First(k => string.Equals(k.Provider, step.Provider.Name, StringComparison.OrdinalIgnoreCase))), null);
    }

    /// <summary>The one rule both a request and the catalog apply: the first step that allows BYOK and that the caller has a key for.</summary>
    public static RouteStep? StepFor(IReadOnlyCollection<string> keyedProviders, IReadOnlyList<RouteStep> route) =>
        route.FirstOrDefault(s => s.Provider.AllowsByok && keyedProviders.Contains(s.Provider.Name, StringComparer.OrdinalIgnoreCase));

    /// <summary>
    /// The providers the caller has an enabled key for, for listings. A key that cannot be decrypted
    /// is left out here (a listing must not fail); a request with it still answers 422.
    /// </summary>
    public async Task<IReadOnlyCollection<string>> KeyedProvidersAsync(string accountId, CancellationToken ct)
    {
        try
        {
            return (await store.EnabledSecretsAsync(accountId, ct)).Select(s => s.Provider).ToArray();
        }
        catch (KeyDecryptionException)
        {
            return [];
        }
    }

    /// <summary>The chosen step with the caller's key in place of the platform's (on the key's own circuit).</summary>
    public RouteStep[] Route(ByokChoice choice) =>
        [choice.Step with { Provider = providers.WithCallerKey(choice.Step.Provider, choice.Secret.ApiKey) }];
}
