using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Providers;

/// <summary>
/// The automatic1111 adapter through the whole gateway against a loopback fake that speaks the
/// web UI's <c>/sdapi/v1/txt2img</c> wire format (PROVIDERS.md). stable-diffusion-xl is routed to
/// automatic1111 first; the second step (openrouter) has no key here, so it is skipped and every
/// failure is the automatic1111 one.
/// </summary>
public sealed class Automatic1111ProviderTests : IAsyncLifetime
{
    private const string RawMarker = "RAW_UPSTREAM_BODY_a1111_5c2e";
    private const string GenerationsPath = "/api/v1/llm/images/generations";
    private const decimal StartingCredits = 1000m;

    private FakeUpstream _fake = null!;
    private readonly GatewayFactory _gateway = new GatewayFactory().WithoutUpstreamKeys();

    public async Task InitializeAsync()
    {
        _fake = await FakeUpstream.StartAsync();
        _gateway.Settings["Gateway:Providers:automatic1111:BaseUrl"] = _fake.BaseUrl;
        _gateway.Settings["Gateway:Providers:automatic1111:RetryBaseDelayMs"] = "1";
        _gateway.Settings["Gateway:Providers:automatic1111:TimeoutSeconds"] = "10";
        _gateway.Settings["Gateway:Routes:stable-diffusion-xl:0:Provider"] = "automatic1111";
        _gateway.Settings["Gateway:Routes:stable-diffusion-xl:0:UpstreamModel"] = "sd_xl_base_1.0";
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

    private static object Sdxl(int n = 1, string size = "1024x1024", long? seed = null) => seed is null
        ? new { prompt = "a watercolor fox", model = "stable-diffusion-xl", size, n, response_format = "b64_json" }
        : new { prompt = "a watercolor fox", model = "stable-diffusion-xl", size, n, response_format = "b64_json", seed };

    /// <summary>The web UI's success body: plain base64 images, the parameters echoed, and info as a JSON string.</summary>
    private static string Success(IReadOnlyList<byte[]> images, int indexOfFirstImage = 0) => JsonSerializer.Serialize(new
    {
        images = images.Select(Convert.ToBase64String).ToArray(),
        parameters = new { prompt = "a watercolor fox", negative_prompt = "", steps = 20, batch_size = images.Count },
        info = JsonSerializer.Serialize(new
        {
            prompt = "a watercolor fox",
            all_prompts = images.Select(_ => "a watercolor fox").ToArray(),
            seed = 1234,
            all_seeds = images.Select((_, i) => 1234 + i).ToArray(),
            width = 1024,
            height = 1024,
            sampler_name = "DPM++ 2M",
            cfg_scale = 7.0,
            steps = 20,
            batch_size = images.Count,
            index_of_first_image = indexOfFirstImage,
            sd_model_name = "sd_xl_base_1.0",
        }),
    });

    private static byte[][] Pngs(int count, int offset = 0) =>
        Enumerable.Range(offset + 1, count).Select(i => FakeUpstream.Png(32, seed: i)).ToArray();

    private async Task AssertBalanceUnchangedAsync(HttpClient client)
    {
        var credits = await client.CreditsAsync();
        Assert.Equal(StartingCredits, credits.Dec("credits_remaining"));
        Assert.Equal(0m, credits.Dec("reserved"));
    }

    private static void AssertNoLeak(string gatewayBody, params string[] secrets)
    {
        Assert.DoesNotContain(RawMarker, gatewayBody);
        Assert.DoesNotContain("Traceback", gatewayBody);
        foreach (var secret in secrets) Assert.DoesNotContain(secret, gatewayBody);
    }

    [Fact]
    public async Task Sends_the_exact_txt2img_request_and_returns_the_batch()
    {
        var pngs = Pngs(2);
        _fake.Handler = (ctx, _) => FakeUpstream.Json(ctx, 200, Success(pngs));
        using var client = await UserAsync();

        var response = await client.PostJsonAsync(GenerationsPath, Sdxl(n: 2, size: "512x512", seed: 42));
        var json = await response.OkJsonAsync();

        var request = Assert.Single(_fake.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal("/sdapi/v1/txt2img", request.Path);
        Assert.Null(request.Authorization); // no key configured: no auth header
        Assert.Equal("application/json", request.ContentType?.Split(';')[0]);
        request.AssertSentWithLength();
        using var body = JsonDocument.Parse(request.BodyText);
        var root = body.RootElement;
        Assert.Equal(["batch_size", "cfg_scale", "height", "negative_prompt", "prompt", "seed", "steps", "width"], root.Names());
        Assert.Equal("a watercolor fox", root.Str("prompt"));
        Assert.Equal("", root.Str("negative_prompt"));
        Assert.Equal(512, root.GetProperty("width").GetInt32());
        Assert.Equal(512, root.GetProperty("height").GetInt32());
        Assert.Equal(20, root.GetProperty("steps").GetInt32());
        Assert.Equal(2, root.GetProperty("batch_size").GetInt32());
        Assert.Equal(42, root.GetProperty("seed").GetInt64());
        Assert.Equal(7, root.GetProperty("cfg_scale").GetInt32());

        var data = json.GetProperty("data").EnumerateArray().ToArray();
        Assert.Equal(2, data.Length);
        Assert.Equal(pngs[0], Convert.FromBase64String(data[0].Str("b64_json")!));
        Assert.Equal(pngs[1], Convert.FromBase64String(data[1].Str("b64_json")!));
        var meta = json.GetProperty("_metadata");
        Assert.Equal("automatic1111", meta.Str("provider_used"));
        Assert.Equal("sd_xl_base_1.0", meta.Str("model_used")); // the upstream model that really served it
        Assert.Equal(2, meta.GetProperty("images_generated").GetInt32());
        Assert.Equal(4.8m, meta.Dec("cost_incurred")); // 2 × 2 × 1.2
        Assert.Equal(StartingCredits - 4.8m, (await client.CreditsAsync()).Dec("credits_remaining"));
    }

    [Fact]
    public async Task Without_a_seed_it_asks_for_a_random_one_and_sends_the_size()
    {
        _fake.Handler = (ctx, _) => FakeUpstream.Json(ctx, 200, Success(Pngs(1)));
        using var client = await UserAsync();

        var json = await (await client.PostJsonAsync(GenerationsPath, Sdxl(size: "1536x1536"))).OkJsonAsync();

        using var body = JsonDocument.Parse(Assert.Single(_fake.Requests).BodyText);
        Assert.Equal(-1, body.RootElement.GetProperty("seed").GetInt64());
        Assert.Equal(1536, body.RootElement.GetProperty("width").GetInt32());
        Assert.Equal(1536, body.RootElement.GetProperty("height").GetInt32());
        Assert.Equal(1, body.RootElement.GetProperty("batch_size").GetInt32());
        Assert.Equal(9.6m, json.GetProperty("_metadata").Dec("cost_incurred")); // 8 × 1.2
    }

    [Fact]
    public async Task Ten_images_go_in_one_call_with_batch_size_10()
    {
        _fake.Handler = (ctx, _) => FakeUpstream.Json(ctx, 200, Success(Pngs(10)));
        using var client = await UserAsync();

        var json = await (await client.PostJsonAsync(GenerationsPath, Sdxl(n: 10))).OkJsonAsync();

        using var body = JsonDocument.Parse(Assert.Single(_fake.Requests).BodyText);
        Assert.Equal(10, body.RootElement.GetProperty("batch_size").GetInt32());
        Assert.Equal(10, json.GetProperty("data").GetArrayLength());
        Assert.Equal(60m, json.GetProperty("_metadata").Dec("cost_incurred"));
        Assert.Equal(StartingCredits - 60m, (await client.CreditsAsync()).Dec("credits_remaining"));
    }

    [Fact]
    public async Task A_grid_in_front_of_the_samples_is_skipped_using_info_index_of_first_image()
    {
        var grid = FakeUpstream.Png(64, seed: 99);
        var samples = Pngs(2);
        _fake.Handler = (ctx, _) => FakeUpstream.Json(ctx, 200, Success([grid, .. samples], indexOfFirstImage: 1));
        using var client = await UserAsync();

        var json = await (await client.PostJsonAsync(GenerationsPath, Sdxl(n: 2))).OkJsonAsync();

        var data = json.GetProperty("data").EnumerateArray().Select(d => Convert.FromBase64String(d.Str("b64_json")!)).ToArray();
        Assert.Equal(2, data.Length);
        Assert.Equal(samples[0], data[0]);
        Assert.Equal(samples[1], data[1]);
    }

    [Fact]
    public async Task Fewer_images_than_asked_charge_only_for_the_images_returned()
    {
        _fake.Handler = (ctx, _) => FakeUpstream.Json(ctx, 200, Success(Pngs(2)));
        using var client = await UserAsync();

        var json = await (await client.PostJsonAsync(GenerationsPath, Sdxl(n: 3))).OkJsonAsync();

        Assert.Equal(2, json.GetProperty("data").GetArrayLength());
        Assert.Equal(12m, json.GetProperty("_metadata").Dec("cost_incurred"));
        var credits = await client.CreditsAsync();
        Assert.Equal(StartingCredits - 12m, credits.Dec("credits_remaining"));
        Assert.Equal(0m, credits.Dec("reserved"));
    }

    [Fact]
    public async Task A_user_password_key_is_sent_as_http_basic_auth_and_never_shown()
    {
        const string credentials = "alice:s3cret-Pa55word";
        _gateway.Settings["Gateway:Providers:automatic1111:ApiKey"] = credentials;
        _fake.Handler = (ctx, _) => FakeUpstream.Json(ctx, 200, Success(Pngs(1)));
        using var client = await UserAsync();

        var response = await client.PostJsonAsync(GenerationsPath, Sdxl());
        await response.OkJsonAsync();

        var request = Assert.Single(_fake.Requests);
        Assert.Equal("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(credentials)), request.Authorization);
        AssertNoLeak(await response.Content.ReadAsStringAsync(), credentials, "s3cret-Pa55word");

        using var admin = _gateway.AdminClient();
        var providers = await (await admin.GetAsync("/api/v1/admin/providers")).Content.ReadAsStringAsync();
        Assert.DoesNotContain("s3cret-Pa55word", providers);
    }

    [Fact]
    public async Task Wrong_basic_credentials_401_is_a_502_with_no_charge()
    {
        const string credentials = "alice:wrong-Pa55word";
        _gateway.Settings["Gateway:Providers:automatic1111:ApiKey"] = credentials;
        _fake.Handler = (ctx, _) =>
        {
            ctx.Response.Headers.WWWAuthenticate = "Basic";
            return FakeUpstream.Json(ctx, 401, "{\"detail\":\"Incorrect username or password\"}");
        };
        using var client = await UserAsync();

        var response = await client.PostJsonAsync(GenerationsPath, Sdxl());

        await Api.AssertErrorAsync(response, HttpStatusCode.BadGateway, "api_error", "upstream_error");
        Assert.Equal(1, _fake.Count);
        await AssertBalanceUnchangedAsync(client);
        AssertNoLeak(await response.Content.ReadAsStringAsync(), credentials, "wrong-Pa55word");
    }

    [Fact]
    public async Task Validation_error_422_is_a_400_upstream_rejected_with_no_charge_and_no_raw_body()
    {
        var errorBody = JsonSerializer.Serialize(new
        {
            error = "RequestValidationError",
            detail = new[] { new { loc = new object[] { "body", "width" }, msg = "value is not a valid integer", type = "type_error.integer" } },
            body = $"{{\"prompt\":\"{RawMarker}\",\"width\":\"abc\"}}",
            errors = $"1 validation error for Request body -> width {RawMarker} token sk_live_ABCDEF0123456789",
        });
        _fake.Handler = (ctx, _) => FakeUpstream.Json(ctx, 422, errorBody);
        using var client = await UserAsync();

        var response = await client.PostJsonAsync(GenerationsPath, Sdxl());

        var error = await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "upstream_rejected");
        Assert.Contains("width: value is not a valid integer", error.Str("message")); // the useful part is kept
        Assert.Contains("not charged", error.Str("message"));
        Assert.Equal(1, _fake.Count); // a rejected request is not retried
        await AssertBalanceUnchangedAsync(client);
        AssertNoLeak(await response.Content.ReadAsStringAsync(), "sk_live_ABCDEF0123456789", "RequestValidationError", "\"body\"", "\"errors\"");
    }

    [Fact]
    public async Task A_string_detail_is_sanitized_before_it_is_shown()
    {
        var errorBody = JsonSerializer.Serialize(new
        {
            error = "HTTPException",
            detail = "Sampler not found: Euler z, token sk-abcdef0123456789abcdef",
            body = RawMarker,
            errors = RawMarker,
        });
        _fake.Handler = (ctx, _) => FakeUpstream.Json(ctx, 422, errorBody);
        using var client = await UserAsync();

        var response = await client.PostJsonAsync(GenerationsPath, Sdxl());

        var error = await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "upstream_rejected");
        Assert.Contains("Sampler not found", error.Str("message"));
        await AssertBalanceUnchangedAsync(client);
        AssertNoLeak(await response.Content.ReadAsStringAsync(), "sk-abcdef0123456789abcdef");
    }

    [Fact]
    public async Task Server_error_500_is_retried_then_a_502_with_no_charge_and_no_raw_body()
    {
        var errorBody = JsonSerializer.Serialize(new
        {
            error = "OutOfMemoryError",
            detail = "",
            body = "",
            errors = $"CUDA out of memory. Tried to allocate 2.00 GiB. Traceback (most recent call last): {RawMarker}",
        });
        _fake.Handler = (ctx, _) => FakeUpstream.Json(ctx, 500, errorBody);
        using var client = await UserAsync();

        var response = await client.PostJsonAsync(GenerationsPath, Sdxl());

        var error = await Api.AssertErrorAsync(response, HttpStatusCode.BadGateway, "api_error", "upstream_error");
        Assert.Contains("not charged", error.Str("message"));
        Assert.Equal(3, _fake.Count); // 1 + 2 retries
        await AssertBalanceUnchangedAsync(client);
        AssertNoLeak(await response.Content.ReadAsStringAsync(), "CUDA out of memory", "OutOfMemoryError");
    }

    [Fact]
    public async Task A_slow_answer_past_the_timeout_is_a_504_with_no_charge()
    {
        _gateway.Settings["Gateway:Providers:automatic1111:TimeoutSeconds"] = "1";
        _fake.Handler = async (ctx, _) =>
        {
            try { await Task.Delay(TimeSpan.FromSeconds(10), ctx.RequestAborted); }
            catch (OperationCanceledException) { return; }
            await FakeUpstream.Json(ctx, 200, Success(Pngs(1)));
        };
        using var client = await UserAsync();

        var watch = Stopwatch.StartNew();
        var response = await client.PostJsonAsync(GenerationsPath, Sdxl());

        await Api.AssertErrorAsync(response, HttpStatusCode.GatewayTimeout, "api_error", "upstream_timeout");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
        Assert.Equal(1, _fake.Count);
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

        var response = await client.PostJsonAsync(GenerationsPath, Sdxl());

        await Api.AssertErrorAsync(response, HttpStatusCode.BadGateway, "api_error", "upstream_error");
        Assert.Equal(3, _fake.Count);
        await AssertBalanceUnchangedAsync(client);
    }

    [Fact]
    public async Task Malformed_json_is_a_502_with_no_charge()
    {
        _fake.Handler = (ctx, _) => FakeUpstream.Json(ctx, 200, "{\"images\":[\"iVBORw0KGgo");
        using var client = await UserAsync();

        var response = await client.PostJsonAsync(GenerationsPath, Sdxl());

        await Api.AssertErrorAsync(response, HttpStatusCode.BadGateway, "api_error", "upstream_error");
        await AssertBalanceUnchangedAsync(client);
    }

    [Fact]
    public async Task Base64_that_is_not_an_image_is_a_502_with_no_charge()
    {
        _fake.Handler = (ctx, _) => FakeUpstream.Json(ctx, 200, Success(["{\"not\":\"an image\"}"u8.ToArray()]));
        using var client = await UserAsync();

        var response = await client.PostJsonAsync(GenerationsPath, Sdxl());

        await Api.AssertErrorAsync(response, HttpStatusCode.BadGateway, "api_error", "upstream_error");
        Assert.Equal(1, _fake.Count);
        await AssertBalanceUnchangedAsync(client);
    }

    [Fact]
    public async Task An_empty_images_array_is_a_502_with_no_charge()
    {
        _fake.Handler = (ctx, _) => FakeUpstream.Json(ctx, 200, Success([]));
        using var client = await UserAsync();

        var response = await client.PostJsonAsync(GenerationsPath, Sdxl());

        await Api.AssertErrorAsync(response, HttpStatusCode.BadGateway, "api_error", "upstream_error");
        await AssertBalanceUnchangedAsync(client);
    }

    [Fact]
    public async Task Without_a_base_url_the_route_step_is_skipped_and_the_503_names_the_setting()
    {
        _gateway.Settings["Gateway:Providers:automatic1111:BaseUrl"] = "";
        using var client = await UserAsync();

        var response = await client.PostJsonAsync(GenerationsPath, Sdxl());

        var error = await Api.AssertErrorAsync(response, HttpStatusCode.ServiceUnavailable, "api_error", "no_provider");
        Assert.DoesNotContain("Gateway__Providers__automatic1111__BaseUrl", error.Str("message")); // a user is not shown the operator's settings
        using var admin = _gateway.AdminClient();
        var detailed = await Api.AssertErrorAsync(await admin.PostJsonAsync(GenerationsPath, Sdxl()), HttpStatusCode.ServiceUnavailable, "api_error", "no_provider");
        Assert.Contains("Gateway__Providers__automatic1111__BaseUrl", detailed.Str("message"));
        Assert.Equal(0, _fake.Count);
        await AssertBalanceUnchangedAsync(client);
    }
}
