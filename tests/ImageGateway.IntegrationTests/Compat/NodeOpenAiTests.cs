using System.Text.Json;
using ImageGateway.IntegrationTests.Support;

namespace ImageGateway.IntegrationTests.Compat;

/// <summary>
/// The official npm <c>openai</c> 6.x client against the gateway process, with both base URLs the
/// DESIGN promises. Every raw response the client received is checked against the OpenAI schema.
/// </summary>
public sealed class NodeOpenAiTests(CompatGateway fixture) : IClassFixture<CompatGateway>
{
    private GatewayProcess Gateway => fixture.Gateway;

    private Uri Base(string path) => new(Gateway.BaseUrl, path);

    [SkippableTheory]
    [InlineData("/api/v1/llm", "url")]
    [InlineData("/api/v1/llm", "b64_json")]
    [InlineData("/v1", "url")]
    [InlineData("/v1", "b64_json")]
    public async Task Builtin_preview_generates_with_either_response_format(string basePath, string format)
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 100m);

        var outcome = await NodeOpenAi.GenerateAsync(Base(basePath), key,
            new { model = "builtin-preview", prompt = "a lighthouse at dusk", size = "256x256", n = 2, response_format = format });

        Assert.True(outcome.GetProperty("ok").GetBoolean(), outcome.ToString());
        OpenAiSchema.AssertImages(outcome.GetProperty("result"), format, count: 2);
        var exchange = Assert.Single(NodeOpenAi.Exchanges(outcome));
        Assert.Equal(new Uri(Gateway.BaseUrl, basePath.TrimEnd('/') + "/images/generations").ToString(), exchange.GetProperty("url").GetString());
        Assert.Equal("0", exchange.GetProperty("requestHeaders").GetProperty("x-stainless-retry-count").GetString());
        OpenAiSchema.AssertImages(exchange.GetProperty("body").GetString()!, format, count: 2);
        Assert.Equal(2.4m, outcome.GetProperty("result").GetProperty("_metadata").GetProperty("cost_incurred").GetDecimal());
        if (format == "url")
        {
            using var http = Gateway.Client();
            var png = await http.GetByteArrayAsync(outcome.GetProperty("result").GetProperty("data")[1].GetProperty("url").GetString());
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        }
        Assert.Equal(97.6m, await Gateway.CreditsAsync(key));
    }

    [SkippableTheory]
    [InlineData("/api/v1/llm")]
    [InlineData("/v1")]
    public async Task Models_retrieve_returns_the_model_and_a_404_for_an_unknown_one(string basePath)
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 1m);

        var found = await NodeOpenAi.RetrieveModelAsync(Base(basePath), key, "dall-e-3");
        var missing = await NodeOpenAi.RetrieveModelAsync(Base(basePath), key, "dall-e-9");

        Assert.True(found.GetProperty("ok").GetBoolean(), found.ToString());
        Assert.Equal("dall-e-3", found.GetProperty("result").GetProperty("id").GetString());
        Assert.Equal("model", found.GetProperty("result").GetProperty("object").GetString());
        Assert.Equal(new Uri(Gateway.BaseUrl, basePath + "/models/dall-e-3").ToString(), Assert.Single(NodeOpenAi.Exchanges(found)).GetProperty("url").GetString());
        Assert.False(missing.GetProperty("ok").GetBoolean());
        Assert.Equal(404, missing.GetProperty("error").GetProperty("status").GetInt32());
        Assert.Equal("model_not_found", missing.GetProperty("error").GetProperty("code").GetString());
    }

    /// <summary>dall-e-3 is retired: gpt-image-2 serves it (hd is medium, style is dropped) at dall-e-3's per-image price.</summary>
    [SkippableTheory]
    [InlineData("/api/v1/llm", "url")]
    [InlineData("/v1", "b64_json")]
    public async Task Dall_e_3_hd_is_served_by_gpt_image_2_upstream(string basePath, string format)
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 1000m);
        var prompt = $"node dall-e-3 {basePath} {format}";

        var outcome = await NodeOpenAi.GenerateAsync(Base(basePath), key,
            new { model = "dall-e-3", prompt, size = "1024x1024", quality = "hd", style = "natural", response_format = format });

        Assert.True(outcome.GetProperty("ok").GetBoolean(), outcome.ToString());
        OpenAiSchema.AssertImages(outcome.GetProperty("result"), format, count: 1);
        OpenAiSchema.AssertImages(Assert.Single(NodeOpenAi.Exchanges(outcome)).GetProperty("body").GetString()!, format, count: 1);
        Assert.False(outcome.GetProperty("result").GetProperty("data")[0].TryGetProperty("revised_prompt", out _)); // gpt-image-2 does not revise prompts
        var metadata = outcome.GetProperty("result").GetProperty("_metadata");
        Assert.Equal(96m, metadata.GetProperty("cost_incurred").GetDecimal());
        Assert.Equal("gpt-image-2", metadata.GetProperty("upstream_model").GetString());
        Assert.Equal(["style"], metadata.GetProperty("ignored").EnumerateArray().Select(i => i.GetString()));
        var upstream = Assert.Single(fixture.Upstream.Calls, c => c.Body["prompt"]!.GetValue<string>() == prompt);
        Assert.Equal("gpt-image-2", upstream.Body["model"]!.GetValue<string>());
        Assert.Equal("medium", upstream.Body["quality"]!.GetValue<string>());
        Assert.False(upstream.Body.ContainsKey("style"), upstream.Body.ToJsonString());
        Assert.False(upstream.Body.ContainsKey("response_format"), upstream.Body.ToJsonString());
        Assert.Equal(904m, await Gateway.CreditsAsync(key));
    }

    [SkippableTheory]
    [InlineData("/api/v1/llm")]
    [InlineData("/v1")]
    public async Task Insufficient_credits_surface_in_message_and_code_and_are_not_retried(string basePath)
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 10.5m);

        var outcome = await NodeOpenAi.GenerateAsync(Base(basePath), key, new { model = "dall-e-3", prompt = "too expensive" });

        var error = AssertFailed(outcome, 402, "insufficient_quota", "insufficient_credits");
        Assert.Contains("Insufficient credits. Balance: 10.50, Estimated cost: 48.00 credits", error.GetProperty("message").GetString());
        Assert.Equal(10.5m, await Gateway.CreditsAsync(key));
    }

    [SkippableTheory]
    [InlineData("/api/v1/llm")]
    [InlineData("/v1")]
    public async Task A_bad_key_is_an_AuthenticationError(string basePath)
    {
        var outcome = await NodeOpenAi.GenerateAsync(Base(basePath), "uc_" + new string('Q', 43), new { model = "builtin-preview", prompt = "hello" });

        var error = AssertFailed(outcome, 401, "authentication_error", "invalid_api_key");
        Assert.True(error.GetProperty("isAuthenticationError").GetBoolean());
        Assert.Equal("AuthenticationError", error.GetProperty("class").GetString());
    }

    [SkippableTheory]
    [InlineData("/api/v1/llm")]
    [InlineData("/v1")]
    public async Task A_bad_parameter_is_a_BadRequestError_naming_the_param(string basePath)
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 100m);

        var outcome = await NodeOpenAi.GenerateAsync(Base(basePath), key,
            new { model = "dall-e-2", prompt = "hello", size = "1024x1024", style = "vivid" });

        var error = AssertFailed(outcome, 400, "invalid_request_error", null);
        Assert.True(error.GetProperty("isBadRequestError").GetBoolean());
        Assert.Equal("style", error.GetProperty("param").GetString());
        Assert.Equal(100m, await Gateway.CreditsAsync(key));
    }

    [SkippableTheory]
    [InlineData("/api/v1/llm")]
    [InlineData("/v1")]
    public async Task No_provider_503_is_not_retried(string basePath)
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 100m);
        var path = basePath + "/images/generations";
        var before = await fixture.FinishedPostsWhenQuietAsync(path);

        var outcome = await NodeOpenAi.GenerateAsync(Base(basePath), key, new { model = "stable-diffusion-xl", prompt = "hello" });

        var error = AssertFailed(outcome, 503, "api_error", "no_provider");
        Assert.True(error.GetProperty("isInternalServerError").GetBoolean());
        Assert.Equal("false", NodeOpenAi.Exchanges(outcome)[0].GetProperty("headers").GetProperty("x-should-retry").GetString());
        Assert.Equal(new Dictionary<int, int> { [503] = 1 }, await fixture.PostsSinceAsync(path, before));
    }

    /// <summary>The SDK raised an APIError with this status after exactly one request, and the raw body fits the schema.</summary>
    private static JsonElement AssertFailed(JsonElement outcome, int status, string type, string? code)
    {
        Assert.False(outcome.GetProperty("ok").GetBoolean(), outcome.ToString());
        var error = outcome.GetProperty("error");
        Assert.True(error.GetProperty("isApiError").GetBoolean());
        Assert.Equal(status, error.GetProperty("status").GetInt32());
        Assert.Equal(type, error.GetProperty("type").GetString());
        if (code is not null) Assert.Equal(code, error.GetProperty("code").GetString());
        var exchange = Assert.Single(NodeOpenAi.Exchanges(outcome));
        Assert.Equal(status, exchange.GetProperty("status").GetInt32());
        OpenAiSchema.AssertError(exchange.GetProperty("body").GetString()!, type, code);
        Assert.StartsWith("req_", error.GetProperty("requestID").GetString());
        Assert.Equal(exchange.GetProperty("headers").GetProperty("x-request-id").GetString(), error.GetProperty("requestID").GetString());
        // The SDK's message is the body's error.message, prefixed with the status.
        using var body = JsonDocument.Parse(exchange.GetProperty("body").GetString()!);
        Assert.Equal($"{status} {body.RootElement.GetProperty("error").GetProperty("message").GetString()}", error.GetProperty("message").GetString());
        return error;
    }
}
