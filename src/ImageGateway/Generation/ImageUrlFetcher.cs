using System.Net;
using System.Net.Sockets;
using ImageGateway.Hosting;
using Microsoft.Extensions.Options;

namespace ImageGateway.Generation;

/// <summary>
/// Fetches an edit's <c>image_url</c>. The address is checked where the connection is made (after
/// DNS, so a name cannot point at the inside later): loopback, private, link-local and other
/// non-public addresses are refused unless <c>Gateway:AllowPrivateImageUrls</c> is set. No
/// redirects, a time limit, a size limit, and the bytes must be an image.
/// </summary>
public sealed class ImageUrlFetcher : IDisposable
{
    private readonly HttpClient _http;
    private readonly bool _allowPrivate;

    public ImageUrlFetcher(IOptions<GatewayOptions> options)
    {
        _allowPrivate = options.Value.AllowPrivateImageUrls;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            ConnectCallback = ConnectAsync,
            AutomaticDecompression = DecompressionMethods.None,
        };
        _http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(20) };
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

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken ct)
    {
        var addresses = IPAddress.TryParse(context.DnsEndPoint.Host, out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(context.DnsEndPoint.Host, ct);
        var allowed = addresses.Where(a => _allowPrivate || IsPublic(a)).ToArray();
        if (allowed.Length == 0) throw new ForbiddenAddressException();
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, ct);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>A unicast address on the public internet: not loopback, private, link-local, CGNAT, unique-local or unspecified.</summary>
    public static bool IsPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any)) return false;
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
            return !(address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast || address.IsIPv6UniqueLocal);
        var b = address.GetAddressBytes();
        return !(b[0] == 10 || b[0] == 0 || b[0] >= 224
            || (b[0] == 172 && b[1] is >= 16 and <= 31)
            || (b[0] == 192 && b[1] == 168)
            || (b[0] == 169 && b[1] == 254)
            || (b[0] == 100 && b[1] is >= 64 and <= 127));
    }

    public void Dispose() => _http.Dispose();

    private sealed class ForbiddenAddressException() : Exception(
        "points at a loopback or private address, which this gateway does not fetch (Gateway:AllowPrivateImageUrls)");
}
