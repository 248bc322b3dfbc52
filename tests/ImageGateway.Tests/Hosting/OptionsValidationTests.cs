using ImageGateway.Tests.Support;
using Microsoft.Extensions.Options;

namespace ImageGateway.Tests.Hosting;

/// <summary>Every folder's settings are checked once at start, and every mistake is reported together, naming its setting.</summary>
public sealed class OptionsValidationTests
{
    [Fact]
    public void Mistakes_in_several_sections_stop_start_up_with_one_message_naming_each_setting()
    {
        using var gateway = new GatewayFactory();
        gateway.Settings["Gateway:Database:Provider"] = "oracle";
        gateway.Settings["Gateway:Storage:Kind"] = "ftp";
        gateway.Settings["Gateway:Storage:UrlTtlSeconds"] = "0";
        gateway.Settings["Gateway:RateLimits:Store"] = "memcached";
        gateway.Settings["Gateway:Billing:HoldTimeoutSeconds"] = "-1";
        gateway.Settings["Gateway:Routes:builtin-preview:0:Provider"] = "nowhere";
        gateway.Settings["Gateway:Tiers:free:Multiplier"] = "0";

        var thrown = Assert.ThrowsAny<Exception>(() => gateway.CreateClient());

        var message = string.Join("\n", thrown.Flatten().OfType<OptionsValidationException>().Select(e => e.Message));
        Assert.Contains("Gateway:Database:Provider 'oracle'", message);
        Assert.Contains("Gateway:Storage:Kind 'ftp'", message);
        Assert.Contains("Gateway:Storage:UrlTtlSeconds", message);
        Assert.Contains("Gateway:RateLimits:Store 'memcached'", message);
        Assert.Contains("Gateway:Billing:HoldTimeoutSeconds", message);
        Assert.Contains("Gateway:Routes:builtin-preview names unknown provider(s) nowhere", message);
        Assert.Contains("Gateway:Tiers:free:Multiplier", message);
    }

    [Fact]
    public void A_bootstrap_admin_key_of_the_wrong_shape_stops_start_up()
    {
        using var gateway = new GatewayFactory();
        gateway.Settings["Gateway:Bootstrap:AdminKey"] = "uc_short";

        var thrown = Assert.ThrowsAny<Exception>(() => gateway.CreateClient());

        Assert.Contains(thrown.Flatten().OfType<OptionsValidationException>(),
            e => e.Message.Contains("Gateway:Bootstrap:AdminKey must be 'uc_'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_sound_configuration_starts()
    {
        using var gateway = new GatewayFactory();
        using var client = gateway.CreateClient();
        Assert.True((await client.GetAsync("/healthz")).IsSuccessStatusCode);
    }
}
