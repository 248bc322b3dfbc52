using ImageGateway.Hosting;
using Microsoft.Extensions.Options;

namespace ImageGateway.Storage;

/// <summary><c>Gateway:Storage</c>: where images behind URLs live, and for how long their URLs work.</summary>
public sealed class StorageOptions
{
    public const string Section = "Gateway:Storage";

    public string Kind { get; set; } = "filesystem";
    public int UrlTtlSeconds { get; set; } = 3600;
    public int SweepIntervalSeconds { get; set; } = 60;
    /// <summary>
    /// Image files written with O_DIRECT, past the page cache, where the OS and file system allow it
    /// (Linux; not tmpfs). They are written once and read a few times at most.
    /// </summary>
    public bool DirectWrites { get; set; } = true;
    /// <summary>The bucket when <c>Kind</c> is <c>s3</c>.</summary>
    public S3Options S3 { get; set; } = new();

    public bool IsS3 => Kind.Trim().Equals("s3", StringComparison.OrdinalIgnoreCase);
}

/// <summary>An S3-compatible bucket (AWS, MinIO, s3rver...); addressed path-style so any endpoint works.</summary>
public sealed class S3Options
{
    public string? ServiceUrl { get; set; }
    public string? Bucket { get; set; }
    public string? AccessKey { get; set; }
    public string? SecretKey { get; set; }
    public string Region { get; set; } = "us-east-1";
}

public sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageOptions options)
    {
        var errors = new List<string>();
        if (options.Kind.Trim().ToLowerInvariant() is not ("filesystem" or "s3"))
            errors.Add($"Gateway:Storage:Kind '{options.Kind}' is not supported by this build; use 'filesystem' or 's3'.");
        if (options.UrlTtlSeconds < 1) errors.Add($"Gateway:Storage:UrlTtlSeconds {options.UrlTtlSeconds} must be positive.");
        if (options.SweepIntervalSeconds < 1) errors.Add($"Gateway:Storage:SweepIntervalSeconds {options.SweepIntervalSeconds} must be positive.");
        if (options.IsS3) errors.AddRange(S3Errors(options.S3));
        return errors.ToResult();
    }

    /// <summary>What is wrong with the bucket settings, without ever echoing a secret.</summary>
    public static IEnumerable<string> S3Errors(S3Options s3)
    {
        var missing = new List<string>();
        if (string.IsNullOrWhiteSpace(s3.ServiceUrl)) missing.Add("Gateway:Storage:S3:ServiceUrl");
        if (string.IsNullOrWhiteSpace(s3.Bucket)) missing.Add("Gateway:Storage:S3:Bucket");
        if (missing.Count > 0)
            yield return $"Gateway:Storage:Kind is 's3' but {string.Join(" and ", missing)} {(missing.Count == 1 ? "is" : "are")} not set.";
        else if (!Uri.TryCreate(s3.ServiceUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            yield return $"Gateway:Storage:S3:ServiceUrl '{s3.ServiceUrl}' is not an absolute http(s) URL.";
        if (string.IsNullOrWhiteSpace(s3.AccessKey) != string.IsNullOrWhiteSpace(s3.SecretKey))
            yield return "Gateway:Storage:S3:AccessKey and Gateway:Storage:S3:SecretKey must be set together.";
    }
}

public static class StorageRegistration
{
    /// <summary>Binds and checks <c>Gateway:Storage</c>, and registers the store it names and the URL signer.</summary>
    public static IServiceCollection AddImageStorage(this IServiceCollection services) => services
        .AddValidatedOptions<StorageOptions, StorageOptionsValidator>(StorageOptions.Section)
        .AddSingleton<IImageStore>(CreateStore).AddSingleton<SignedUrls>();

    private static IImageStore CreateStore(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<StorageOptions>>().Value;
        return options.IsS3 ? S3ImageStore.Create(options.S3)
            : new FileSystemImageStore(GatewayOptions.InDataDirectory(services, "images")) { DirectWrites = options.DirectWrites };
    }
}
