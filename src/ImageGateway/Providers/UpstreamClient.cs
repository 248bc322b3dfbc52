using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using ImageGateway.Hosting;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace ImageGateway.Providers;

public sealed record UpstreamFailure(DateTimeOffset At, string Reason);

/// <summary>
/// The HTTP side of one configured provider: a shared connection pool and a Polly pipeline of
/// retry (connection failures, 429, 5xx; honours Retry-After) → circuit breaker → per-attempt
/// timeout. The response body is read inside the pipeline, so a stalled body also times out (a
/// streamed body too: it is read to its end inside the pipeline).
/// </summary>
public sealed partial class UpstreamClient
{
    private const int RecentFailureCount = 20;
    private static readonly ResiliencePropertyKey<Func<HttpResponseMessage, ValueTask<bool>>> PermanentFailureKey = new("ImageGateway.PermanentFailure");
    private readonly HttpClient _http;
    private readonly HttpClient _downloads;
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;
    private readonly CircuitBreakerStateProvider _circuit = new();
    private readonly Queue<UpstreamFailure> _recent = new();
    private readonly TimeProvider _time;

    /// <param name="downloads">
    /// The handler for image links found in answers: no credentials go with them, and it refuses
    /// non-public addresses (<see cref="AddressGuard"/>). Without one, links use <paramref name="handler"/>.
    /// </param>
    /// <param name="callerKey">
    /// This client carries one caller's own key (BYOK): its circuit is that key's alone, and its
    /// messages say so.
    /// </param>
    public UpstreamClient(string name, ProviderOptions options, HttpMessageHandler handler, TimeProvider time, bool callerKey = false,
        HttpMessageHandler? downloads = null)
    {
        Name = name;
        CallerKey = callerKey;
        _time = time;
        Options = options;
        _http = new HttpClient(handler, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };
        DownloadHandler = downloads;
        _downloads = downloads is null ? _http : new HttpClient(downloads, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };

        var maxDelay = TimeSpan.FromSeconds(options.MaxRetryDelaySeconds);
        // The breaker's break and sampling window, the back-off and the timeout all read this clock.
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = time };
        if (options.MaxRetries > 0)
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                // A timed-out attempt is not retried: waiting the whole timeout again rarely helps.
                // A 429/5xx the adapter recognises as permanent (OpenAI's 429 insufficient_quota) is not retried.
                // Nor is an answer the gateway refused itself (too large, a link to a private address).
                ShouldHandle = async args => args.Outcome.Exception is HttpRequestException e && !IsRefusedHere(e)
                    || (args.Outcome.Result is { } r && IsRetryable(r) && !await IsPermanentAsync(args.Context, r)),
                MaxRetryAttempts = options.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(options.RetryBaseDelayMs),
                MaxDelay = maxDelay,
                DelayGenerator = args => ValueTask.FromResult(RetryAfter(args.Outcome.Result, maxDelay, time.GetUtcNow())),
            });
        builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions<HttpResponseMessage>
            {
                // An answer that blames the key (OpenAI's 429 insufficient_quota; 401/402/403 are not
                // transient at all) says nothing about the provider's health, so it never opens the circuit.
                ShouldHandle = async args => args.Outcome.Exception is HttpRequestException or TimeoutRejectedException
                    || (args.Outcome.Result is { } r && IsRetryable(r) && !await IsPermanentAsync(args.Context, r)),
                FailureRatio = options.CircuitFailureRatio,
                MinimumThroughput = Math.Max(2, options.CircuitMinimumThroughput),
                SamplingDuration = TimeSpan.FromSeconds(Math.Max(0.5, options.CircuitSamplingSeconds)),
                BreakDuration = TimeSpan.FromSeconds(Math.Max(0.5, options.CircuitBreakSeconds)),
                StateProvider = _circuit,
            })
            .AddTimeout(TimeSpan.FromSeconds(options.TimeoutSeconds));
        _pipeline = builder.Build();
    }

    public string Name { get; }
    public ProviderOptions Options { get; }
    public bool CallerKey { get; }
    public HttpMessageHandler? DownloadHandler { get; }

    /// <summary>The clock the pipeline's breaker and back-off read.</summary>
    public TimeProvider Time => _time;

    public CircuitState Circuit => _circuit.CircuitState;

    public IReadOnlyList<UpstreamFailure> RecentFailures
    {
        get { lock (_recent) return _recent.ToArray(); }
    }

    /// <summary>
    /// Sends a request built fresh for every attempt and returns the final response, its body read
    /// into a <see cref="BufferedBody"/> inside the pipeline (so the timeout covers it), or a
    /// typed failure when no response could be had (timeout, connection, open circuit).
    /// <paramref name="isPermanent"/> marks a 429/5xx answer (already buffered) that retrying cannot fix.
    /// </summary>
    public async Task<(HttpResponseMessage? Response, ProviderFailure? Failure)> SendAsync(
        Func<HttpRequestMessage> buildRequest, CancellationToken ct, Func<HttpResponseMessage, ValueTask<bool>>? isPermanent = null)
    {
        var (response, _, failure) = await SendAsync<object>(buildRequest, null, ct, isPermanent);
        return (response, failure);
    }

    /// <summary>
    /// As <see cref="SendAsync(Func{HttpRequestMessage}, CancellationToken, Func{HttpResponseMessage, ValueTask{bool}}?)"/>,
    /// but a success answered as <c>text/event-stream</c> is not buffered: its open body goes to
    /// <paramref name="readStream"/> inside the pipeline, so the timeout covers the whole stream and
    /// <paramref name="ct"/> aborts it. The reader returns what it made of the stream (failures
    /// included: a stream that began is never retried, as its events may have been passed on).
    /// Any other answer comes back buffered, as from SendAsync.
    /// </summary>
    public Task<(HttpResponseMessage? Response, T? Streamed, ProviderFailure? Failure)> SendAsync<T>(
        Func<HttpRequestMessage> buildRequest, Func<Stream, CancellationToken, Task<T>>? readStream, CancellationToken ct,
        Func<HttpResponseMessage, ValueTask<bool>>? isPermanent = null) where T : class =>
        SendAsync(buildRequest, readStream, toProvider: true, ct, isPermanent);

    /// <param name="toProvider">
    /// A call to the provider's own API, which carries its configured headers; false for an image
    /// link found in an answer, which goes without any credential through the guarded handler.
    /// </param>
    private async Task<(HttpResponseMessage? Response, T? Streamed, ProviderFailure? Failure)> SendAsync<T>(
        Func<HttpRequestMessage> buildRequest, Func<Stream, CancellationToken, Task<T>>? readStream, bool toProvider, CancellationToken ct,
        Func<HttpResponseMessage, ValueTask<bool>>? isPermanent = null) where T : class
    {
        var context = ResilienceContextPool.Shared.Get(ct);
        if (isPermanent is not null) context.Properties.Set(PermanentFailureKey, isPermanent);
        var streamed = new StrongBox<T?>();
        try
        {
            var response = await _pipeline.ExecuteAsync(static async (ctx, state) =>
            {
                using var request = state.buildRequest();
                if (state.toProvider)
                    foreach (var (header, value) in state.Options.Headers) request.Headers.TryAddWithoutValidation(header, value);
                var http = state.toProvider ? state._http : state._downloads;
                var answer = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ctx.CancellationToken);
                try
                {
                    if (state.readStream is not null && answer.IsSuccessStatusCode
                        && answer.Content.Headers.ContentType?.MediaType is "text/event-stream")
                    {
                        using (answer)
                        {
                            await using var body = new CappedStream(await answer.Content.ReadAsStreamAsync(ctx.CancellationToken), state.Options.MaxAnswerBytes);
                            state.streamed.Value = await state.readStream(body, ctx.CancellationToken);
                        }
                        return answer;
                    }
                    await BufferedBody.LoadAsync(answer, state.Options.MaxAnswerBytes, ctx.CancellationToken);
                }
                catch
                {
                    answer.Dispose();
                    throw;
                }
                return answer;
            }, context, (buildRequest, Options, _http, _downloads, toProvider, readStream, streamed));
            if (IsRetryable(response))
                RecordFailure($"HTTP {(int)response.StatusCode}");
            if ((int)response.StatusCode is >= 300 and < 400)
            {
                // Redirects are not followed: one would send the prompt and the credentials to another host.
                var to = response.Headers.Location is { IsAbsoluteUri: true } location ? $" to {location.Host}" : "";
                response.Dispose();
                RecordFailure($"redirect HTTP {(int)response.StatusCode}");
                return (null, null, new ProviderFailure(FailureKind.InvalidResponse,
                    $"The {Name} provider answered with a redirect (HTTP {(int)response.StatusCode}{to}), which the gateway does not follow."));
            }
            return (response, streamed.Value, null);
        }
        catch (HttpRequestException e) when (e.HttpRequestError == HttpRequestError.ConfigurationLimitExceeded && !ct.IsCancellationRequested)
        {
            RecordFailure("answer too large");
            return (null, null, new ProviderFailure(FailureKind.InvalidResponse,
                $"The {Name} provider's answer was larger than {Options.MaxAnswerBytes} bytes (MaxAnswerBytes)."));
        }
        catch (HttpRequestException e) when (e.InnerException is ForbiddenAddressException && !ct.IsCancellationRequested)
        {
            return (null, null, new ProviderFailure(FailureKind.InvalidResponse,
                $"The {Name} provider answered with an image link that {e.InnerException.Message}."));
        }
        catch (TimeoutRejectedException)
        {
            RecordFailure("timeout");
            return (null, null, new ProviderFailure(FailureKind.Timeout, $"The {Name} provider did not answer within {Options.TimeoutSeconds:0.#} s."));
        }
        catch (BrokenCircuitException)
        {
            return (null, null, CallerKey
                ? new ProviderFailure(FailureKind.Unavailable, $"Calls to the {Name} provider with your own key keep failing and are paused for a while.")
                    { ForAnyCaller = true }
                : new ProviderFailure(FailureKind.Unavailable, $"The {Name} provider is failing and is skipped for a while (circuit open)."));
        }
        catch (HttpRequestException e) when (!ct.IsCancellationRequested)
        {
            RecordFailure(e.HttpRequestError == HttpRequestError.Unknown ? "connection failed" : e.HttpRequestError.ToString());
            return (null, null, new ProviderFailure(FailureKind.Unavailable, $"Could not reach the {Name} provider."));
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            RecordFailure("connection aborted");
            return (null, null, new ProviderFailure(FailureKind.Unavailable, $"The connection to the {Name} provider was lost."));
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>
    /// Fetches an image an upstream answered as a link instead of inline bytes: no Authorization and
    /// no configured header go to the image host, and the link may not point at a private address
    /// (unless the operator allows it, or it is the provider's own host). Returns the image, or a
    /// failure when the link does not yield one.
    /// </summary>
    public async Task<(GeneratedImage? Image, ProviderFailure? Failure)> DownloadImageAsync(Uri link, string? revisedPrompt, CancellationToken ct)
    {
        var (download, _, failure) = await SendAsync<object>(() => new HttpRequestMessage(HttpMethod.Get, link), null, toProvider: false, ct);
        if (failure is not null) return (null, failure);
        using (download)
        {
            var bytes = download!.IsSuccessStatusCode ? ((BufferedBody)download.Content).Memory.ToArray() : [];
            var mediaType = UpstreamText.SniffWholeImage(bytes);
            return mediaType is null
                ? (null, UpstreamText.NotImages(Name, "an image URL that did not return an image"))
                : (new GeneratedImage(bytes, mediaType, revisedPrompt), null);
        }
    }

    public void RecordFailure(string reason)
    {
        lock (_recent)
        {
            _recent.Enqueue(new UpstreamFailure(_time.GetUtcNow(), reason));
            while (_recent.Count > RecentFailureCount) _recent.Dequeue();
        }
    }

    private static bool IsRefusedHere(HttpRequestException e) =>
        e.HttpRequestError == HttpRequestError.ConfigurationLimitExceeded || e.InnerException is ForbiddenAddressException;

    /// <summary>429 and 5xx: answers a retry, or another provider, may fix.</summary>
    private static bool IsRetryable(HttpResponseMessage response) =>
        response.StatusCode == HttpStatusCode.TooManyRequests || (int)response.StatusCode >= 500;

    /// <summary>Whether the adapter recognises this 429/5xx as permanent (it blames the key, not the provider).</summary>
    private static async ValueTask<bool> IsPermanentAsync(ResilienceContext context, HttpResponseMessage response) =>
        context.Properties.TryGetValue(PermanentFailureKey, out var isPermanent) && await isPermanent(response);

    private static TimeSpan? RetryAfter(HttpResponseMessage? response, TimeSpan max, DateTimeOffset now)
    {
        var header = response?.Headers.RetryAfter;
        if (header is null) return null;
        var delay = header.Delta ?? (header.Date is { } date ? date - now : null);
        if (delay is null) return null;
        return delay < TimeSpan.Zero ? TimeSpan.Zero : delay > max ? max : delay;
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(JsonObject))]
internal sealed partial class ProviderJson : System.Text.Json.Serialization.JsonSerializerContext;
