using ImageGateway.Hosting;
using Microsoft.Extensions.Options;

namespace ImageGateway.Data;

/// <summary><c>Gateway:Database</c>: SQLite in the data folder (default) or PostgreSQL for scale-out.</summary>
public sealed class DatabaseOptions
{
    public const string Section = "Gateway:Database";

    public string Provider { get; set; } = "sqlite";
    public string? ConnectionString { get; set; }

    /// <summary>SQLite only: PRAGMA synchronous for writes, NORMAL (no fsync per commit) or FULL.</summary>
    public string SqliteSynchronous { get; set; } = "NORMAL";

    /// <summary>SQLite only: page size of a newly created database file (an existing file keeps its own).</summary>
    public int SqlitePageSize { get; set; } = SqliteDialect.DefaultPageSize;

    public bool IsPostgres => Provider.Trim().ToLowerInvariant() is "postgres" or "postgresql";
}

public sealed class DatabaseOptionsValidator : IValidateOptions<DatabaseOptions>
{
    public ValidateOptionsResult Validate(string? name, DatabaseOptions options)
    {
        var errors = new List<string>();
        var provider = options.Provider.Trim().ToLowerInvariant();
        if (provider is not ("sqlite" or "postgres" or "postgresql"))
            errors.Add($"Gateway:Database:Provider '{options.Provider}' is not supported by this build; use 'sqlite' or 'postgres'.");
        else if (options.IsPostgres && string.IsNullOrWhiteSpace(options.ConnectionString))
            errors.Add("Gateway:Database:Provider is 'postgres' but no connection string is set: set Gateway:Database:ConnectionString " +
                "(environment variable Gateway__Database__ConnectionString), e.g. 'Host=db;Username=gateway;Password=...;Database=gateway'.");
        if (options.SqliteSynchronous.Trim().ToUpperInvariant() is not ("NORMAL" or "FULL" or "OFF" or "EXTRA"))
            errors.Add($"Gateway:Database:SqliteSynchronous '{options.SqliteSynchronous}' must be NORMAL, FULL, EXTRA or OFF.");
        if (options.SqlitePageSize is < 512 or > 65536 || (options.SqlitePageSize & (options.SqlitePageSize - 1)) != 0)
            errors.Add($"Gateway:Database:SqlitePageSize {options.SqlitePageSize} must be a power of two from 512 to 65536.");
        return errors.ToResult();
    }
}

public static class DatabaseRegistration
{
    /// <summary>Binds and checks <c>Gateway:Database</c>, and registers the dialect it names.</summary>
    public static IServiceCollection AddGatewayDatabase(this IServiceCollection services) => services
        .AddValidatedOptions<DatabaseOptions, DatabaseOptionsValidator>(DatabaseOptions.Section)
        .AddSingleton<IDbDialect>(CreateDialect).AddSingleton<Database>();

    private static IDbDialect CreateDialect(IServiceProvider services) =>
        services.GetRequiredService<IOptions<DatabaseOptions>>().Value switch
        {
            { IsPostgres: true } o => new PostgresDialect(o.ConnectionString!),
            { ConnectionString: { Length: > 0 } connection } o when !string.IsNullOrWhiteSpace(connection) =>
                new SqliteDialect(connection, o.SqliteSynchronous, o.SqlitePageSize),
            var o => SqliteDialect.ForFile(GatewayOptions.InDataDirectory(services, "gateway.db"), o.SqliteSynchronous, o.SqlitePageSize),
        };
}
