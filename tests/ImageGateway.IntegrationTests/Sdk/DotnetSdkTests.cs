using System.ClientModel;
using ImageGateway.IntegrationTests.Support;
using OpenAI;
using OpenAI.Images;

namespace ImageGateway.IntegrationTests.Sdk;

/// <summary>The official OpenAI .NET SDK (NuGet OpenAI 2.15.0) against the gateway process.</summary>
public sealed class DotnetSdkTests(GatewayProcessFixture fixture) : IClassFixture<GatewayProcessFixture>
{
    private GatewayProcess Gateway => fixture.Gateway;

    private ImageClient Images(string key, string basePath) =>
        new("builtin-preview", new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(Gateway.BaseUrl, basePath) });

    [Fact]
    public async Task Generates_a_url_image_with_base_url_api_v1_llm()
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 100m);

        ClientResult<GeneratedImage> result = await Images(key, "/api/v1/llm").GenerateImageAsync(
            "A majestic unicorn in a magical forest",
            new ImageGenerationOptions { ResponseFormat = GeneratedImageFormat.Uri, Size = GeneratedImageSize.W1024xH1024 });

        var url = result.Value.ImageUri;
        Assert.NotNull(url);
        Assert.StartsWith(Gateway.BaseUrl + "api/v1/llm/image/files/", url.ToString());
        using var http = Gateway.Client();
        var png = await http.GetByteArrayAsync(url);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        Assert.Equal(98.8m, await Gateway.CreditsAsync(key));
    }

    [Fact]
    public async Task Generates_b64_json_with_base_url_v1()
    {
        var (_, key) = await Gateway.CreateUserAsync("free", 100m);

        ClientResult<GeneratedImage> result = await Images(key, "/v1").GenerateImageAsync(
            "a lighthouse at dusk", new ImageGenerationOptions { ResponseFormat = GeneratedImageFormat.Bytes, Size = GeneratedImageSize.W256xH256 });

        var bytes = result.Value.ImageBytes.ToArray();
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
        Assert.Null(result.Value.ImageUri);
        Assert.Equal(98.5m, await Gateway.CreditsAsync(key));
    }

    [Fact]
    public async Task Insufficient_credits_surface_a_readable_message_and_charge_nothing()
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 1m);

        var error = await Assert.ThrowsAsync<ClientResultException>(() => Images(key, "/api/v1/llm").GenerateImageAsync(
            "too expensive", new ImageGenerationOptions { ResponseFormat = GeneratedImageFormat.Uri }));

        Assert.Equal(402, error.Status);
        Assert.Contains("Insufficient credits. Balance: 1.00, Estimated cost: 1.20 credits", error.Message);
        Assert.Equal(1m, await Gateway.CreditsAsync(key));
    }

    [Fact]
    public async Task A_bad_key_is_rejected_with_401()
    {
        var error = await Assert.ThrowsAsync<ClientResultException>(() =>
            Images("uc_" + new string('x', 43), "/v1").GenerateImageAsync("hello"));

        Assert.Equal(401, error.Status);
        Assert.Contains("Invalid API key", error.Message);
    }
}
