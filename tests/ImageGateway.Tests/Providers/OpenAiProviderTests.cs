using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using ImageGateway.Billing;
using ImageGateway.Tests.Support;
using Microsoft.AspNetCore.Http;

namespace ImageGateway.Tests.Providers;

/// <summary>
/// Shared pieces for the OpenAI adapter and routing tests: the OpenAI wire format as the fake upstream
/// speaks it (success and every documented error body), provider settings, and the "nothing was
/// charged" ledger check (balance unchanged, a reserve followed by its release, no settle).
/// </summary>
internal static class OpenAiKit
{
    public const string PlatformKey = "sk-platform-test-key-123456";
    public const string SecondKey = "sk-second-provider-key-654321";
    public const string GeneratePath = "/api/v1/llm/images/generations";
    public const string UpstreamPath = "/v1/images/generations";

    // Exact OpenAI error bodies (PROVIDERS.md, OpenAI section).
    public const string ContentPolicyBody =
        """{"error":{"code":"content_policy_violation","message":"Your request was rejected as a result of our safety system. Your prompt may contain text that is not allowed by our safety system.","param":null,"type":"invalid_request_error"}}""";
    public const string BadRequestBody =
        """{"error":{"code":"invalid_value","message":"Invalid value: 'xl'. Supported values are: '1024x1024', '1024x1792', and '1792x1024'.","param":"size","type":"invalid_request_error"}}""";
    public const string InvalidKeyBody =
        """{"error":{"message":"Incorrect API key provided: sk-platform-test-key-123456. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}""";
    public const string RateLimitBody =
        """{"error":{"message":"Rate limit reached for dall-e-3 in organization org-abc123 on images per minute (IPM): Limit 5, Used 5, Requested 1. Please try again in 1s.","type":"requests","param":null,"code":"rate_limit_exceeded"}}""";
    public const string InsufficientQuotaBody =
        """{"error":{"message":"You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}""";
    public const string ServerErrorBody =
        """{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}""";
    public const string OverloadedBody =
        """{"error":{"message":"The engine is currently overloaded, please try again later.","type":"server_error","param":null,"code":null}}""";

    /// <summary>Points a provider of kind <c>openai</c> at the fake, with fast retries and the circuit out of the way unless asked.</summary>
    public static GatewayFactory UseOpenAi(this GatewayFactory gateway, string name, FakeUpstream fake, string? apiKey = PlatformKey,
        int maxRetries = 2, double timeoutSeconds = 5, int circuitMinimumThroughput = 1000, double circuitSamplingSeconds = 30,
        double circuitBreakSeconds = 30, int? maxParallelCalls = null)
    {
        var p = $"Gateway:Providers:{name}:";
        if (!name.Equals("openai", StringComparison.OrdinalIgnoreCase)) gateway.Settings[p + "Kind"] = "openai";
        gateway.Settings[p + "BaseUrl"] = fake.BaseUrl + "/v1";
        gateway.Settings[p + "ApiKey"] = apiKey ?? "";
        gateway.Settings[p + "MaxRetries"] = maxRetries.ToString(System.Globalization.CultureInfo.InvariantCulture);
        gateway.Settings[p + "RetryBaseDelayMs"] = "1";
        gateway.Settings[p + "TimeoutSeconds"] = timeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        gateway.Settings[p + "CircuitMinimumThroughput"] = circuitMinimumThroughput.ToString(System.Globalization.CultureInfo.InvariantCulture);
        gateway.Settings[p + "CircuitSamplingSeconds"] = circuitSamplingSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        gateway.Settings[p + "CircuitBreakSeconds"] = circuitBreakSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (maxParallelCalls is { } parallel)
            gateway.Settings[p + "MaxParallelCalls"] = parallel.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return gateway;
    }

    /// <summary>
    /// Un-retires a DALL·E model and routes it to the <c>openai</c> provider as itself, as an operator
    /// would for an upstream that still serves it: the tests of dall-e wire rules (one image per
    /// dall-e-3 call, style, response_format) and of fan-out run on it.
    /// </summary>
    public static GatewayFactory ServeAsItself(this GatewayFactory gateway, string model = "dall-e-3", string provider = "openai",
        string? upstreamModel = null)
    {
        gateway.Settings[$"Gateway:Models:{model}:Successor:Model"] = "";
        gateway.Settings[$"Gateway:Routes:{model}:0:Provider"] = provider;
        gateway.Settings[$"Gateway:Routes:{model}:0:UpstreamModel"] = upstreamModel ?? model;
        return gateway;
    }

    /// <summary>Makes one provider the whole route of a model.</summary>
    public static GatewayFactory OnlyStep(this GatewayFactory gateway, string model, string provider, string upstreamModel)
    {
        gateway.Settings[$"Gateway:Routes:{model}:0:Provider"] = provider;
        gateway.Settings[$"Gateway:Routes:{model}:0:UpstreamModel"] = upstreamModel;
        return gateway;
    }

    /// <summary>Adds a second step to a model's route.</summary>
    public static GatewayFactory SecondStep(this GatewayFactory gateway, string model, string provider, string upstreamModel)
    {
        gateway.Settings[$"Gateway:Routes:{model}:1:Provider"] = provider;
        gateway.Settings[$"Gateway:Routes:{model}:1:UpstreamModel"] = upstreamModel;
        return gateway;
    }

    /// <summary>Requests that reached the Images API path (not image downloads).</summary>
    public static RecordedRequest[] Generations(this FakeUpstream fake) =>
        fake.Requests.Where(r => r.Method == "POST" && r.Path == UpstreamPath).ToArray();

    public static int GenerationCount(this FakeUpstream fake) => fake.Generations().Length;

    public static JsonElement BodyJson(this RecordedRequest request)
    {
        using var doc = JsonDocument.Parse(request.Body);
        return doc.RootElement.Clone();
    }

    public static byte[] ImageBytes(int index) => FakeUpstream.Png(32, 100 + index);

    /// <summary>The OpenAI success body: <c>n</c> (from the request) images as b64_json, with a revised_prompt when given.</summary>
    public static Task B64Images(HttpContext context, RecordedRequest request, string? revisedPrompt = "A revised, more detailed prompt.")
    {
        var n = request.BodyJson().TryGetProperty("n", out var nn) ? nn.GetInt32() : 1;
        var data = Enumerable.Range(0, n).Select(i => revisedPrompt is null
            ? (object)new { b64_json = Convert.ToBase64String(ImageBytes(i)) }
            : new { b64_json = Convert.ToBase64String(ImageBytes(i)), revised_prompt = revisedPrompt }).ToArray();
        return FakeUpstream.Json(context, 200, JsonSerializer.Serialize(new { created = 1713833628, data }));
    }

    public static Task Success(HttpContext context, RecordedRequest request) => B64Images(context, request);

    public static Task Error(HttpContext context, int status, string body, string? retryAfter = null)
    {
        if (retryAfter is not null) context.Response.Headers["Retry-After"] = retryAfter;
        return FakeUpstream.Json(context, status, body);
    }

    public static object DallE3(string prompt = "a lighthouse at dawn", int? n = null, string format = "b64_json") =>
        n is null ? new { model = "dall-e-3", prompt, size = "1024x1024", response_format = format }
                  : new { model = "dall-e-3", prompt, size = "1024x1024", response_format = format, n };

    public static async Task<(HttpResponseMessage Response, string Text)> GenerateAsync(this HttpClient client, object body)
    {
        var response = await client.PostJsonAsync(GeneratePath, body);
        return (response, await response.Content.ReadAsStringAsync());
    }

    public static JsonElement[] Transactions(this JsonElement history) => history.GetProperty("transactions").EnumerateArray().ToArray();

    /// <summary>
    /// Nothing was charged: the balance is what it was, nothing stays reserved, and the newest two
    /// ledger entries are a reserve of <paramref name="held"/> and its release, with no settle anywhere.
    /// </summary>
    public static async Task AssertNothingChargedAsync(this GatewayFactory gateway, HttpClient client, string userId,
        decimal balanceBefore, decimal held)
    {
        var credits = await client.CreditsAsync();
        Assert.Equal(balanceBefore, credits.Dec("credits_remaining"));
        Assert.Equal(0m, credits.Dec("reserved"));

        var tx = (await client.HistoryAsync()).Transactions();
        Assert.True(tx.Length >= 2, $"expected a reserve and a release, got {tx.Length} entries");
        Assert.Equal("release", tx[0].Str("type"));
        Assert.Equal("reserve", tx[1].Str("type"));
        Assert.Equal(tx[1].Str("reservation_id"), tx[0].Str("reservation_id"));
        Assert.Equal(held, tx[1].Dec("hold"));
        Assert.Equal(0m, tx[1].Dec("amount"));
        Assert.Equal(-held, tx[0].Dec("hold"));
        Assert.Equal(0m, tx[0].Dec("amount"));
        Assert.Equal(balanceBefore, tx[0].Dec("balance_after"));
        Assert.DoesNotContain(tx, t => t.Str("type") == "settle");
        Assert.Empty(await gateway.Service<CreditLedger>().VerifyAsync(userId));
    }

    /// <summary>The response never carries the platform key or the upstream's raw 401 message.</summary>
    public static void AssertNoSecrets(string text)
    {
        Assert.DoesNotContain(PlatformKey, text);
        Assert.DoesNotContain(SecondKey, text);
        Assert.DoesNotContain("sk-platform", text);
        Assert.DoesNotContain("Incorrect API key provided", text);
    }
}

/// <summary>
/// The <c>openai</c> adapter through the whole gateway, against a loopback server speaking the
/// OpenAI Images API: the exact request per model, success bodies (b64_json and url), every
/// documented error body, and broken answers. Every failure must leave the balance untouched.
/// </summary>
public sealed class OpenAiProviderTests : IAsyncLifetime
{
    // The DALL·E wire rules are tested on dall-e-3 and dall-e-2 served as themselves (an upstream that still has them).
    private readonly GatewayFactory _gateway = new GatewayFactory().WithoutUpstreamKeys().ServeAsItself("dall-e-3").ServeAsItself("dall-e-2");
    private FakeUpstream _openai = null!;

    public async Task InitializeAsync() => _openai = await FakeUpstream.StartAsync();

    public async Task DisposeAsync()
    {
        _gateway.Dispose();
        await _openai.DisposeAsync();
    }

    private async Task<(HttpClient Client, string UserId)> UserAsync(decimal credits = 1000m)
    {
        var (userId, key) = await _gateway.CreateUserAsync("managed", credits);
        return (_gateway.ClientWithKey(key), userId);
    }

    // ---------------------------------------------------------------- wire format per model

    [Fact]
    public async Task Dall_e_3_sends_n_1_per_call_with_quality_style_and_b64_json_and_the_platform_key()
    {
        _gateway.UseOpenAi("openai", _openai);
        _openai.Handler = OpenAiKit.Success;
        var (client, _) = await UserAsync();

        var (response, text) = await client.GenerateAsync(new
        {
            model = "dall-e-3", prompt = "a lighthouse at dawn", n = 2, size = "1792x1024", quality = "hd", style = "natural",
            response_format = "b64_json", user = "end-user-42",
        });

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var calls = _openai.Generations();
        Assert.Equal(2, calls.Length);
        foreach (var call in calls)
        {
            Assert.Equal("Bearer " + OpenAiKit.PlatformKey, call.Authorization);
            Assert.StartsWith("application/json", call.ContentType);
            call.AssertSentWithLength();
            Assert.Contains("application/json", call.Accept);
            var body = call.BodyJson();
            Assert.Equal(["model", "n", "prompt", "quality", "response_format", "size", "style", "user"], body.Names());
            Assert.Equal("dall-e-3", body.Str("model"));
            Assert.Equal("a lighthouse at dawn", body.Str("prompt"));
            Assert.Equal(1, body.GetProperty("n").GetInt32());
            Assert.Equal("1792x1024", body.Str("size"));
            Assert.Equal("hd", body.Str("quality"));
            Assert.Equal("natural", body.Str("style"));
            Assert.Equal("b64_json", body.Str("response_format"));
            Assert.Equal("end-user-42", body.Str("user"));
        }
        var json = JsonDocument.Parse(text).RootElement;
        Assert.Equal(2, json.GetProperty("data").GetArrayLength());
        Assert.Equal(288m, json.GetProperty("_metadata").Dec("cost_incurred")); // hd 1792x1024 = 120 × 1.2 × 2
    }

    [Theory]
    [InlineData(null, false)]            // the shipped default: Microsoft.AspNetCore.Hosting.Diagnostics = None
    [InlineData("Information", true)]
    public async Task No_per_request_activity_and_no_traceparent_upstream_unless_request_logging_or_tracing_asks(string? hostingLogLevel, bool expected)
    {
        // With the hosting category off and no tracing, ASP.NET Core starts no Activity for the
        // request, so HttpClient has none to continue and sends no traceparent to the upstream.
        if (hostingLogLevel is not null) _gateway.Settings["Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics"] = hostingLogLevel;
        _gateway.UseOpenAi("openai", _openai);
        _openai.Handler = OpenAiKit.Success;
        var (client, _) = await UserAsync();

        var (response, text) = await client.GenerateAsync(new { model = "dall-e-3", prompt = "a lighthouse", response_format = "b64_json" });

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var call = Assert.Single(_openai.Generations());
        Assert.Equal(expected, call.Headers.ContainsKey("traceparent"));
    }

    [Fact]
    public async Task Dall_e_3_without_style_sends_no_style_and_the_default_quality()
    {
        _gateway.UseOpenAi("openai", _openai);
        _openai.Handler = OpenAiKit.Success;
        var (client, _) = await UserAsync();

        var (response, text) = await client.GenerateAsync(OpenAiKit.DallE3());

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var body = Assert.Single(_openai.Generations()).BodyJson();
        Assert.Equal(["model", "n", "prompt", "quality", "response_format", "size"], body.Names());
        Assert.Equal("standard", body.Str("quality"));
    }

    [Fact]
    public async Task Dall_e_2_sends_n_in_one_call_without_quality_or_style()
    {
        _gateway.UseOpenAi("openai", _openai);
        _openai.Handler = OpenAiKit.Success;
        var (client, _) = await UserAsync();

        var (response, text) = await client.GenerateAsync(new
        {
            model = "dall-e-2", prompt = "a watercolour fox", n = 3, size = "512x512", response_format = "b64_json",
        });

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var call = Assert.Single(_openai.Generations());
        Assert.Equal("Bearer " + OpenAiKit.PlatformKey, call.Authorization);
        var body = call.BodyJson();
        Assert.Equal(["model", "n", "prompt", "response_format", "size"], body.Names());
        Assert.Equal("dall-e-2", body.Str("model"));
        Assert.Equal(3, body.GetProperty("n").GetInt32());
        Assert.Equal("512x512", body.Str("size"));
        Assert.Equal("b64_json", body.Str("response_format"));
        var json = JsonDocument.Parse(text).RootElement;
        Assert.Equal(3, json.GetProperty("data").GetArrayLength());
        Assert.Equal(57.6m, json.GetProperty("_metadata").Dec("cost_incurred")); // 16 × 1.2 × 3
    }

    [Fact]
    public async Task Gpt_image_2_forwards_every_field_it_takes_never_response_format_and_charges_the_reported_usage()
    {
        _gateway.UseOpenAi("openai", _openai);
        // gpt-image answers b64_json always, with what it produced, a usage block and no revised_prompt.
        _openai.Handler = (ctx, req) =>
        {
            var n = req.BodyJson().GetProperty("n").GetInt32();
            var data = Enumerable.Range(0, n).Select(i => new { b64_json = Convert.ToBase64String(OpenAiKit.ImageBytes(i)) }).ToArray();
            return FakeUpstream.Json(ctx, 200, JsonSerializer.Serialize(new
            {
                created = 1713833628, data, background = "opaque", output_format = "png", size = "1024x1536", quality = "high",
                usage = new { input_tokens = 50, output_tokens = 4160, total_tokens = 4210, input_tokens_details = new { image_tokens = 0, text_tokens = 50 } },
            }));
        };
        var (client, userId) = await UserAsync();

        var (response, text) = await client.GenerateAsync(new
        {
            model = "gpt-image-2", prompt = "an isometric city", n = 2, size = "1024x1536", quality = "high", response_format = "url",
            output_format = "png", background = "opaque", moderation = "low", user = "end-user-7",
        });

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var body = Assert.Single(_openai.Generations()).BodyJson();
        Assert.Equal(["background", "model", "moderation", "n", "output_format", "prompt", "quality", "size", "user"], body.Names());
        Assert.Equal("gpt-image-2", body.Str("model"));
        Assert.Equal("high", body.Str("quality"));
        Assert.Equal("opaque", body.Str("background"));
        Assert.Equal("low", body.Str("moderation"));
        Assert.Equal(2, body.GetProperty("n").GetInt32());
        Assert.Equal("1024x1536", body.Str("size"));

        // The caller asked for url (the gateway's extension): it stored the base64 bytes and serves them itself.
        var json = JsonDocument.Parse(text).RootElement;
        var data = json.GetProperty("data").EnumerateArray().ToArray();
        Assert.Equal(2, data.Length);
        for (var i = 0; i < 2; i++)
        {
            Assert.False(data[i].TryGetProperty("revised_prompt", out _));
            var url = new Uri(data[i].Str("url")!);
            Assert.Equal(OpenAiKit.ImageBytes(i), await client.GetByteArrayAsync(url.PathAndQuery));
        }
        Assert.Equal(("opaque", "png", "1024x1536", "high"), (json.Str("background"), json.Str("output_format"), json.Str("size"), json.Str("quality")));
        var usage = json.GetProperty("usage");
        Assert.Equal((50, 4160, 4210), (usage.GetProperty("input_tokens").GetInt32(), usage.GetProperty("output_tokens").GetInt32(), usage.GetProperty("total_tokens").GetInt32()));
        var meta = json.GetProperty("_metadata");
        Assert.Equal("gpt-image-2", meta.Str("upstream_model"));
        Assert.Equal("per_token", meta.Str("pricing"));
        Assert.Equal(150.06m, meta.Dec("cost_incurred")); // (50 × 5 + 4,160 × 30) millicredits × 1.2
        Assert.Equal(1000m - 150.06m, (await client.CreditsAsync()).Dec("credits_remaining"));
        Assert.Empty(await _gateway.Service<CreditLedger>().VerifyAsync(userId));
    }

    // ---------------------------------------------------------------- success bodies

    [Fact]
    public async Task B64_json_success_returns_the_upstream_bytes_and_revised_prompt_and_settles_48()
    {
        _gateway.UseOpenAi("openai", _openai);
        _openai.Handler = (ctx, req) => OpenAiKit.B64Images(ctx, req, "A lighthouse on a rocky coast at dawn, soft pink light.");
        var (client, userId) = await UserAsync();

        var (response, text) = await client.GenerateAsync(OpenAiKit.DallE3());

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var json = JsonDocument.Parse(text).RootElement;
        var datum = json.GetProperty("data")[0];
        Assert.Equal(Convert.ToBase64String(OpenAiKit.ImageBytes(0)), datum.Str("b64_json"));
        Assert.Equal("A lighthouse on a rocky coast at dawn, soft pink light.", datum.Str("revised_prompt"));
        var meta = json.GetProperty("_metadata");
        Assert.Equal("openai", meta.Str("provider_used"));
        Assert.Equal("dall-e-3", meta.Str("model_used"));
        Assert.Equal(1, meta.GetProperty("images_generated").GetInt32());
        Assert.Equal(48m, meta.Dec("cost_incurred"));
        Assert.Equal(952m, meta.Dec("credits_remaining"));

        var tx = (await client.HistoryAsync()).Transactions();
        Assert.Equal(["settle", "reserve", "grant"], tx.Select(t => t.Str("type")!).ToArray());
        Assert.Equal(meta.Str("transaction_id"), tx[0].Str("id"));
        Assert.Equal(-48m, tx[0].Dec("amount"));
        Assert.Empty(await _gateway.Service<CreditLedger>().VerifyAsync(userId));
    }

    [Fact]
    public async Task Url_only_answer_is_downloaded_without_the_key_and_served_from_the_gateway()
    {
        _gateway.UseOpenAi("openai", _openai);
        var image = OpenAiKit.ImageBytes(7);
        _openai.Handler = async (ctx, req) =>
        {
            if (req.Method == "GET" && req.Path.StartsWith("/blob/img-1.png", StringComparison.Ordinal))
            {
                ctx.Response.ContentType = "image/png";
                await ctx.Response.Body.WriteAsync(image);
                return;
            }
            // An OpenAI-compatible server that ignores response_format and answers a URL.
            await FakeUpstream.Json(ctx, 200, JsonSerializer.Serialize(new
            {
                created = 1713833628,
                data = new[] { new { url = _openai.BaseUrl + "/blob/img-1.png?se=2026-11-23T13%3A00Z&sig=abc", revised_prompt = "revised by upstream" } },
            }));
        };
        var (client, _) = await UserAsync();

        var (response, text) = await client.GenerateAsync(OpenAiKit.DallE3(format: "url"));

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var download = Assert.Single(_openai.Requests, r => r.Method == "GET");
        Assert.Null(download.Authorization); // the platform key never goes to an image host
        var json = JsonDocument.Parse(text).RootElement;
        var datum = json.GetProperty("data")[0];
        Assert.Equal("revised by upstream", datum.Str("revised_prompt"));
        var url = new Uri(datum.Str("url")!);
        Assert.StartsWith("/api/v1/llm/image/files/", url.AbsolutePath);
        Assert.DoesNotContain(_openai.BaseUrl, datum.Str("url"));
        Assert.Equal(image, await client.GetByteArrayAsync(url.PathAndQuery));
        Assert.Equal(48m, json.GetProperty("_metadata").Dec("cost_incurred"));
    }

    [Fact]
    public async Task Url_only_answer_with_b64_json_requested_returns_the_downloaded_bytes()
    {
        _gateway.UseOpenAi("openai", _openai);
        var image = OpenAiKit.ImageBytes(3);
        _openai.Handler = async (ctx, req) =>
        {
            if (req.Method == "GET") { ctx.Response.ContentType = "image/png"; await ctx.Response.Body.WriteAsync(image); return; }
            await FakeUpstream.Json(ctx, 200, $$"""{"created":1713833628,"data":[{"url":"{{_openai.BaseUrl}}/blob/x.png"}]}""");
        };
        var (client, _) = await UserAsync();

        var (response, text) = await client.GenerateAsync(OpenAiKit.DallE3());

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var datum = JsonDocument.Parse(text).RootElement.GetProperty("data")[0];
        Assert.Equal(Convert.ToBase64String(image), datum.Str("b64_json"));
        Assert.False(datum.TryGetProperty("revised_prompt", out _));
    }

    // ---------------------------------------------------------------- documented error bodies

    [Fact]
    public async Task Content_policy_refusal_is_400_content_policy_violation_not_retried_and_not_charged()
    {
        _gateway.UseOpenAi("openai", _openai, maxRetries: 3);
        _openai.Handler = (ctx, _) => OpenAiKit.Error(ctx, 400, OpenAiKit.ContentPolicyBody);
        var (client, userId) = await UserAsync();

        var response = await client.PostJsonAsync(OpenAiKit.GeneratePath, OpenAiKit.DallE3());

        var error = await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "content_policy_violation");
        Assert.Contains("safety", error.Str("message"), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(1, _openai.GenerationCount());
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, 48m);
    }

    [Fact]
    public async Task Other_400_is_a_400_for_the_caller_not_retried_and_not_charged()
    {
        _gateway.UseOpenAi("openai", _openai, maxRetries: 3);
        _openai.Handler = (ctx, _) => OpenAiKit.Error(ctx, 400, OpenAiKit.BadRequestBody);
        var (client, userId) = await UserAsync();

        var response = await client.PostJsonAsync(OpenAiKit.GeneratePath, OpenAiKit.DallE3());

        await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "upstream_rejected");
        Assert.Equal(1, _openai.GenerationCount());
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, 48m);
    }

    [Fact]
    public async Task Invalid_api_key_is_502_and_never_shows_the_key_or_upstream_message()
    {
        _gateway.UseOpenAi("openai", _openai, maxRetries: 3);
        _openai.Handler = (ctx, _) => OpenAiKit.Error(ctx, 401, OpenAiKit.InvalidKeyBody);
        var (client, userId) = await UserAsync();

        var response = await client.PostJsonAsync(OpenAiKit.GeneratePath, OpenAiKit.DallE3());
        var text = await response.Content.ReadAsStringAsync();

        await Api.AssertErrorAsync(response, HttpStatusCode.BadGateway, "api_error", "upstream_error");
        OpenAiKit.AssertNoSecrets(text);
        Assert.Equal(1, _openai.GenerationCount()); // a bad key is not retried
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, 48m);

        using var admin = _gateway.AdminClient();
        OpenAiKit.AssertNoSecrets(await admin.GetStringAsync("/api/v1/admin/providers"));
    }

    [Fact]
    public async Task Rate_limit_429_is_retried_after_the_Retry_After_delay_then_502_when_it_persists()
    {
        _gateway.UseOpenAi("openai", _openai, maxRetries: 2);
        _openai.Handler = (ctx, _) => OpenAiKit.Error(ctx, 429, OpenAiKit.RateLimitBody, retryAfter: "1");
        var (client, userId) = await UserAsync();

        var clock = Stopwatch.StartNew();
        var response = await client.PostJsonAsync(OpenAiKit.GeneratePath, OpenAiKit.DallE3());
        clock.Stop();

        await Api.AssertErrorAsync(response, HttpStatusCode.BadGateway, "api_error", "upstream_error");
        Assert.Equal(3, _openai.GenerationCount()); // 1 + MaxRetries
        // Two waits of Retry-After: 1 s each (the configured backoff alone would be a few ms).
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.8), $"retries did not wait for Retry-After: {clock.Elapsed}");
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, 48m);
    }

    [Fact]
    public async Task Rate_limit_429_then_success_serves_and_charges_once()
    {
        _gateway.UseOpenAi("openai", _openai, maxRetries: 2);
        var calls = 0;
        _openai.Handler = (ctx, req) => Interlocked.Increment(ref calls) == 1
            ? OpenAiKit.Error(ctx, 429, OpenAiKit.RateLimitBody, retryAfter: "1")
            : OpenAiKit.Success(ctx, req);
        var (client, _) = await UserAsync();

        var clock = Stopwatch.StartNew();
        var (response, text) = await client.GenerateAsync(OpenAiKit.DallE3());

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.9), $"the retry did not wait for Retry-After: {clock.Elapsed}");
        Assert.Equal(2, _openai.GenerationCount());
        Assert.Equal(952m, (await client.CreditsAsync()).Dec("credits_remaining"));
        Assert.Equal(["settle", "reserve", "grant"], (await client.HistoryAsync()).Transactions().Select(t => t.Str("type")!).ToArray());
    }

    [Fact]
    public async Task Insufficient_quota_429_is_502_not_retried_and_not_charged()
    {
        _gateway.UseOpenAi("openai", _openai, maxRetries: 2);
        _openai.Handler = (ctx, _) => OpenAiKit.Error(ctx, 429, OpenAiKit.InsufficientQuotaBody);
        var (client, userId) = await UserAsync();

        var response = await client.PostJsonAsync(OpenAiKit.GeneratePath, OpenAiKit.DallE3());

        var error = await Api.AssertErrorAsync(response, HttpStatusCode.BadGateway, "api_error", "upstream_error");
        Assert.Contains("could not make the images right now", error.Str("message")); // the platform key's quota is the operator's to fix
        // An empty account stays empty: retrying it only delays the answer (and the next provider).
        Assert.Equal(1, _openai.GenerationCount());
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, 48m);
    }

    [Theory]
    [InlineData(500, OpenAiKit.ServerErrorBody, 0)]
    [InlineData(500, OpenAiKit.ServerErrorBody, 2)]
    [InlineData(503, OpenAiKit.OverloadedBody, 1)]
    [InlineData(503, OpenAiKit.OverloadedBody, 3)]
    public async Task Server_errors_are_retried_MaxRetries_times_then_502(int status, string body, int maxRetries)
    {
        _gateway.UseOpenAi("openai", _openai, maxRetries: maxRetries);
        _openai.Handler = (ctx, _) => OpenAiKit.Error(ctx, status, body);
        var (client, userId) = await UserAsync();

        var response = await client.PostJsonAsync(OpenAiKit.GeneratePath, OpenAiKit.DallE3());
        var text = await response.Content.ReadAsStringAsync();

        await Api.AssertErrorAsync(response, HttpStatusCode.BadGateway, "api_error", "upstream_error");
        Assert.DoesNotContain("Sorry about that", text); // mapped, not the raw upstream body
        Assert.Equal(1 + maxRetries, _openai.GenerationCount());
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, 48m);
    }

    [Fact]
    public async Task A_5xx_with_an_html_body_is_still_a_502()
    {
        _gateway.UseOpenAi("openai", _openai, maxRetries: 0);
        _openai.Handler = (ctx, _) =>
        {
            ctx.Response.StatusCode = 502;
            ctx.Response.ContentType = "text/html";
            return ctx.Response.WriteAsync("<html><body><h1>502 Bad Gateway</h1>cloudflare</body></html>");
        };
        var (client, userId) = await UserAsync();

        var response = await client.PostJsonAsync(OpenAiKit.GeneratePath, OpenAiKit.DallE3());

        await Api.AssertErrorAsync(response, HttpStatusCode.BadGateway, "api_error", "upstream_error");
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, 48m);
    }

    // ---------------------------------------------------------------- broken answers

    [Fact]
    public async Task Slow_answer_past_the_timeout_is_504_upstream_timeout_and_not_retried()
    {
        _gateway.UseOpenAi("openai", _openai, maxRetries: 2, timeoutSeconds: 1);
        _openai.Handler = async (ctx, req) =>
        {
            try { await Task.Delay(TimeSpan.FromSeconds(15), ctx.RequestAborted); } catch (OperationCanceledException) { return; }
            await OpenAiKit.Success(ctx, req);
        };
        var (client, userId) = await UserAsync();

        var clock = Stopwatch.StartNew();
        var response = await client.PostJsonAsync(OpenAiKit.GeneratePath, OpenAiKit.DallE3());
        clock.Stop();

        await Api.AssertErrorAsync(response, HttpStatusCode.GatewayTimeout, "api_error", "upstream_timeout");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(8), $"the timeout took {clock.Elapsed}");
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.9), $"gave up before the timeout: {clock.Elapsed}");
        Assert.Equal(1, _openai.GenerationCount());
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, 48m);
    }

    [Fact]
    public async Task Body_that_stalls_after_the_headers_is_504_upstream_timeout()
    {
        _gateway.UseOpenAi("openai", _openai, maxRetries: 2, timeoutSeconds: 1);
        _openai.Handler = async (ctx, _) =>
        {
            ctx.Response.StatusCode = 200;
            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync("""{"created":1713833628,"data":[{"b64_json":"iVBORw0KGgo""");
            await ctx.Response.Body.FlushAsync();
            try { await Task.Delay(TimeSpan.FromSeconds(15), ctx.RequestAborted); } catch (OperationCanceledException) { }
        };
        var (client, userId) = await UserAsync();

        var response = await client.PostJsonAsync(OpenAiKit.GeneratePath, OpenAiKit.DallE3());

        await Api.AssertErrorAsync(response, HttpStatusCode.GatewayTimeout, "api_error", "upstream_timeout");
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, 48m);
    }

    [Fact]
    public async Task Dropped_connection_is_retried_then_502()
    {
        _gateway.UseOpenAi("openai", _openai, maxRetries: 2);
        _openai.Handler = (ctx, _) => { ctx.Abort(); return Task.CompletedTask; };
        var (client, userId) = await UserAsync();

        var response = await client.PostJsonAsync(OpenAiKit.GeneratePath, OpenAiKit.DallE3());

        await Api.AssertErrorAsync(response, HttpStatusCode.BadGateway, "api_error", "upstream_error");
        Assert.Equal(3, _openai.GenerationCount());
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, 48m);
    }

    [Fact]
    public async Task Connection_dropped_in_the_middle_of_the_body_is_502()
    {
        _gateway.UseOpenAi("openai", _openai, maxRetries: 1);
        _openai.Handler = async (ctx, _) =>
        {
            ctx.Response.StatusCode = 200;
            ctx.Response.ContentType = "application/json";
            ctx.Response.ContentLength = 5000;
            await ctx.Response.WriteAsync("""{"created":1713833628,"data":[{"b64_json":"iVBOR""");
            await ctx.Response.Body.FlushAsync();
            ctx.Abort();
        };
        var (client, userId) = await UserAsync();

        var response = await client.PostJsonAsync(OpenAiKit.GeneratePath, OpenAiKit.DallE3());

        await Api.AssertErrorAsync(response, HttpStatusCode.BadGateway, "api_error", "upstream_error");
        Assert.Equal(2, _openai.GenerationCount());
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, 48m);
    }

    [Fact]
    public async Task Nothing_listening_at_the_base_url_is_502()
    {
        // A port that was just free: connection refused.
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        _gateway.UseOpenAi("openai", _openai, maxRetries: 1);
        _gateway.Settings["Gateway:Providers:openai:BaseUrl"] = $"http://127.0.0.1:{port}/v1";
        var (client, userId) = await UserAsync();

        var response = await client.PostJsonAsync(OpenAiKit.GeneratePath, OpenAiKit.DallE3());

        await Api.AssertErrorAsync(response, HttpStatusCode.BadGateway, "api_error", "upstream_error");
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, 48m);
    }

    public static TheoryData<string, string> BadSuccessBodies => new()
    {
        { "malformed JSON", """{"created":1713833628,"data":[{"b64_json":"iVBORw0KGgo" """ },
        { "HTML error page with 200", "<html><body>Service temporarily unavailable</body></html>" },
        { "empty body", "" },
        { "JSON without data", """{"created":1713833628}""" },
        { "data is not an array", """{"created":1713833628,"data":{"b64_json":"x"}}""" },
        { "empty data array", """{"created":1713833628,"data":[]}""" },
        { "base64 of text, not an image", $$"""{"created":1713833628,"data":[{"b64_json":"{{Convert.ToBase64String(Encoding.UTF8.GetBytes("definitely not a PNG, just some text"))}}"}]}""" },
        { "not base64 at all", """{"created":1713833628,"data":[{"b64_json":"%%% not base64 %%%"}]}""" },
        { "b64_json is a number", """{"created":1713833628,"data":[{"b64_json":12345}]}""" },
        { "JSON null", "null" },
    };

    [Theory]
    [MemberData(nameof(BadSuccessBodies))]
    public async Task A_200_that_is_not_images_is_502_and_not_charged(string what, string body)
    {
        _gateway.UseOpenAi("openai", _openai, maxRetries: 2);
        _openai.Handler = (ctx, _) => FakeUpstream.Json(ctx, 200, body);
        var (client, userId) = await UserAsync();

        var response = await client.PostJsonAsync(OpenAiKit.GeneratePath, OpenAiKit.DallE3());

        await Api.AssertErrorAsync(response, HttpStatusCode.BadGateway, "api_error", "upstream_error");
        Assert.True(1 == _openai.GenerationCount(), $"{what}: a 200 is not retried");
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, 48m);
    }

    [Fact]
    public async Task Image_url_that_does_not_return_an_image_is_502()
    {
        _gateway.UseOpenAi("openai", _openai, maxRetries: 0);
        _openai.Handler = async (ctx, req) =>
        {
            if (req.Method == "GET") { ctx.Response.ContentType = "text/html"; await ctx.Response.WriteAsync("<html>expired</html>"); return; }
            await FakeUpstream.Json(ctx, 200, $$"""{"created":1713833628,"data":[{"url":"{{_openai.BaseUrl}}/blob/gone.png"}]}""");
        };
        var (client, userId) = await UserAsync();

        var response = await client.PostJsonAsync(OpenAiKit.GeneratePath, OpenAiKit.DallE3());

        await Api.AssertErrorAsync(response, HttpStatusCode.BadGateway, "api_error", "upstream_error");
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, 48m);
    }

    [Fact]
    public async Task A_failure_with_n_4_releases_the_whole_hold()
    {
        _gateway.UseOpenAi("openai", _openai, maxRetries: 0);
        _openai.Handler = (ctx, _) => OpenAiKit.Error(ctx, 500, OpenAiKit.ServerErrorBody);
        var (client, userId) = await UserAsync();

        var response = await client.PostJsonAsync(OpenAiKit.GeneratePath, OpenAiKit.DallE3(n: 4));

        await Api.AssertErrorAsync(response, HttpStatusCode.BadGateway, "api_error", "upstream_error");
        Assert.Equal(4, _openai.GenerationCount());
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, 192m);
    }
}
