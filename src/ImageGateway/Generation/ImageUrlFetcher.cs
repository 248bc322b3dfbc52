using ImageGateway.Hosting;
using ImageGateway.Providers;
using Microsoft.Extensions.Options;

namespace ImageGateway.Generation;

/// <summary>
/// Fetches an edit's <c>image_url</c>: loopback, private, link-local and other non-public
/// addresses are refused (<see cref="AddressGuard"/>) unless <c>Gateway:AllowPrivateImageUrls</c>
/// is set. No redirects, a time limit, a size limit, and the bytes must be an image.
/// </summary>
public sealed class ImageUrlFetcher : IDisposable
{
    private readonly HttpClient _http;

    public ImageUrlFetcher(IOptions<GatewayOptions> options)
    {
        var allowPrivate = options.Value.AllowPrivateImageUrls;
        _http = new HttpClient(AddressGuard.Handler(_ => allowPrivate, TimeSpan.FromSeconds(5))) { Timeout = TimeSpan.FromSeconds(20) };
    }

    /// <summary>The image's bytes, or why it was not fetched (a sentence for the 400).</summary>
    public async Task<(byte[]? Bytes, string? Refusal)> FetchAsync(string url, long maxBytes, CancellationToken ct)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http"))
            return (null, "must be an http(s) or data: URL");
        try
        {
            using var response = await _http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, ct);
            if (!response.IsSuccessStatusCode) return (null, $"answered HTTP {(int)response.StatusCode}");
            if (response.Content.Headers.ContentLength > maxBytes) return (null, $"is larger than {maxBytes / (1024 * 1024)} MB");
            await using var body = await response.Content.ReadAsStreamAsync(ct);
            using var buffer = new MemoryStream();
            var chunk = new byte[81920];
            int read;
            while ((read = await body.ReadAsync(chunk, ct)) > 0)
            {
                if (buffer.Length + read > maxBytes) return (null, $"is larger than {maxBytes / (1024 * 1024)} MB");
                buffer.Write(chunk, 0, read);
            }
            return (buffer.ToArray(), null);
        }
        catch (HttpRequestException e) when (e.InnerException is ForbiddenAddressException forbidden)
        {
            return (null, forbidden.Message);
        }
        catch (HttpRequestException)
        {
            return (null, "could not be fetched");
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            return (null, "did not answer in time");
        }
    }

    public void Dispose() => _http.Dispose();
}
