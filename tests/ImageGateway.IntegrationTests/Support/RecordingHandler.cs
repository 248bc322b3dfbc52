using System.Collections.Concurrent;

namespace ImageGateway.IntegrationTests.Support;

/// <summary>
/// Sits under an SDK's HttpClient and keeps every exchange it makes (retries included), so a test
/// can check the raw wire: what the SDK sent and the exact body it got back.
/// </summary>
public sealed class RecordingHandler() : DelegatingHandler(new SocketsHttpHandler())
{
    public sealed record Exchange(string Method, Uri Uri, string? RequestBody, IReadOnlyDictionary<string, string> RequestHeaders,
        int Status, IReadOnlyDictionary<string, string> ResponseHeaders, string ResponseBody, DateTimeOffset At);

    public ConcurrentQueue<Exchange> Exchanges { get; } = new();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var requestBody = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
        var requestHeaders = request.Headers.Concat(request.Content?.Headers ?? Enumerable.Empty<KeyValuePair<string, IEnumerable<string>>>())
            .ToDictionary(h => h.Key, h => string.Join(", ", h.Value), StringComparer.OrdinalIgnoreCase);
        var response = await base.SendAsync(request, cancellationToken);
        await response.Content.LoadIntoBufferAsync(cancellationToken);
        var responseBody = await response.Content.ReadAsStringAsync(cancellationToken);
        var responseHeaders = response.Headers.Concat(response.Content.Headers)
            .ToDictionary(h => h.Key, h => string.Join(", ", h.Value), StringComparer.OrdinalIgnoreCase);
        Exchanges.Enqueue(new Exchange(request.Method.Method, request.RequestUri!, requestBody, requestHeaders,
            (int)response.StatusCode, responseHeaders, responseBody, DateTimeOffset.UtcNow));
        return response;
    }
}
