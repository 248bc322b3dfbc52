using System.Globalization;
using System.Net.Http.Json;
using ImageGateway.Tests.Support;

namespace ImageGateway.IntegrationTests.Reliability;

/// <summary>
/// Sizes for the long reliability runs. CI runs the defaults (a couple of minutes in all); a longer
/// soak sets the environment variables, e.g. <c>IGW_RELIABILITY_CHAOS_REQUESTS=20000</c>.
/// </summary>
internal static class LoadKit
{
    public static int Int(string variable, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(variable), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v > 0
            ? v : fallback;

    /// <summary>Lifts every request-count window for one user so only credits can refuse a request.</summary>
    public static async Task UnlimitedAsync(this GatewayFactory gateway, string userId)
    {
        using var admin = gateway.AdminClient();
        var response = await admin.PutAsJsonAsync($"/api/v1/admin/users/{userId}/limits",
            new { per_minute = 0, per_hour = 0, per_day = 0, per_month = 0 });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
    }
}

/// <summary>
/// The load and chaos runs measure the gateway, not the machine: they run alone, after the parallel
/// part of the suite, so they do not compete with each other (or other tests) for CPU and database
/// connections.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ReliabilityLoadCollection
{
    public const string Name = "reliability load";
}
