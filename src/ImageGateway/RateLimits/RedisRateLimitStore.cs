using System.Globalization;
using StackExchange.Redis;

namespace ImageGateway.RateLimits;

/// <summary>
/// Image counters in Redis, so that N gateway processes enforce one limit together (DESIGN §7).
/// One Lua script reads every window, and counts only when all of them have room: Redis runs a
/// script as a single step, so two processes can never both take the last image of a window.
/// Each counter is keyed by its window's start and expires at the window's end (PEXPIREAT), so
/// old windows vanish by themselves and nothing has to reset them.
/// </summary>
public sealed class RedisRateLimitStore(IConnectionMultiplexer redis, string keyPrefix = RedisRateLimitStore.DefaultPrefix, bool ownsConnection = false)
    : IRateLimitStore, IDisposable
{
    public const string DefaultPrefix = "igw:";

    /// <summary>
    /// Connects once for the process (the multiplexer is meant to be shared). A missing or unreachable
    /// configuration stops start-up with a message naming the setting; the message shows the endpoints
    /// only, never the configuration string, which may hold a password.
    /// </summary>
    public static RedisRateLimitStore Connect(RedisOptions options)
    {
        // The settings were checked at start (RateLimitOptionsValidator); this is the same check for direct callers.
        if (RateLimitOptionsValidator.RedisError(options) is { } error) throw new InvalidOperationException(error);
        var config = ConfigurationOptions.Parse(options.Configuration!);
        try
        {
            return new RedisRateLimitStore(ConnectionMultiplexer.Connect(config), DefaultPrefix, ownsConnection: true);
        }
        catch (RedisConnectionException e)
        {
            var endpoints = string.Join(", ", config.EndPoints.Select(ep => ep.ToString()));
            throw new InvalidOperationException(
                $"Could not connect to Redis at {endpoints} (Gateway:Redis:Configuration): {e.FailureType}.");
        }
    }

    /// <summary>A round trip to the server, for /readyz.</summary>
    public async Task<string> ProbeAsync(CancellationToken ct)
    {
        var rtt = await redis.GetDatabase().PingAsync().WaitAsync(ct);
        return $"ping {rtt.TotalMilliseconds:0.#} ms";
    }

    public void Dispose()
    {
        if (ownsConnection) redis.Dispose();
    }

    // KEYS[i] = counter of window i; ARGV[1] = images; ARGV[1+i] = limit of window i; ARGV[1+n+i] = its end (unix ms).
    // Returns {allowed (0/1), blocking window (1-based, 0 = none), used_1 .. used_n}.
    private const string ConsumeScript = """
        local n = #KEYS
        local images = tonumber(ARGV[1])
        local result = {1, 0}
        for i = 1, n do
          local used = tonumber(redis.call('GET', KEYS[i]) or '0')
          result[2 + i] = used
          if result[2] == 0 and used + images > tonumber(ARGV[1 + i]) then
            result[1] = 0
            result[2] = i
          end
        end
        if result[1] == 0 then return result end
        for i = 1, n do
          result[2 + i] = redis.call('INCRBY', KEYS[i], images)
          redis.call('PEXPIREAT', KEYS[i], ARGV[1 + n + i])
        end
        return result
        """;

    // Gives back at most what is counted, and never creates a counter (an expired window stays gone).
    private const string RefundScript = """
        local images = tonumber(ARGV[1])
        for i = 1, #KEYS do
          local used = tonumber(redis.call('GET', KEYS[i]) or '0')
          if used > 0 then redis.call('DECRBY', KEYS[i], math.min(used, images)) end
        end
        return 0
        """;

    /// <summary>
    /// The account id is the hash tag, so every window of one account lives in one Redis Cluster
    /// slot (a script may only touch keys of one slot).
    /// </summary>
    public string KeyFor(string accountId, WindowLimit window) =>
        $"{keyPrefix}rl:{{{accountId}}}:{window.Name}:{window.Start.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)}";

    public async ValueTask<RateDecision> TryConsumeAsync(string accountId, IReadOnlyList<WindowLimit> windows, int images, CancellationToken ct)
    {
        if (windows.Count == 0) return new RateDecision(true, [], null);
        var keys = new RedisKey[windows.Count];
        var args = new RedisValue[1 + 2 * windows.Count];
        args[0] = images;
        for (var i = 0; i < windows.Count; i++)
        {
            keys[i] = KeyFor(accountId, windows[i]);
            args[1 + i] = windows[i].Limit;
            args[1 + windows.Count + i] = windows[i].End.ToUnixTimeMilliseconds();
        }

        var result = (RedisResult[])(await redis.GetDatabase().ScriptEvaluateAsync(ConsumeScript, keys, args).WaitAsync(ct))!;
        var allowed = (long)result[0] == 1;
        var blockingIndex = (int)(long)result[1];
        var used = new (WindowLimit, int)[windows.Count];
        for (var i = 0; i < windows.Count; i++) used[i] = (windows[i], (int)(long)result[2 + i]);
        return new RateDecision(allowed, used, blockingIndex > 0 ? windows[blockingIndex - 1] : null);
    }

    public async ValueTask RefundAsync(string accountId, IReadOnlyList<WindowLimit> windows, int images, CancellationToken ct)
    {
        if (windows.Count == 0) return;
        var keys = windows.Select(w => (RedisKey)KeyFor(accountId, w)).ToArray();
        await redis.GetDatabase().ScriptEvaluateAsync(RefundScript, keys, [images]).WaitAsync(ct);
    }
}
