using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using ImageGateway.Tests.Support;
using Microsoft.AspNetCore.Http;

namespace ImageGateway.Tests.Providers;

/// <summary>
/// The openrouter adapter through the whole gateway against a loopback fake that speaks OpenRouter's
/// chat-completions image wire format (PROVIDERS.md): request shape, success, every documented
/// error, slow and broken answers, and n fan-out. dall-e-3 routes openai (no key here, so skipped)
/// then openrouter.
/// </summary>
public sealed class OpenRouterProviderTests : IAsyncLifetime
{
    private const string Key = "sk-or-v1-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    private const string RawMarker = "RAW_UPSTREAM_BODY_7f3a";
    private const string GenerationsPath = "/api/v1/llm/images/generations";
    private const decimal StartingCredits = 1000m;

    private FakeUpstream _fake = null!;
    // dall-e-3 served as itself through OpenRouter, gpt-image-2 through OpenRouter too: an operator's routes, not the defaults.
    private readonly GatewayFactory _gateway = new GatewayFactory().WithoutUpstreamKeys()
        .ServeAsItself("dall-e-3", "openrouter", "openai/dall-e-3").OnlyStep("gpt-image-2", "openrouter", "openai/gpt-image-2");

    public async Task InitializeAsync()
    {
        _fake = await FakeUpstream.StartAsync();
        _gateway.Settings["Gateway:Providers:openrouter:BaseUrl"] = _fake.BaseUrl + "/api/v1";
        _gateway.Settings["Gateway:Providers:openrouter:AllowByok"] = "true";
        _gateway.Settings["Gateway:Providers:openrouter:ApiKey"] = Key;
        _gateway.Settings["Gateway:Providers:openrouter:RetryBaseDelayMs"] = "1";
        _gateway.Settings["Gateway:Providers:openrouter:TimeoutSeconds"] = "10";
    }

    public async Task DisposeAsync()
    {
        _gateway.Dispose();
        await _fake.DisposeAsync();
    }

    private async Task<HttpClient> UserAsync()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", StartingCredits);
        return _gateway.ClientWithKey(key);
    }

    private static object DallE3(int n = 1, string size = "1024x1024", string format = "b64_json") =>
        new { prompt = "a lighthouse at dusk", model = "dall-e-3", size, n, response_format = format };

    /// <summary>OpenRouter's success body: the image as a data: URL in choices[0].message.images[].</summary>
    private static string Success(params byte[][] images) => JsonSerializer.Serialize(new
    {
        id = "gen-1700000000-abc",
        provider = "OpenAI",
        model = "openai/dall-e-3",
        @object = "chat.completion",
        created = 1700000000,
        choices = new[]
        {
            new
            {
                logprobs = (object?)null,
                finish_reason = "stop",
                native_finish_reason = "STOP",
                index = 0,
                message = new
                {
                    role = "assistant",
                    content = "Here is a lighthouse at dusk.",
                    refusal = (object?)null,
                    images = images.Select((bytes, i) => new
                    {
                        type = "image_url",
                        image_url = new { url = "data:image/png;base64," + Convert.ToBase64String(bytes) },
                        index = i,
                    }).ToArray(),
                },
            },
        },
        usage = new { prompt_tokens = 12, completion_tokens = 1290, total_tokens = 1302, cost = 0.04 },
    });

    /// <summary>OpenRouter's error body: an integer code and metadata that may carry the provider's raw answer.</summary>
    private static string Error(int code, string message, object? metadata = null) => JsonSerializer.Serialize(new
    {
        error = new
        {
            code,
            message,
            metadata = metadata ?? new { provider_name = "OpenAI", raw = $"{{\"error\":\"{RawMarker}\",\"key\":\"{Key}\"}}" },
        },
    });

    private async Task AssertBalanceUnchangedAsync(HttpClient client)
    {
        var credits = await client.CreditsAsync();
        Assert.Equal(StartingCredits, credits.Dec("credits_remaining"));
        Assert.Equal(0m, credits.Dec("reserved"));
    }

    private static void AssertNoLeak(string gatewayBody)
    {
        Assert.DoesNotContain(Key, gatewayBody);
        Assert.DoesNotContain("0123456789abcdef0123456789abcdef", gatewayBody);
        Assert.DoesNotContain(RawMarker, gatewayBody);
        Assert.DoesNotContain("provider_name", gatewayBody); // OpenRouter's error.metadata is never passed on
        Assert.DoesNotContain("flagged_input", gatewayBody);
    }

    [Theory]
    [InlineData("dall-e-3", "1024x1024", "openai/dall-e-3", "1:1", 48)]
    [InlineData("dall-e-3", "1792x1024", "openai/dall-e-3", "16:9", 96)]
    [InlineData("dall-e-3", "1024x1792", "openai/dall-e-3", "9:16", 96)]
    // OpenRouter reports no OpenAI usage, so gpt-image-2 is charged its estimate: quality auto as high,
    // 7,033 × 1.5 → 10,550 output tokens × 30 + 20 prompt bytes × 5, in millicredits, × 1.2.
    [InlineData("gpt-image-2", "1536x1024", "openai/gpt-image-2", "3:2", 379.92)]
    [InlineData("gpt-image-2", "1024x1536", "openai/gpt-image-2", "2:3", 379.92)]
    public async Task Sends_the_exact_chat_completions_request_and_returns_the_data_url_image(
        string model, string size, string upstreamModel, string aspectRatio, decimal cost)
    {
        var png = FakeUpstream.Png(48, seed: 7);
        _fake.Handler = (ctx, _) => FakeUpstream.Json(ctx, 200, Success(png));
        using var client = await UserAsync();

        var response = await client.PostJsonAsync(GenerationsPath,
            new { prompt = "a lighthouse at dusk", model, size, response_format = "b64_json" });
        var json = await response.OkJsonAsync();

        var request = Assert.Single(_fake.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal("/api/v1/chat/completions", request.Path);
        Assert.Equal("Bearer " + Key, request.Authorization);
        Assert.Equal("application/json", request.ContentType?.Split(';')[0]);
        request.AssertSentWithLength();
        using var body = JsonDocument.Parse(request.BodyText);
        var root = body.RootElement;
        Assert.Equal(["image_config", "messages", "modalities", "model"], root.Names());
        Assert.Equal(upstreamModel, root.Str("model"));
        var message = Assert.Single(root.GetProperty("messages").EnumerateArray());
        Assert.Equal("user", message.Str("role"));
        Assert.Equal("a lighthouse at dusk", message.Str("content"));
        Assert.Equal(["image", "text"], root.GetProperty("modalities").EnumerateArray().Select(m => m.GetString()!).ToArray());
        Assert.Equal(aspectRatio, root.GetProperty("image_config").Str("aspect_ratio"));

        var datum = Assert.Single(json.GetProperty("data").EnumerateArray());
        var b64 = datum.Str("b64_json")!;
        Assert.DoesNotContain("data:", b64);
        Assert.Equal(png, Convert.FromBase64String(b64));
        Assert.True(!datum.TryGetProperty("revised_prompt", out var revised) || revised.ValueKind == JsonValueKind.Null,
            "message.content is not a revised prompt");
        var meta = json.GetProperty("_metadata");
        Assert.Equal("openrouter", meta.Str("provider_used"));
        Assert.Equal(upstreamModel, meta.Str("model_used")); // the upstream model that really served it
        Assert.Equal(1, meta.GetProperty("images_generated").GetInt32());
        Assert.Equal(cost, meta.Dec("cost_incurred"));
        Assert.Equal(StartingCredits - cost, meta.Dec("credits_remaining"));
        Assert.Equal(StartingCredits - cost, (await client.CreditsAsync()).Dec("credits_remaining"));
        Assert.Equal(0.04m, meta.Dec("upstream_cost_usd")); // OpenRouter's usage.cost
        AssertNoLeak(await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("output_format", "webp")]
    [InlineData("background", "transparent")]
    [InlineData("moderation", "low")]
    public async Task A_gpt_image_field_the_chat_api_cannot_honour_is_refused_not_dropped(string field, string value)
    {
        using var client = await UserAsync();
        var body = new System.Text.Json.Nodes.JsonObject { ["model"] = "gpt-image-2", ["prompt"] = "a lighthouse", ["size"] = "1024x1024", [field] = value };

        var response = await client.PostAsync(GenerationsPath, Api.Raw(body.ToJsonString()));

        var error = await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "upstream_rejected");
        Assert.Contains($"cannot honour '{field}'", error.Str("message"));
        Assert.Equal(0, _fake.Count);
        await AssertBalanceUnchangedAsync(client);
    }

    [Fact]
    public async Task Url_format_stores_the_decoded_image_behind_a_fetchable_url()
    {
        var png = FakeUpstream.Png(32, seed: 3);
        _fake.Handler = (ctx, _) => FakeUpstream.Json(ctx, 200, Success(png));
        using var client = await UserAsync();

        var json = await (await client.PostJsonAsync(GenerationsPath, DallE3(format: "url"))).OkJsonAsync();

        var url = new Uri(json.GetProperty("data")[0].Str("url")!);
        var image = await client.GetAsync(url.PathAndQuery);
        Assert.Equal(HttpStatusCode.OK, image.StatusCode);
        Assert.Equal("image/png", image.Content.Headers.ContentType?.MediaType);
        Assert.Equal(png, await image.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task N_images_fan_out_to_n_calls_of_one_image_each_and_charge_for_n()
    {
        var counter = 0;
        _fake.Handler = (ctx, _) =>
            FakeUpstream.Json(ctx, 200, Success(FakeUpstream.Png(32, seed: Interlocked.Increment(ref counter))));
        using var client = await UserAsync();

        var json = await (await client.PostJsonAsync(GenerationsPath, DallE3(n: 3))).OkJsonAsync();

        Assert.Equal(3, _fake.Count);
        Assert.All(_fake.Requests, r => Assert.Equal("/api/v1/chat/completions", r.Path));
        Assert.All(_fake.Requests, r => Assert.DoesNotContain("\"n\"", r.BodyText));
        Assert.Equal(3, json.GetProperty("data").GetArrayLength());
        Assert.Equal(3, json.GetProperty("data").EnumerateArray().Select(d => d.Str("b64_json")).Distinct().Count());
        Assert.Equal(144m, json.GetProperty("_metadata").Dec("cost_incurred"));
        Assert.Equal(StartingCredits - 144m, (await client.CreditsAsync()).Dec("credits_remaining"));
    }

    [Fact]
    public async Task Fan_out_with_every_other_call_failing_returns_and_charges_only_the_images_that_came_back()
    {
        _gateway.Settings["Gateway:Providers:openrouter:MaxRetries"] = "0";
        var counter = 0;
        _fake.Handler = (ctx, _) => Interlocked.Increment(ref counter) % 2 == 0
            ? FakeUpstream.Json(ctx, 503, Error(503, "Provider returned error"))
            : FakeUpstream.Json(ctx, 200, Success(FakeUpstream.Png(32)));
        using var client = await UserAsync();

        var response = await client.PostJsonAsync(GenerationsPath, DallE3(n: 3));
        var json = await response.OkJsonAsync();

        Assert.Equal(3, _fake.Count);
        Assert.Equal(2, json.GetProperty("data").GetArrayLength());
        var meta = json.GetProperty("_metadata");
        Assert.Equal(2, meta.GetProperty("images_generated").GetInt32());
        Assert.Equal(96m, meta.Dec("cost_incurred")); // 2 × 40 × 1.2, not 3 × 48
        var credits = await client.CreditsAsync();
        Assert.Equal(StartingCredits - 96m, credits.Dec("credits_remaining"));
        Assert.Equal(0m, credits.Dec("reserved"));
        AssertNoLeak(await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Fan_out_with_every_other_answer_lacking_images_charges_only_for_the_images_returned()
    {
        // A 200 without images is not retried, so the split is exact even with retries on.
        var counter = 0;
        var textOnly = Success().Replace("\"images\":[]", "\"images\":null");
        _fake.Handler = (ctx, _) => Interlocked.Increment(ref counter) % 2 == 0
            ? FakeUpstream.Json(ctx, 200, textOnly)
            : FakeUpstream.Json(ctx, 200, Success(FakeUpstream.Png(32)));
        using var client = await UserAsync();

        var json = await (await client.PostJsonAsync(GenerationsPath, DallE3(n: 3))).OkJsonAsync();

        Assert.Equal(3, _fake.Count);
        Assert.Equal(2, json.GetProperty("data").GetArrayLength());
        Assert.Equal(96m, json.GetProperty("_metadata").Dec("cost_incurred"));
        Assert.Equal(StartingCredits - 96m, (await client.CreditsAsync()).Dec("credits_remaining"));
    }

    public static TheoryData<int, string, HttpStatusCode, string, string, int> DocumentedErrors => new()
    {
        // upstream status, upstream message, gateway status, type, code, upstream calls (retries included)
        { 400, "Invalid model: openai/dall-e-3 is not a valid model ID", HttpStatusCode.BadRequest, "invalid_request_error", "upstream_rejected", 1 },
        { 401, $"No auth credentials found for {Key}", HttpStatusCode.BadGateway, "api_error", "upstream_error", 1 },
        { 402, "Insufficient credits. Add more using https://openrouter.ai/credits", HttpStatusCode.BadGateway, "api_error", "upstream_error", 1 },
        { 403, "Your input was flagged by moderation", HttpStatusCode.BadRequest, "invalid_request_error", "content_policy_violation", 1 },
        { 408, "Request timed out", HttpStatusCode.GatewayTimeout, "api_error", "upstream_timeout", 1 },
        { 502, "Provider returned error", HttpStatusCode.BadGateway, "api_error", "upstream_error", 3 },
        { 503, "No available provider meets your routing requirements", HttpStatusCode.BadGateway, "api_error", "upstream_error", 3 },
    };

    [Theory]
    [MemberData(nameof(DocumentedErrors))]
    public async Task Each_documented_error_maps_to_the_contract_charges_nothing_and_leaks_nothing(
        int upstreamStatus, string upstreamMessage, HttpStatusCode status, string type, string code, int calls)
    {
        object? metadata = upstreamStatus == 403
            ? new { reasons = new[] { "violence" }, flagged_input = $"{RawMarker} a lighthouse…", provider_name = "OpenAI", model_slug = "openai/dall-e-3" }
            : null;
        _fake.Handler = (ctx, _) => FakeUpstream.Json(ctx, upstreamStatus, Error(upstreamStatus, upstreamMessage, metadata));
        using var client = await UserAsync();

        var response = await client.PostJsonAsync(GenerationsPath, DallE3());

        var error = await Api.AssertErrorAsync(response, status, type, code);
        Assert.Contains("not charged", error.Str("message"));
        Assert.Equal(calls, _fake.Count);
        await AssertBalanceUnchangedAsync(client);
        AssertNoLeak(await response.Content.ReadAsStringAsync());
        if (upstreamStatus == 400) Assert.Contains("is not a valid model ID", error.Str("message")); // the useful part is kept
    }

    [Fact]
    public async Task Rate_limit_429_honours_retry_after_then_fails_with_502_and_no_charge()
    {
        _gateway.Settings["Gateway:Providers:openrouter:MaxRetries"] = "1";
        var at = new ConcurrentQueue<long>();
        _fake.Handler = (ctx, _) =>
        {
            at.Enqueue(Stopwatch.GetTimestamp());
            ctx.Response.Headers.RetryAfter = "1";
            return FakeUpstream.Json(ctx, 429, Error(429, "Rate limit exceeded: free-models-per-min"));
        };
        using var client = await UserAsync();

        var response = await client.PostJsonAsync(GenerationsPath, DallE3());

        await Api.AssertErrorAsync(response, HttpStatusCode.BadGateway, "api_error", "upstream_error");
        Assert.Equal(2, _fake.Count);
        var times = at.ToArray();
        Assert.True(Stopwatch.GetElapsedTime(times[0], times[1]) >= TimeSpan.FromMilliseconds(900),
            $"the retry waited {Stopwatch.GetElapsedTime(times[0], times[1]).TotalMilliseconds} ms, not the 1 s Retry-After");
        await AssertBalanceUnchangedAsync(client);
        AssertNoLeak(await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Moderation_403_is_final_and_the_next_provider_on_the_route_is_not_tried()
    {
        await using var other = await FakeUpstream.StartAsync();
        other.Handler = (ctx, _) => FakeUpstream.Json(ctx, 200,
            JsonSerializer.Serialize(new { created = 1, data = new[] { new { b64_json = Convert.ToBase64String(FakeUpstream.Png(16)) } } }));
        RouteOpenRouterThenOpenAi(other);
        _fake.Handler = (ctx, _) => FakeUpstream.Json(ctx, 403, Error(403, "Your input was flagged",
            new { reasons = new[] { "violence" }, flagged_input = RawMarker, provider_name = "OpenAI", model_slug = "openai/dall-e-3" }));
        using var client = await UserAsync();

        var response = await client.PostJsonAsync(GenerationsPath, DallE3());

        await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "content_policy_violation");
        Assert.Equal(1, _fake.Count);
        Assert.Equal(0, other.Count);
        await AssertBalanceUnchangedAsync(client);
        AssertNoLeak(await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task An_outage_falls_back_to_the_next_provider_and_charges_once()
    {
        await using var other = await FakeUpstream.StartAsync();
        other.Handler = (ctx, _) => FakeUpstream.Json(ctx, 200,
            JsonSerializer.Serialize(new { created = 1, data = new[] { new { b64_json = Convert.ToBase64String(FakeUpstream.Png(16)) } } }));
        RouteOpenRouterThenOpenAi(other);
        _fake.Handler = (ctx, _) => FakeUpstream.Json(ctx, 503, Error(503, "No available provider"));
        using var client = await UserAsync();

        var json = await (await client.PostJsonAsync(GenerationsPath, DallE3())).OkJsonAsync();

        Assert.Equal(3, _fake.Count);
        Assert.Equal(1, other.Count);
        Assert.Equal("openai", json.GetProperty("_metadata").Str("provider_used"));
        Assert.Equal(StartingCredits - 48m, (await client.CreditsAsync()).Dec("credits_remaining"));
    }

    private void RouteOpenRouterThenOpenAi(FakeUpstream openAi)
    {
        _gateway.Settings["Gateway:Routes:dall-e-3:0:Provider"] = "openrouter";
        _gateway.Settings["Gateway:Routes:dall-e-3:0:UpstreamModel"] = "openai/dall-e-3";
        _gateway.Settings["Gateway:Routes:dall-e-3:1:Provider"] = "openai";
        _gateway.Settings["Gateway:Routes:dall-e-3:1:UpstreamModel"] = "dall-e-3";
        _gateway.Settings["Gateway:Providers:openai:BaseUrl"] = openAi.BaseUrl + "/v1";
        _gateway.Settings["Gateway:Providers:openai:AllowByok"] = "true";
        _gateway.Settings["Gateway:Providers:openai:ApiKey"] = "sk-proj-otherprovider000000";
        _gateway.Settings["Gateway:Providers:openai:RetryBaseDelayMs"] = "1";
    }

    [Fact]
    public async Task An_error_object_inside_a_200_is_mapped_by_its_integer_code()
    {
        _fake.Handler = (ctx, _) => FakeUpstream.Json(ctx, 200, Error(502, "Upstream provider error mid-generation"));
        using var client = await UserAsync();

        var response = await client.PostJsonAsync(GenerationsPath, DallE3());

        await Api.AssertErrorAsync(response, HttpStatusCode.BadGateway, "api_error", "upstream_error");
        await AssertBalanceUnchangedAsync(client);
        AssertNoLeak(await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_slow_answer_past_the_timeout_is_a_504_with_no_charge()
    {
        _gateway.Settings["Gateway:Providers:openrouter:TimeoutSeconds"] = "1";
        _fake.Handler = async (ctx, _) =>
        {
            try { await Task.Delay(TimeSpan.FromSeconds(10), ctx.RequestAborted); }
            catch (OperationCanceledException) { return; }
            await FakeUpstream.Json(ctx, 200, Success(FakeUpstream.Png(16)));
        };
        using var client = await UserAsync();

        var watch = Stopwatch.StartNew();
        var response = await client.PostJsonAsync(GenerationsPath, DallE3());

        await Api.AssertErrorAsync(response, HttpStatusCode.GatewayTimeout, "api_error", "upstream_timeout");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
        Assert.Equal(1, _fake.Count); // a timed-out attempt is not retried
        await AssertBalanceUnchangedAsync(client);
    }

    [Fact]
    public async Task A_dropped_connection_is_a_502_with_no_charge()
    {
        _fake.Handler = (ctx, _) =>
        {
            ctx.Abort();
            return Task.CompletedTask;
        };
        using var client = await UserAsync();

        var response = await client.PostJsonAsync(GenerationsPath, DallE3());

        await Api.AssertErrorAsync(response, HttpStatusCode.BadGateway, "api_error", "upstream_error");
        Assert.Equal(3, _fake.Count); // connection failures are retried
        await AssertBalanceUnchangedAsync(client);
    }

    [Fact]
    public async Task Malformed_json_is_a_502_with_no_charge()
    {
        _fake.Handler = (ctx, _) => FakeUpstream.Json(ctx, 200, "{\"choices\":[{\"message\":{\"images\":[{\"image_url\":");
        using var client = await UserAsync();

        var response = await client.PostJsonAsync(GenerationsPath, DallE3());

        await Api.AssertErrorAsync(response, HttpStatusCode.BadGateway, "api_error", "upstream_error");
        await AssertBalanceUnchangedAsync(client);
    }

    [Fact]
    public async Task A_data_url_that_is_not_an_image_is_a_502_with_no_charge()
    {
        _fake.Handler = (ctx, _) => FakeUpstream.Json(ctx, 200, Success("this is plain text, not a PNG"u8.ToArray()));
        using var client = await UserAsync();

        var response = await client.PostJsonAsync(GenerationsPath, DallE3());

        await Api.AssertErrorAsync(response, HttpStatusCode.BadGateway, "api_error", "upstream_error");
        Assert.Equal(1, _fake.Count);
        await AssertBalanceUnchangedAsync(client);
    }

    [Fact]
    public async Task A_200_whose_choices_carry_no_images_is_a_502_with_no_charge()
    {
        _fake.Handler = (ctx, _) => FakeUpstream.Json(ctx, 200, Success());
        using var client = await UserAsync();

        var response = await client.PostJsonAsync(GenerationsPath, DallE3());

        await Api.AssertErrorAsync(response, HttpStatusCode.BadGateway, "api_error", "upstream_error");
        Assert.Equal(1, _fake.Count);
        await AssertBalanceUnchangedAsync(client);
    }

    [Theory]
    [InlineData(200, true)]
    [InlineData(401, false)]
    public async Task A_byok_key_test_calls_get_key_with_that_key(int upstreamStatus, bool ok)
    {
        const string userKey = "sk-or-v1-userownkey0000000000000000000000000000";
        // OpenRouter checks every key: the made-up key of the proof is refused with its 401.
        _fake.Handler = (ctx, request) => upstreamStatus == 200 && request.Authorization == "Bearer " + userKey
            ? FakeUpstream.Json(ctx, 200, "{\"data\":{\"label\":\"sk-or-v1-use...000\",\"usage\":0,\"limit\":null,\"is_free_tier\":false}}")
            : FakeUpstream.Json(ctx, 401, Error(401, "No auth credentials found"));
        using var client = await UserAsync();
        (await client.PostJsonAsync("/api/v1/llm/byok/keys", new { provider = "openrouter", api_key = userKey })).EnsureSuccessStatusCode();

        var response = await client.PostAsync("/api/v1/llm/byok/keys/openrouter/test", null);
        var json = await response.OkJsonAsync();

        // The caller's key first; only once it is accepted, a made-up one that must be refused.
        var requests = _fake.Requests.ToArray();
        Assert.Equal(ok ? 2 : 1, requests.Length);
        Assert.All(requests, r => Assert.Equal(("GET", "/api/v1/key"), (r.Method, r.Path)));
        Assert.Equal("Bearer " + userKey, requests[0].Authorization);
        if (ok) Assert.StartsWith("Bearer sk-or-igw-check-", requests[1].Authorization);
        Assert.Equal(ok, json.GetProperty("ok").GetBoolean());
        Assert.Equal(upstreamStatus, json.GetProperty("status").GetInt32());
        Assert.DoesNotContain(userKey, await response.Content.ReadAsStringAsync());
        await AssertBalanceUnchangedAsync(client);
    }

    [Fact]
    public async Task Without_a_key_the_model_has_no_provider_and_the_503_names_the_setting()
    {
        _gateway.Settings["Gateway:Providers:openrouter:ApiKey"] = "";
        using var client = await UserAsync();

        var response = await client.PostJsonAsync(GenerationsPath, DallE3());

        var error = await Api.AssertErrorAsync(response, HttpStatusCode.ServiceUnavailable, "api_error", "no_provider");
        Assert.DoesNotContain("OPENROUTER_API_KEY", error.Str("message")); // a user is not shown the operator's settings
        using var admin = _gateway.AdminClient();
        var detailed = await Api.AssertErrorAsync(await admin.PostJsonAsync(GenerationsPath, DallE3()), HttpStatusCode.ServiceUnavailable, "api_error", "no_provider");
        Assert.Contains("OPENROUTER_API_KEY", detailed.Str("message"));
        Assert.Equal(0, _fake.Count);
        await AssertBalanceUnchangedAsync(client);
    }
}
