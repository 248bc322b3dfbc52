using System.Text.Json;
using System.Text.Json.Nodes;
using ImageGateway.IntegrationTests.Support;

namespace ImageGateway.IntegrationTests.Compat;

/// <summary>
/// The Vercel AI SDK's <c>generateImage</c> (<c>ai</c> 6.x with <c>@ai-sdk/openai</c> 3.x) against the
/// gateway process, on both base URLs. The SDK parses the answer strictly (no <c>data[].b64_json</c>
/// is "Invalid JSON response") and splits <c>n</c> above its table's per-call maximum for the model
/// into parallel calls; each call is billed on its own, so the balance must drop by their sum.
/// </summary>
public sealed class VercelAiSdkTests(CompatGateway fixture) : IClassFixture<CompatGateway>
{
    private const decimal StartingCredits = 1000m;

    private GatewayProcess Gateway => fixture.Gateway;

    /// <summary>
    /// What the SDK sends, observed: for gpt-image-* it leaves <c>response_format</c> out (OpenAI
    /// rejects it there) and takes up to 10 images a call; for dall-e-3 it sends
    /// <c>response_format: "b64_json"</c> and one image a call; dall-e-2, b64_json and up to 10.
    /// </summary>
    [SkippableTheory]
    [InlineData("/v1", "gpt-image-2", 1, 1, null)]
    [InlineData("/v1", "gpt-image-2", 3, 1, null)]
    [InlineData("/api/v1/llm", "gpt-image-2", 1, 1, null)]
    [InlineData("/api/v1/llm", "gpt-image-2", 3, 1, null)]
    [InlineData("/v1", "dall-e-3", 1, 1, "b64_json")]
    [InlineData("/v1", "dall-e-3", 3, 3, "b64_json")]
    [InlineData("/api/v1/llm", "dall-e-3", 1, 1, "b64_json")]
    [InlineData("/api/v1/llm", "dall-e-3", 3, 3, "b64_json")]
    // Retired models the SDK still knows: its own table, the gateway's successor.
    [InlineData("/v1", "gpt-image-1", 1, 1, null)]
    [InlineData("/v1", "dall-e-2", 2, 1, "b64_json")]
    public async Task GenerateImage_returns_n_decodable_images_and_bills_each_call(
        string basePath, string model, int n, int expectedCalls, string? expectedResponseFormat)
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", StartingCredits);
        var prompt = $"ai-sdk {model} n={n} {basePath} {Guid.NewGuid():N}";

        var outcome = await NodeAiSdk.GenerateImageAsync(new Uri(Gateway.BaseUrl, basePath), key, model, prompt, n, size: "1024x1024");

        Assert.True(outcome.GetProperty("ok").GetBoolean(), outcome.ToString());
        Assert.Empty(outcome.GetProperty("warnings").EnumerateArray());

        // :: What the SDK sent: one POST per call, n split by its per-call maximum, response_format only where it belongs.
        var exchanges = NodeAiSdk.Exchanges(outcome);
        Assert.Equal(expectedCalls, exchanges.Length);
        var sent = new List<int>();
        foreach (var exchange in exchanges)
        {
            Assert.Equal(new Uri(Gateway.BaseUrl, basePath + "/images/generations").ToString(), exchange.GetProperty("url").GetString());
            Assert.Equal("POST", exchange.GetProperty("method").GetString());
            Assert.Equal(200, exchange.GetProperty("status").GetInt32());
            var request = JsonNode.Parse(exchange.GetProperty("requestBody").GetString()!)!.AsObject();
            Assert.Equal(model, request["model"]!.GetValue<string>());
            Assert.Equal(prompt, request["prompt"]!.GetValue<string>());
            Assert.Equal("1024x1024", request["size"]!.GetValue<string>());
            Assert.Equal(expectedResponseFormat, request["response_format"]?.GetValue<string>());
            sent.Add(request["n"]!.GetValue<int>());
        }
        Assert.Equal(n, sent.Sum());
        Assert.All(sent, count => Assert.Equal(n / expectedCalls, count));

        // :: What it got: n images, each a PNG that decodes, the same bytes as the raw answers'.
        var bodies = exchanges.Select(e => JsonDocument.Parse(e.GetProperty("body").GetString()!).RootElement).ToArray();
        var images = NodeAiSdk.Images(outcome);
        Assert.True(images.Length == n, $"{images.Length} images for n={n}; the answers' _metadata: {string.Join(", ", bodies.Select(b => b.GetProperty("_metadata")))}");
        foreach (var (image, described) in images.Zip(outcome.GetProperty("images").EnumerateArray()))
        {
            Assert.Equal("image/png", described.GetProperty("mediaType").GetString());
            Assert.True(ImageBytes.IsPng(image), $"not a PNG: {ImageBytes.Hex(image)}");
            using var bitmap = ImageBytes.Decode(image);
        }
        var raw = bodies.SelectMany(b => b.GetProperty("data").EnumerateArray().Select(d => d.GetProperty("b64_json").GetString()!));
        Assert.Equal(raw.Order(StringComparer.Ordinal), images.Select(Convert.ToBase64String).Order(StringComparer.Ordinal));
        Assert.Equal(n, outcome.GetProperty("providerMetadata").GetProperty("openai").GetProperty("images").GetArrayLength());

        // :: What it cost: every call says what it charged, and the balance dropped by exactly their sum.
        var charged = 0m;
        foreach (var body in bodies)
        {
            var metadata = body.GetProperty("_metadata");
            Assert.Equal("gpt-image-2", metadata.GetProperty("upstream_model").GetString());
            var cost = metadata.GetProperty("cost_incurred").GetDecimal();
            Assert.True(cost > 0, $"a call charged {cost}");
            charged += cost;
        }
        Assert.Equal(StartingCredits - charged, await Gateway.CreditsAsync(key));

        // :: Upstream: gpt-image-2 every time (dall-e-3 is retired), and never a response_format.
        var upstream = fixture.Upstream.Calls.Where(c => c.Body["prompt"]?.GetValue<string>() == prompt).ToArray();
        Assert.Equal(expectedCalls, upstream.Length);
        Assert.All(upstream, call =>
        {
            Assert.Equal("gpt-image-2", call.Body["model"]!.GetValue<string>());
            Assert.False(call.Body.ContainsKey("response_format"), call.Body.ToJsonString());
        });
        Assert.Equal(n, upstream.Sum(c => c.Body["n"]?.GetValue<int>() ?? 1));
    }

    /// <summary>The SDK's provider options reach the upstream as OpenAI's fields, and the images are what was asked for.</summary>
    [SkippableTheory]
    [InlineData("/v1")]
    [InlineData("/api/v1/llm")]
    public async Task Provider_options_for_gpt_image_2_are_forwarded(string basePath)
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", StartingCredits);
        var prompt = $"ai-sdk options {basePath} {Guid.NewGuid():N}";

        var outcome = await NodeAiSdk.GenerateImageAsync(new Uri(Gateway.BaseUrl, basePath), key, "gpt-image-2", prompt, 2, size: "1536x1024",
            providerOptions: new { openai = new { quality = "low", background = "opaque", outputFormat = "png", moderation = "low" } });

        Assert.True(outcome.GetProperty("ok").GetBoolean(), outcome.ToString());
        var exchange = Assert.Single(NodeAiSdk.Exchanges(outcome));
        var request = JsonNode.Parse(exchange.GetProperty("requestBody").GetString()!)!.AsObject();
        Assert.Equal("low", request["quality"]!.GetValue<string>());
        Assert.Equal("opaque", request["background"]!.GetValue<string>());
        Assert.Equal("png", request["output_format"]!.GetValue<string>());
        var upstream = Assert.Single(fixture.Upstream.Calls, c => c.Body["prompt"]?.GetValue<string>() == prompt);
        Assert.Equal("low", upstream.Body["quality"]!.GetValue<string>());
        Assert.Equal("opaque", upstream.Body["background"]!.GetValue<string>());
        Assert.Equal("png", upstream.Body["output_format"]!.GetValue<string>());
        Assert.Equal("low", upstream.Body["moderation"]!.GetValue<string>());
        Assert.Equal("1536x1024", upstream.Body["size"]!.GetValue<string>());
        var images = NodeAiSdk.Images(outcome);
        using var answer = JsonDocument.Parse(exchange.GetProperty("body").GetString()!);
        Assert.True(images.Length == 2, $"{images.Length} images for n=2; the answer's _metadata: {answer.RootElement.GetProperty("_metadata")}");
        Assert.All(images, image => Assert.True(ImageBytes.IsPng(image), ImageBytes.Hex(image)));
        foreach (var item in outcome.GetProperty("providerMetadata").GetProperty("openai").GetProperty("images").EnumerateArray())
        {
            Assert.Equal("png", item.GetProperty("outputFormat").GetString());
            Assert.Equal("1536x1024", item.GetProperty("size").GetString());
            Assert.Equal("low", item.GetProperty("quality").GetString());
        }
    }

    /// <summary>A gateway refusal is an APICallError carrying the status and OpenAI's error body, and a 402 is not retried.</summary>
    [SkippableTheory]
    [InlineData("/v1")]
    [InlineData("/api/v1/llm")]
    public async Task Insufficient_credits_is_an_APICallError_and_is_not_retried(string basePath)
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 1m);

        var outcome = await NodeAiSdk.GenerateImageAsync(new Uri(Gateway.BaseUrl, basePath), key, "dall-e-3", "too expensive", 1, size: "1024x1024");

        Assert.False(outcome.GetProperty("ok").GetBoolean(), outcome.ToString());
        var error = outcome.GetProperty("error");
        Assert.Equal("AI_APICallError", error.GetProperty("name").GetString());
        Assert.Equal(402, error.GetProperty("statusCode").GetInt32());
        Assert.False(error.GetProperty("isRetryable").GetBoolean());
        var exchange = Assert.Single(NodeAiSdk.Exchanges(outcome));
        OpenAiSchema.AssertError(exchange.GetProperty("body").GetString()!, "insufficient_quota", "insufficient_credits");
        using var body = JsonDocument.Parse(exchange.GetProperty("body").GetString()!);
        Assert.Equal(body.RootElement.GetProperty("error").GetProperty("message").GetString(), error.GetProperty("message").GetString());
        Assert.Equal(1m, await Gateway.CreditsAsync(key));
    }

    [SkippableTheory]
    [InlineData("/v1")]
    [InlineData("/api/v1/llm")]
    public async Task A_prompt_with_images_posts_an_edit_and_the_edit_is_billed_with_its_image_tokens(string basePath)
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 1000m);
        var folder = Directory.CreateTempSubdirectory("igw-ai-edit").FullName;
        var image = Path.Combine(folder, "in.png");
        File.WriteAllBytes(image, ImageGateway.Tests.Generation.EditEndpointTests.Png(1024, 1024));
        var prompt = $"ai-sdk edit {basePath}";

        var outcome = await NodeAiSdk.GenerateImageAsync(new Uri(Gateway.BaseUrl, basePath), key, "gpt-image-2", prompt, 1, images: [image]);

        Assert.True(outcome.GetProperty("ok").GetBoolean(), outcome.ToString());
        var exchange = Assert.Single(NodeAiSdk.Exchanges(outcome));
        Assert.EndsWith("/images/edits", exchange.GetProperty("url").GetString());
        var body = exchange.GetProperty("body").GetString()!;
        Assert.Empty(ImageGateway.Tests.Support.OpenAiSpec.Errors(body, "ImagesResponse"));
        using var answer = JsonDocument.Parse(body);
        Assert.True(answer.RootElement.GetProperty("usage").GetProperty("input_tokens_details").GetProperty("image_tokens").GetInt64() > 0);
        var charged = answer.RootElement.GetProperty("_metadata").GetProperty("cost_incurred").GetDecimal();
        Assert.Equal(1000m - charged, await Gateway.CreditsAsync(key));
        var png = Assert.Single(NodeAiSdk.Images(outcome));
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        Directory.Delete(folder, recursive: true);
    }
}
