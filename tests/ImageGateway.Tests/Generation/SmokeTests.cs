using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Generation;

public sealed class SmokeTests : IDisposable
{
    private readonly GatewayFactory _gateway = new();

    public void Dispose() => _gateway.Dispose();

    [Fact]
    public async Task Builtin_generation_charges_the_managed_price_and_serves_a_png()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);

        var response = await client.PostAsJsonAsync("/api/v1/llm/image/generations",
            new { prompt = "A majestic unicorn in a magical forest", model = "builtin-preview", size = "1024x1024", quality = "standard" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var meta = json.RootElement.GetProperty("_metadata");
        Assert.Equal(1.2m, meta.GetProperty("cost_incurred").GetDecimal());
        Assert.Equal(8.8m, meta.GetProperty("credits_remaining").GetDecimal());
        var url = new Uri(json.RootElement.GetProperty("data")[0].GetProperty("url").GetString()!);
        var image = await client.GetAsync(url.PathAndQuery);
        Assert.Equal("image/png", image.Content.Headers.ContentType!.MediaType);
        var bytes = await image.Content.ReadAsByteArrayAsync();
        Assert.Equal(0x89, bytes[0]);
        Assert.Equal((byte)'P', bytes[1]);
    }
}
