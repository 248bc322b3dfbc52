using ImageGateway.Catalog;
using ImageGateway.Hosting;
using Microsoft.Extensions.Configuration;

namespace ImageGateway.Tests.Catalog;

/// <summary>
/// The catalog as the shipped appsettings.json configures it (the real defaults, read from the
/// source tree rather than a copy), plus a small hand-built configuration for tests that break it.
/// </summary>
public static class CatalogFixture
{
    private static readonly Lazy<ModelCatalog> DefaultCatalog = new(() => new ModelCatalog(LoadDefaultOptions()));

    /// <summary>The catalog built from src/ImageGateway/appsettings.json.</summary>
    public static ModelCatalog Default => DefaultCatalog.Value;

    /// <summary>Walks up from the test binaries until it finds ImageGateway.slnx; the repository root.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "ImageGateway.slnx")))
                return dir.FullName;
        throw new InvalidOperationException($"ImageGateway.slnx not found above {AppContext.BaseDirectory}.");
    }

    public static string AppSettingsPath() => Path.Combine(RepositoryRoot(), "src", "ImageGateway", "appsettings.json");

    /// <summary>A fresh <see cref="CatalogOptions"/> bound from the real appsettings.json (tests may mutate it).</summary>
    public static CatalogOptions LoadDefaultOptions()
    {
        var path = AppSettingsPath();
        Assert.True(File.Exists(path), $"appsettings.json not found at {path}");
        var configuration = new ConfigurationBuilder().AddJsonFile(path, optional: false, reloadOnChange: false).Build();
        return configuration.GetSection(CatalogOptions.Section).Get<CatalogOptions>()
            ?? throw new InvalidOperationException("appsettings.json has no Gateway section.");
    }

    /// <summary>A minimal valid configuration: one model with two qualities and sizes, one tier.</summary>
    public static CatalogOptions MinimalOptions(decimal multiplier = 1m)
    {
        var options = new CatalogOptions();
        options.Models["m"] = new ModelOptions
        {
            Sizes = ["512x512", "1024x1024"],
            Qualities = ["standard", "hd"],
            DefaultQuality = "standard",
            MaxN = 10,
            MaxPromptLength = 100,
        };
        options.Pricing["m"] = new Dictionary<string, Dictionary<string, decimal>>
        {
            ["standard"] = new() { ["512x512"] = 1m, ["1024x1024"] = 2m },
            ["hd"] = new() { ["512x512"] = 3m, ["1024x1024"] = 4m },
        };
        options.Tiers["t"] = new TierOptions { Multiplier = multiplier };
        return options;
    }
}
