using ImageGateway.Hosting;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace ImageGateway.RateLimits;

/// <summary><c>Gateway:RateLimits</c>: where the image counters live.</summary>
public sealed class RateLimitOptions
{
    public const string Section = "Gateway:RateLimits";

    /// <summary><c>memory</c> (one process) or <c>redis</c> (several processes share one limit).</summary>
    public string Store { get; set; } = "memory";

    public bool IsRedis => Store.Trim().Equals("redis", StringComparison.OrdinalIgnoreCase);
}

/// <summary><c>Gateway:Redis</c>.</summary>
public sealed class RedisOptions
{
    public const string Section = "Gateway:Redis";

    /// <summary>A StackExchange.Redis configuration string, e.g. <c>redis:6379,password=...</c>; required when RateLimits:Store is <c>redis</c>.</summary>
    public string? Configuration { get; set; }
}

public sealed class RateLimitOptionsValidator(IOptions<RedisOptions> redis) : IValidateOptions<RateLimitOptions>
{
    public ValidateOptionsResult Validate(string? name, RateLimitOptions options)
    {
        var errors = new List<string>();
        if (options.Store.Trim().ToLowerInvariant() is not ("memory" or "redis"))
            errors.Add($"Gateway:RateLimits:Store '{options.Store}' is not supported by this build; use 'memory' or 'redis'.");
        if (options.IsRedis && RedisError(redis.Value) is { } error) errors.Add(error);
        return errors.ToResult();
    }

    /// <summary>The message never shows the configuration string, which may hold a password.</summary>
    public static string? RedisError(RedisOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Configuration))
            return "Gateway:RateLimits:Store is 'redis' but Gateway:Redis:Configuration (env Gateway__Redis__Configuration) is not set; "
                + "give a StackExchange.Redis configuration string such as 'redis-host:6379'.";
        try
        {
            ConfigurationOptions.Parse(options.Configuration);
            return null;
        }
        catch (ArgumentException)
        {
            return "Gateway:Redis:Configuration is not a valid StackExchange.Redis configuration string.";
        }
    }
}

public static class RateLimitRegistration
{
    /// <summary>Binds and checks <c>Gateway:RateLimits</c> and <c>Gateway:Redis</c>, and registers the counter store they name.</summary>
    public static IServiceCollection AddImageRateLimits(this IServiceCollection services)
    {
        services.AddOptions<RedisOptions>().BindConfiguration(RedisOptions.Section);
        return services.AddValidatedOptions<RateLimitOptions, RateLimitOptionsValidator>(RateLimitOptions.Section)
            .AddSingleton<IRateLimitStore>(CreateStore).AddSingleton<ImageRateLimiter>();
    }

    private static IRateLimitStore CreateStore(IServiceProvider services) =>
        services.GetRequiredService<IOptions<RateLimitOptions>>().Value.IsRedis
            ? RedisRateLimitStore.Connect(services.GetRequiredService<IOptions<RedisOptions>>().Value)
            : new MemoryRateLimitStore();
}
