using ImageGateway.Byok;
using ImageGateway.Http;
using ImageGateway.Providers;

namespace ImageGateway.Generation;

/// <summary>
/// Who would serve a request: the caller's own key (free) when they have one for the model's route,
/// else the platform's providers. <see cref="ByokError"/> is set when a stored key cannot be read.
/// </summary>
public sealed record RoutePlan(IReadOnlyList<RouteStep> Platform, ByokChoice? Byok, ApiError? ByokError)
{
    public bool Servable => Byok is not null || Platform.Count > 0;
}

/// <summary>The routing decision the pipeline acts on and the estimate reports, made in one place so the two cannot differ.</summary>
public sealed class RoutePlanner(ProviderRegistry providers, ByokRouter byok)
{
    public async Task<RoutePlan> PlanAsync(string accountId, GenerationSpec spec, CancellationToken ct)
    {
        var platform = spec.Servable(providers.Route(spec.RouteModel));
        var (choice, error) = await byok.ChooseAsync(accountId, spec.Servable(providers.FullRoute(spec.RouteModel)), ct);
        return new RoutePlan(platform, choice, error);
    }

    /// <summary>The caller's key on its step, ready to call.</summary>
    public RouteStep[] ByokRoute(ByokChoice choice) => byok.Route(choice);
}
