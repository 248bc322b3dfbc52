namespace ImageGateway.Providers;

public sealed record RouteOutcome(ProviderResult Result, RouteStep? ServedBy);

/// <summary>
/// Walks a model's route: the first provider that returns images wins, timeouts and outages move
/// on to the next, refusals are final. Within one provider, n images that need several upstream
/// calls are fanned out in parallel and a partial success keeps the images that came back.
/// </summary>
public sealed class ProviderRouter(ILogger<ProviderRouter> logger)
{
    public async Task<RouteOutcome> GenerateAsync(IReadOnlyList<RouteStep> route, Func<RouteStep, ImageJob> jobFor, CancellationToken ct)
    {
        ProviderResult? last = null;
        foreach (var step in route)
        {
            var result = await RunAsync(step, jobFor(step), ct);
            if (result.Failure is null) return new RouteOutcome(result, step);

            last = result;
            logger.LogWarning("Provider {Provider} failed: {Kind} (upstream status {Status})",
                step.Provider.Name, result.Failure.Kind, result.Failure.UpstreamStatus);
            if (IsFinal(result.Failure.Kind)) return new RouteOutcome(result, step);
        }
        return new RouteOutcome(last ?? ProviderResult.Failed(new ProviderFailure(FailureKind.Unavailable, "No provider could serve the request.")), null);
    }

    /// <summary>A refusal of the prompt or of the request itself would be the same elsewhere.</summary>
    public static bool IsFinal(FailureKind kind) => kind is FailureKind.ContentPolicy or FailureKind.Rejected;

    private static async Task<ProviderResult> RunAsync(RouteStep step, ImageJob job, CancellationToken ct)
    {
        var adapter = step.Provider.Adapter;
        var credential = step.Provider.Credential;
        var perCall = Math.Max(1, adapter.MaxImagesPerCall(job.UpstreamModel));
        if (job.N <= perCall) return Trim(await adapter.GenerateAsync(job, credential, ct), job.N);

        var chunks = new List<ImageJob>();
        for (var offset = 0; offset < job.N; offset += perCall)
            chunks.Add(job with { N = Math.Min(perCall, job.N - offset), Seed = job.Seed + offset });
        using var gate = new SemaphoreSlim(Math.Max(1, credential.Upstream?.Options.MaxParallelCalls ?? 4));
        var results = await Task.WhenAll(chunks.Select(async chunk =>
        {
            await gate.WaitAsync(ct);
            try { return Trim(await adapter.GenerateAsync(chunk, credential, ct), chunk.N); }
            finally { gate.Release(); }
        }));

        var images = results.SelectMany(r => r.Images).ToArray();
        var served = results.Where(r => r.Failure is null).ToArray();
        if (images.Length > 0)
            return ProviderResult.Success(images) with
            {
                Usage = TokenUsage.Sum(served.Select(r => r.Usage)), Produced = served[0].Produced,
                UpstreamCostUsd = served.All(r => r.UpstreamCostUsd is not null) ? served.Sum(r => r.UpstreamCostUsd!.Value) : null,
            };
        // Nothing came back: report the most telling failure (a refusal beats an outage).
        return results.Select(r => r.Failure!).OrderBy(f => IsFinal(f.Kind) ? 0 : 1).First() is var failure
            ? ProviderResult.Failed(failure)
            : ProviderResult.Failed(new ProviderFailure(FailureKind.Unavailable, "No images came back."));
    }

    private static ProviderResult Trim(ProviderResult result, int max) =>
        result.Images.Count > max ? result with { Images = result.Images.Take(max).ToArray() } : result;
}
