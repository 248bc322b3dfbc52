using System.Net;
using System.Net.Sockets;

namespace ImageGateway.Providers;

/// <summary>
/// Refuses connections to loopback, private and other non-public addresses. The check is made where
/// the connection is made, after DNS, so a name cannot be pointed at the inside between a check and
/// the connect. Used for every URL the gateway did not configure itself: an edit's <c>image_url</c>
/// and the image links found in upstream answers.
/// </summary>
public static class AddressGuard
{
    /// <summary>
    /// A handler that never follows redirects, decompresses nothing it does not count, and connects
    /// only to public addresses, except to endpoints <paramref name="mayBePrivate"/> allows.
    /// </summary>
    public static SocketsHttpHandler Handler(Func<DnsEndPoint, bool> mayBePrivate, TimeSpan connectTimeout) => new()
    {
        AllowAutoRedirect = false,
        ConnectTimeout = connectTimeout,
        ConnectCallback = (context, ct) => ConnectAsync(context.DnsEndPoint, mayBePrivate, ct),
        AutomaticDecompression = DecompressionMethods.None,
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        MaxResponseDrainSize = 0,
    };

    private static async ValueTask<Stream> ConnectAsync(DnsEndPoint endpoint, Func<DnsEndPoint, bool> mayBePrivate, CancellationToken ct)
    {
        var addresses = IPAddress.TryParse(endpoint.Host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(endpoint.Host, ct);
        var allowed = mayBePrivate(endpoint) ? addresses : addresses.Where(IsPublic).ToArray();
        if (allowed.Length == 0) throw new ForbiddenAddressException();
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, endpoint.Port, ct);
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
}

/// <summary>The connection was refused because the address is not public.</summary>
public sealed class ForbiddenAddressException() : Exception(
    "points at a loopback or private address, which this gateway does not fetch (Gateway:AllowPrivateImageUrls)");
