using ImageGateway.Tests.Support;
using Microsoft.Extensions.Options;

namespace ImageGateway.Tests.Hosting;

/// <summary>
/// Issue 23, finding 7: with a shared store configured, the gateway refuses to start unless both
/// secrets are given, since each process would otherwise generate its own (URLs signed by one
/// would be refused by another; BYOK keys stored through one unreadable by another).
/// </summary>
public sealed class SharedSecretsTests
{
    private static string StartUpErrors(GatewayFactory gateway)
    {
        var thrown = Assert.ThrowsAny<Exception>(() => gateway.CreateClient());
        return string.Join("\n", thrown.Flatten().OfType<OptionsValidationException>().Select(e => e.Message));
    }

    public static TheoryData<string, string, string> SharedStores => new()
    {
        { "Gateway:Database:Provider", "postgres", "Gateway:Database:Provider=postgres" },
        { "Gateway:Storage:Kind", "s3", "Gateway:Storage:Kind=s3" },
        { "Gateway:RateLimits:Store", "redis", "Gateway:RateLimits:Store=redis" },
    };

    [Theory]
    [MemberData(nameof(SharedStores))]
    public void A_shared_store_without_the_secrets_stops_start_up_naming_both(string setting, string value, string named)
    {
        using var gateway = new GatewayFactory();
        gateway.Settings[setting] = value;

        var message = StartUpErrors(gateway);

        Assert.Contains("Gateway__Secrets__UrlSigningKey must be set when processes share state (" + named, message);
        Assert.Contains("Gateway__Secrets__EncryptionKey must be set", message);
        Assert.False(File.Exists(Path.Combine(gateway.DataDirectory, "encryption.key")), "no key was generated");
    }

    [Fact]
    public void One_secret_given_names_only_the_other()
    {
        using var gateway = new GatewayFactory();
        gateway.Settings["Gateway:Database:Provider"] = "postgres";
        gateway.Settings["Gateway:Database:ConnectionString"] = "Host=127.0.0.1;Port=1";
        gateway.Settings["Gateway:Secrets:UrlSigningKey"] = Convert.ToBase64String(new byte[32]);
        gateway.Settings["Gateway:Secrets:EncryptionKey"] = "  ";

        var message = StartUpErrors(gateway);

        Assert.DoesNotContain("Gateway__Secrets__UrlSigningKey", message);
        Assert.Contains("Gateway__Secrets__EncryptionKey must be set", message);
    }

    [Fact]
    public async Task The_embedded_default_still_generates_its_own()
    {
        using var gateway = new GatewayFactory();

        (await gateway.CreateClient().GetAsync("/healthz")).EnsureSuccessStatusCode();

        Assert.True(File.Exists(Path.Combine(gateway.DataDirectory, "encryption.key")));
        Assert.True(File.Exists(Path.Combine(gateway.DataDirectory, "url-signing.key")));
    }
}
