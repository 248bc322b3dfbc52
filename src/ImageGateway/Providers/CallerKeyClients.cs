using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Caching.Memory;

namespace ImageGateway.Providers;

/// <summary>
/// The HTTP clients of callers' own keys (BYOK): one <see cref="UpstreamClient"/>, so one circuit
/// breaker, per provider and key. A key that fails (no quota, revoked, rate-limited) opens only its
/// own circuit, never the platform's, so one tenant cannot take a provider offline for the others.
/// They share the platform's connection pool. A key unused for <see cref="Idle"/> is forgotten, and
/// at most <see cref="MaxClients"/> are kept; the key itself is never the cache key, only its hash.
/// </summary>
public sealed class CallerKeyClients(HttpMessageHandler handler, TimeProvider time)
{
    public const int MaxClients = 10_000;
    public static readonly TimeSpan Idle = TimeSpan.FromMinutes(30);

    private readonly MemoryCache _clients = new(new MemoryCacheOptions { SizeLimit = MaxClients });

    /// <summary>The client of <paramref name="apiKey"/> on the provider <paramref name="platform"/> serves: same settings, its own circuit.</summary>
    public UpstreamClient For(UpstreamClient platform, string apiKey)
    {
        var id = $"{platform.Name.ToLowerInvariant()}:{Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(apiKey)))}";
        return _clients.GetOrCreate(id, entry =>
        {
            entry.Size = 1;
            entry.SlidingExpiration = Idle;
            return new UpstreamClient(platform.Name, platform.Options, handler, time, callerKey: true, platform.DownloadHandler);
        })!;
    }
}
