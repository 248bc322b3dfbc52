using System.Diagnostics;

namespace ImageGateway.Providers;

/// <summary>
/// What the asynchronous upstreams (Black Forest Labs, Replicate) share: a job is created, then
/// polled with back-off until it is done or the provider's <c>TimeoutSeconds</c> has passed since it
/// was created, and its result is a short-lived link that is downloaded at once, only from the hosts
/// the provider serves results from.
/// </summary>
public static class AsyncJobs
{
    /// <summary>One look at the job: done (with its result or failure), or still running.</summary>
    public readonly record struct Poll<T>(bool Done, T? Result, ProviderFailure? Failure)
    {
        public static Poll<T> Running => new(false, default, null);
        public static Poll<T> Finished(T result) => new(true, result, null);
        public static Poll<T> Failed(ProviderFailure failure) => new(true, default, failure);
    }

    /// <summary>
    /// Calls <paramref name="poll"/> until the job is done, waiting <c>PollIntervalMs</c> first and
    /// half as long again after each look (up to <c>MaxPollIntervalMs</c>). Measured in real time
    /// from <paramref name="started"/> (a <see cref="Stopwatch"/> timestamp), as the upstream works in it.
    /// </summary>
    public static async Task<(T? Result, ProviderFailure? Failure)> PollAsync<T>(UpstreamClient http, long started,
        Func<CancellationToken, Task<Poll<T>>> poll, CancellationToken ct)
    {
        var options = http.Options;
        var limit = TimeSpan.FromSeconds(options.TimeoutSeconds);
        var delay = TimeSpan.FromMilliseconds(Math.Max(1, options.PollIntervalMs));
        var maxDelay = TimeSpan.FromMilliseconds(Math.Max(options.PollIntervalMs, options.MaxPollIntervalMs));
        while (true)
        {
            if (Stopwatch.GetElapsedTime(started) + delay > limit)
                return (default, new ProviderFailure(FailureKind.Timeout,
                    $"The {http.Name} provider did not finish the image within {options.TimeoutSeconds:0.#} s."));
            await Task.Delay(delay, ct);
            var look = await poll(ct);
            if (look.Done) return (look.Result, look.Failure);
            delay = TimeSpan.FromTicks(Math.Min(maxDelay.Ticks, delay.Ticks * 3 / 2));
        }
    }

    /// <summary>
    /// Downloads a result link, without credentials and capped (see <see cref="UpstreamClient.DownloadImageAsync"/>),
    /// if its host is one of <paramref name="hosts"/> (a host, or a parent domain that covers its
    /// subdomains) or the provider's own configured host; any other link is refused unread.
    /// </summary>
    public static Task<(GeneratedImage? Image, ProviderFailure? Failure)> DownloadResultAsync(ProviderCredential credential,
        string? link, IReadOnlyList<string> hosts, string? revisedPrompt, CancellationToken ct)
    {
        var http = credential.Http;
        if (!Uri.TryCreate(link, UriKind.Absolute, out var url) || url.Scheme is not ("https" or "http"))
            return Task.FromResult<(GeneratedImage?, ProviderFailure?)>((null, UpstreamText.NotImages(http.Name, "a result that is not a link")));
        var own = Uri.TryCreate(credential.BaseUrl, UriKind.Absolute, out var baseUrl) && baseUrl.Host.Equals(url.Host, StringComparison.OrdinalIgnoreCase)
            && baseUrl.Port == url.Port;
        var listed = url.Scheme == "https" && hosts.Any(h => url.Host.Equals(h, StringComparison.OrdinalIgnoreCase)
            || url.Host.EndsWith("." + h, StringComparison.OrdinalIgnoreCase));
        if (!own && !listed)
            return Task.FromResult<(GeneratedImage?, ProviderFailure?)>((null, new ProviderFailure(FailureKind.InvalidResponse,
                $"The {http.Name} provider answered with a result link on {UpstreamText.Sanitize(url.Host)}, which is not one of the "
                + $"hosts it serves results from (Gateway__Providers__{http.Name}__ResultHosts).")));
        return http.DownloadImageAsync(url, revisedPrompt, ct);
    }
}
