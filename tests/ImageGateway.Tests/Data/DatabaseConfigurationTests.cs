using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Data;

/// <summary>Start-up validation of Gateway:Database (issue 7): a bad setting stops the gateway with a message saying what to set.</summary>
public sealed class DatabaseConfigurationTests
{
    [Theory]
    [InlineData("postgres", null)]
    [InlineData("PostgreSQL", "")]
    [InlineData(" postgres ", "   ")]
    public void Postgres_without_a_connection_string_stops_start_up_naming_the_variable(string provider, string? connectionString)
    {
        using var gateway = new GatewayFactory();
        gateway.Settings["Gateway:Database:Provider"] = provider;
        if (connectionString is not null) gateway.Settings["Gateway:Database:ConnectionString"] = connectionString;

        var thrown = Assert.ThrowsAny<Exception>(() => gateway.CreateClient());

        var error = thrown.Flatten()
            .FirstOrDefault(e => e.Message.Contains("Gateway__Database__ConnectionString", StringComparison.Ordinal));
        Assert.True(error is not null, "expected a message naming Gateway__Database__ConnectionString, got:\n" + thrown);
        Assert.Contains("Gateway:Database:ConnectionString", error!.Message);
    }

    [Fact]
    public void An_unknown_provider_stops_start_up_naming_the_supported_ones()
    {
        using var gateway = new GatewayFactory();
        gateway.Settings["Gateway:Database:Provider"] = "oracle";

        var thrown = Assert.ThrowsAny<Exception>(() => gateway.CreateClient());

        var error = thrown.Flatten().FirstOrDefault(e => e.Message.Contains("'oracle'"));
        Assert.True(error is not null, "expected a message naming the provider, got:\n" + thrown);
        Assert.Contains("'sqlite'", error!.Message);
        Assert.Contains("'postgres'", error.Message);
    }
}
