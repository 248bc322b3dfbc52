namespace ImageGateway.Providers;

public sealed record RouteOutcome(ProviderResult Result, RouteStep? ServedBy);

/// <summary>Walks a model's route: the first provider that returns images wins; refusals are final.</summary>
public sealed class ProviderRouter(ILogger<ProviderRouter> logger)
{
    public async Task<RouteOutcome> GenerateAsync(IReadOnlyList<RouteStep> route, Func<RouteStep, ImageJob> jobFor, CancellationToken ct)
    {
        ProviderResult? last = null;
        foreach (var step in route)
        {
            var result = await step.Provider.Adapter.GenerateAsync(jobFor(step), step.Provider.Credential, ct);
            if (result.Failure is null) return new RouteOutcome(result, step);

            last = result;
            logger.LogWarning("Provider {Provider} failed: {Kind} {Status}", step.Provider.Name, result.Failure.Kind, result.Failure.UpstreamStatus);
            if (IsFinal(result.Failure.Kind)) return new RouteOutcome(result, step);
        }
        return new RouteOutcome(last ?? ProviderResult.Failed(new ProviderFailure(FailureKind.Unavailable, "No provider could serve the request.")), null);
    }

    /// <summary>A refusal of the prompt or of the request itself would be the same elsewhere.</summary>
    public static bool IsFinal(FailureKind kind) => kind is FailureKind.ContentPolicy or FailureKind.Rejected;
}
