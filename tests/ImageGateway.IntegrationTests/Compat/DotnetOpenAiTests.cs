using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text.Json;
using ImageGateway.IntegrationTests.Support;
using OpenAI;
using OpenAI.Images;

namespace ImageGateway.IntegrationTests.Compat;

/// <summary>
/// The official NuGet <c>OpenAI</c> 2.15.0 client against the gateway process, with both base URLs
/// and its default retry policy. A recording handler under the SDK's HttpClient keeps the raw wire.
/// </summary>
public sealed class DotnetOpenAiTests(CompatGateway fixture) : IClassFixture<CompatGateway>
{
    private GatewayProcess Gateway => fixture.Gateway;

    private (ImageClient Client, RecordingHandler Wire) Images(string model, string key, string basePath)
    {
        var wire = new RecordingHandler();
        var options = new OpenAIClientOptions
        {
            Endpoint = new Uri(Gateway.BaseUrl, basePath),
            Transport = new HttpClientPipelineTransport(new HttpClient(wire)),
        };
        return (new ImageClient(model, new ApiKeyCredential(key), options), wire);
    }

    [Theory]
    [InlineData("/api/v1/llm", "url")]
    [InlineData("/api/v1/llm", "b64_json")]
    [InlineData("/v1", "url")]
    [InlineData("/v1", "b64_json")]
    public async Task Builtin_preview_generates_with_either_response_format(string basePath, string format)
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 100m);
        var (images, wire) = Images("builtin-preview", key, basePath);

        ClientResult<GeneratedImage> result = await images.GenerateImageAsync("a lighthouse at dusk", new ImageGenerationOptions
        {
            ResponseFormat = format == "url" ? GeneratedImageFormat.Uri : GeneratedImageFormat.Bytes,
            Size = new GeneratedImageSize(256, 256),
        });

        var exchange = Assert.Single(wire.Exchanges);
        Assert.Equal(new Uri(Gateway.BaseUrl, basePath + "/images/generations"), exchange.Uri);
        Assert.Equal(200, exchange.Status);
        OpenAiSchema.AssertImages(exchange.ResponseBody, format, count: 1);
        using (var sent = JsonDocument.Parse(exchange.RequestBody!))
            Assert.False(sent.RootElement.TryGetProperty("n", out _), "this SDK omits n; the gateway defaults it to 1");
        if (format == "url")
        {
            Assert.NotNull(result.Value.ImageUri);
            using var http = Gateway.Client();
            var png = await http.GetByteArrayAsync(result.Value.ImageUri);
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        }
        else
        {
            Assert.Null(result.Value.ImageUri);
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, result.Value.ImageBytes.ToArray()[..4]);
        }
        Assert.Equal(98.8m, await Gateway.CreditsAsync(key));
    }

    [Theory]
    [InlineData("/api/v1/llm", "b64_json")]
    [InlineData("/v1", "url")]
    public async Task Dall_e_3_high_quality_is_sent_as_hd_and_goes_through_the_openai_upstream(string basePath, string format)
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 1000m);
        var (images, wire) = Images("dall-e-3", key, basePath);
        var prompt = $"dotnet dall-e-3 {basePath} {format}";

        ClientResult<GeneratedImage> result = await images.GenerateImageAsync(prompt, new ImageGenerationOptions
        {
            Quality = GeneratedImageQuality.High,
            Style = GeneratedImageStyle.Natural,
            Size = GeneratedImageSize.W1792xH1024,
            ResponseFormat = format == "url" ? GeneratedImageFormat.Uri : GeneratedImageFormat.Bytes,
        });

        var exchange = Assert.Single(wire.Exchanges);
        OpenAiSchema.AssertImages(exchange.ResponseBody, format, count: 1);
        using (var sent = JsonDocument.Parse(exchange.RequestBody!))
        {
            Assert.Equal("hd", sent.RootElement.GetProperty("quality").GetString());
            Assert.False(sent.RootElement.TryGetProperty("n", out _));
        }
        Assert.Null(result.Value.RevisedPrompt); // gpt-image-2 does not revise prompts
        var upstream = Assert.Single(fixture.Upstream.Calls, c => c.Body["prompt"]!.GetValue<string>() == prompt);
        // Served by gpt-image-2: hd → medium, style accepted and not forwarded (DESIGN §12.1).
        Assert.Equal(("gpt-image-2", "medium"), (upstream.Body["model"]!.GetValue<string>(), upstream.Body["quality"]!.GetValue<string>()));
        Assert.Null(upstream.Body["style"]);
        Assert.Equal("1792x1024", upstream.Body["size"]!.GetValue<string>());
        Assert.Equal(1000m - 144m, await Gateway.CreditsAsync(key)); // hd 1792x1024 = 120 × 1.2
    }

    [Theory]
    [InlineData("/api/v1/llm")]
    [InlineData("/v1")]
    public async Task Insufficient_credits_surface_type_code_and_message(string basePath)
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 10.5m);
        var (images, wire) = Images("dall-e-3", key, basePath);

        var error = await Assert.ThrowsAsync<ClientResultException>(() => images.GenerateImageAsync("too expensive"));

        Assert.Equal(402, error.Status);
        Assert.Contains("HTTP 402 (insufficient_quota: insufficient_credits)", error.Message);
        Assert.Contains("Insufficient credits. Balance: 10.50, Estimated cost: 48.00 credits", error.Message);
        OpenAiSchema.AssertError(Assert.Single(wire.Exchanges).ResponseBody, "insufficient_quota", "insufficient_credits");
        Assert.Equal(10.5m, await Gateway.CreditsAsync(key));
    }

    [Theory]
    [InlineData("/api/v1/llm")]
    [InlineData("/v1")]
    public async Task A_bad_key_is_a_401(string basePath)
    {
        var (images, wire) = Images("builtin-preview", "uc_" + new string('Q', 43), basePath);

        var error = await Assert.ThrowsAsync<ClientResultException>(() => images.GenerateImageAsync("hello"));

        Assert.Equal(401, error.Status);
        Assert.Contains("HTTP 401 (authentication_error: invalid_api_key)", error.Message);
        OpenAiSchema.AssertError(Assert.Single(wire.Exchanges).ResponseBody, "authentication_error", "invalid_api_key");
    }

    [Theory]
    [InlineData("/api/v1/llm")]
    [InlineData("/v1")]
    public async Task A_bad_parameter_is_a_400_naming_the_param(string basePath)
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 100m);
        var (images, wire) = Images("dall-e-3", key, basePath);

        var error = await Assert.ThrowsAsync<ClientResultException>(() =>
            images.GenerateImageAsync("hello", new ImageGenerationOptions { Size = GeneratedImageSize.W256xH256 }));

        Assert.Equal(400, error.Status);
        Assert.Contains("HTTP 400 (invalid_request_error: invalid_value)", error.Message);
        var exchange = Assert.Single(wire.Exchanges);
        OpenAiSchema.AssertError(exchange.ResponseBody, "invalid_request_error", "invalid_value");
        using var body = JsonDocument.Parse(exchange.ResponseBody);
        Assert.Equal("size", body.RootElement.GetProperty("error").GetProperty("param").GetString());
        Assert.Equal(100m, await Gateway.CreditsAsync(key));
    }

    /// <summary>
    /// DESIGN §1.3 mandates 503 + <c>x-should-retry: false</c> for no_provider. This SDK ignores
    /// x-should-retry and retries 503 three times (four requests in all), which is what happens.
    /// </summary>
    [Theory]
    [InlineData("/api/v1/llm")]
    [InlineData("/v1")]
    public async Task No_provider_503_is_retried_three_times_by_this_sdk(string basePath)
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 100m);
        var (images, wire) = Images("stable-diffusion-xl", key, basePath);
        var path = basePath + "/images/generations";
        var before = await fixture.FinishedPostsWhenQuietAsync(path);

        var error = await Assert.ThrowsAsync<ClientResultException>(() => images.GenerateImageAsync("hello"));

        Assert.Equal(503, error.Status);
        Assert.Contains("HTTP 503 (api_error: no_provider)", error.Message);
        Assert.Equal(4, wire.Exchanges.Count);
        Assert.All(wire.Exchanges, e =>
        {
            Assert.Equal("false", e.ResponseHeaders["x-should-retry"]);
            OpenAiSchema.AssertError(e.ResponseBody, "api_error", "no_provider");
        });
        Assert.Equal(new Dictionary<int, int> { [503] = 4 }, await fixture.PostsSinceAsync(path, before));
        Assert.Equal(100m, await Gateway.CreditsAsync(key));
    }
}
