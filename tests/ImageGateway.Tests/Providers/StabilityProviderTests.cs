using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using ImageGateway.Hosting;
using ImageGateway.Providers;
using ImageGateway.Providers.Stability;
using ImageGateway.Tests.Support;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace ImageGateway.Tests.Providers;

/// <summary>
/// The stability adapter against a local server speaking Stability's v2beta Stable Image API
/// (PROVIDERS.md): the exact multipart request, the JSON answer, content filtering, every documented
/// error status, and slow, dropped and garbage answers — through the public API, with the balance
/// checked after every failure.
/// </summary>
public sealed class StabilityProviderTests : IAsyncLifetime
{
    private const string ApiKey = "sk-test-stability-0123456789abcdef";
    private const string GeneratePath = "/api/v1/llm/images/generations";

    private static readonly byte[] Png = FakeUpstream.Png(48, seed: 7);

    private readonly GatewayFactory _gateway = new();
    private FakeUpstream _stability = null!;
    private FakeUpstream? _backup;

    public async Task InitializeAsync()
    {
        _stability = await FakeUpstream.StartAsync();
        _gateway.Settings["Gateway:Providers:stability:BaseUrl"] = _stability.BaseUrl;
        _gateway.Settings["Gateway:Providers:stability:ApiKey"] = ApiKey;
        _gateway.Settings["Gateway:Providers:stability:RetryBaseDelayMs"] = "1";
        _gateway.Settings["Gateway:Providers:stability:MaxRetryDelaySeconds"] = "0.05";
        // Nothing from the environment may give the fallback provider a key.
        _gateway.Settings["OPENROUTER_API_KEY"] = "";
        _gateway.Settings["Gateway:Providers:openrouter:ApiKey"] = "";
        _stability.Handler = Success;
    }

    public async Task DisposeAsync()
    {
        _gateway.Dispose();
        await _stability.DisposeAsync();
        if (_backup is not null) await _backup.DisposeAsync();
    }

    // ---------------------------------------------------------------- the wire request

    [Fact]
    public async Task Sdxl_posts_multipart_to_core_with_the_exact_fields_and_headers()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 1000m);
        using var client = _gateway.ClientWithKey(key);

        var response = await client.PostJsonAsync(GeneratePath, new
        {
            prompt = "a lighthouse at dawn, oil painting",
            model = "stable-diffusion-xl",
            size = "1024x1024",
            seed = 42,
            response_format = "b64_json",
        });

        var json = await response.OkJsonAsync();
        var request = Assert.Single(_stability.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal("/v2beta/stable-image/generate/core", request.Path);
        Assert.Equal($"Bearer {ApiKey}", request.Authorization);
        Assert.Equal("application/json", request.Accept);
        var form = await ParseFormAsync(request);
        Assert.Equal(new Dictionary<string, string>
        {
            ["prompt"] = "a lighthouse at dawn, oil painting",
            ["aspect_ratio"] = "1:1",
            ["output_format"] = "png",
            ["seed"] = "42",
        }, form);

        var datum = Assert.Single(json.GetProperty("data").EnumerateArray());
        Assert.Equal(Png, Convert.FromBase64String(datum.Str("b64_json")!));
        var meta = json.GetProperty("_metadata");
        Assert.Equal("stability", meta.Str("provider_used"));
        Assert.Equal("core", meta.Str("model_used")); // the upstream model that really served it
        Assert.Equal(6m, meta.Dec("cost_incurred"));
        Assert.Equal(994m, meta.Dec("credits_remaining"));
        var credits = await client.CreditsAsync();
        Assert.Equal(994m, credits.Dec("credits_remaining"));
        Assert.Equal(0m, credits.Dec("reserved"));
    }

    [Fact]
    public async Task Sd3_posts_to_the_sd3_endpoint_with_the_model_field_and_no_seed_when_none_is_given()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 1000m);
        using var client = _gateway.ClientWithKey(key);

        var response = await client.PostJsonAsync(GeneratePath, new { prompt = "a koi pond", model = "stable-diffusion-3", size = "1536x1536" });

        var json = await response.OkJsonAsync();
        var request = Assert.Single(_stability.Requests);
        Assert.Equal("/v2beta/stable-image/generate/sd3", request.Path);
        Assert.Equal($"Bearer {ApiKey}", request.Authorization);
        Assert.Equal("application/json", request.Accept);
        Assert.Equal(new Dictionary<string, string>
        {
            ["prompt"] = "a koi pond",
            ["aspect_ratio"] = "1:1",
            ["output_format"] = "png",
            ["model"] = "sd3.5-large",
        }, await ParseFormAsync(request));

        // Default response_format=url: the gateway serves the upstream's bytes from its own URL.
        Assert.Equal(12m, json.GetProperty("_metadata").Dec("cost_incurred")); // 10 × 1.2
        var url = new Uri(json.GetProperty("data")[0].Str("url")!);
        var image = await client.GetAsync(url.PathAndQuery);
        Assert.Equal(HttpStatusCode.OK, image.StatusCode);
        Assert.Equal(Png, await image.Content.ReadAsByteArrayAsync());
        Assert.Equal(988m, (await client.CreditsAsync()).Dec("credits_remaining"));
    }

    [Theory]
    [InlineData("512x512", 2.4)]
    [InlineData("1024x1024", 6)]
    [InlineData("1536x1536", 9.6)]
    public async Task Every_sdxl_size_is_sent_as_aspect_ratio_1_1_and_priced_per_size(string size, double price)
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 1000m);
        using var client = _gateway.ClientWithKey(key);

        var json = await (await client.PostJsonAsync(GeneratePath, new { prompt = "a cat", model = "stable-diffusion-xl", size })).OkJsonAsync();

        var form = await ParseFormAsync(Assert.Single(_stability.Requests));
        Assert.Equal("1:1", form["aspect_ratio"]);
        Assert.False(form.ContainsKey("size"));
        Assert.Equal((decimal)price, json.GetProperty("_metadata").Dec("cost_incurred"));
    }

    [Fact]
    public async Task N_2_makes_two_upstream_calls_with_consecutive_seeds_and_charges_for_two()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 1000m);
        using var client = _gateway.ClientWithKey(key);

        var json = await (await client.PostJsonAsync(GeneratePath, new
        {
            prompt = "two foxes",
            model = "stable-diffusion-xl",
            size = "1024x1024",
            n = 2,
            seed = 7,
            response_format = "b64_json",
        })).OkJsonAsync();

        Assert.Equal(2, _stability.Count);
        var forms = new List<Dictionary<string, string>>();
        foreach (var request in _stability.Requests)
        {
            Assert.Equal("/v2beta/stable-image/generate/core", request.Path);
            forms.Add(await ParseFormAsync(request));
        }
        Assert.All(forms, f => Assert.Equal("two foxes", f["prompt"]));
        Assert.Equal(["7", "8"], forms.Select(f => f["seed"]).Order(StringComparer.Ordinal));
        Assert.Equal(2, json.GetProperty("data").GetArrayLength());
        Assert.All(json.GetProperty("data").EnumerateArray(), d => Assert.Equal(Png, Convert.FromBase64String(d.Str("b64_json")!)));
        Assert.Equal(2, json.GetProperty("_metadata").GetProperty("images_generated").GetInt32());
        Assert.Equal(12m, json.GetProperty("_metadata").Dec("cost_incurred"));
        Assert.Equal(988m, (await client.CreditsAsync()).Dec("credits_remaining"));
    }

    // ---------------------------------------------------------------- refusals and errors

    [Fact]
    public async Task Content_filtered_is_a_400_content_policy_violation_uncharged_and_not_retried_elsewhere()
    {
        await AddBackupProviderAsync();
        _stability.Handler = (ctx, _) => FakeUpstream.Json(ctx, 200,
            $$"""{"image":"{{Convert.ToBase64String(Png)}}","finish_reason":"CONTENT_FILTERED","seed":1234}""");
        var (_, key) = await _gateway.CreateUserAsync("managed", 1000m);
        using var client = _gateway.ClientWithKey(key);

        var response = await client.PostJsonAsync(GeneratePath, new { prompt = "something filtered", model = "stable-diffusion-xl" });

        await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "content_policy_violation");
        Assert.Equal(1, _stability.Count);
        Assert.Equal(0, _backup!.Count);
        await AssertBalanceUnchangedAsync(client);
    }

    [Fact]
    public async Task An_outage_falls_back_to_the_next_provider_on_the_route()
    {
        // Proves the backup of the refusal tests is live: a 500 moves on to it and it serves.
        await AddBackupProviderAsync();
        _stability.Handler = (ctx, _) => FakeUpstream.Json(ctx, 500, """{"id":"e1","name":"server_error","errors":["boom"]}""");
        var (_, key) = await _gateway.CreateUserAsync("managed", 1000m);
        using var client = _gateway.ClientWithKey(key);

        var json = await (await client.PostJsonAsync(GeneratePath, new { prompt = "a cat", model = "stable-diffusion-xl" })).OkJsonAsync();

        Assert.Equal("backup", json.GetProperty("_metadata").Str("provider_used"));
        Assert.Equal(3, _stability.Count); // first try + 2 retries
        Assert.Equal(1, _backup!.Count);
    }

    public static TheoryData<int, string, HttpStatusCode, string> FinalErrors => new()
    {
        { 400, "bad_request", HttpStatusCode.BadRequest, "upstream_rejected" },
        { 403, "content_moderation", HttpStatusCode.BadRequest, "content_policy_violation" },
        { 413, "payload_too_large", HttpStatusCode.BadRequest, "upstream_rejected" },
        { 422, "invalid_language", HttpStatusCode.BadRequest, "upstream_rejected" },
    };

    [Theory]
    [MemberData(nameof(FinalErrors))]
    public async Task Refusals_of_the_request_are_final_and_never_tried_on_the_next_provider(
        int upstreamStatus, string name, HttpStatusCode status, string code)
    {
        await AddBackupProviderAsync();
        _stability.Handler = (ctx, _) => FakeUpstream.Json(ctx, upstreamStatus,
            $$"""{"id":"0123abcd","name":"{{name}}","errors":["the request was refused"]}""");
        var (_, key) = await _gateway.CreateUserAsync("managed", 1000m);
        using var client = _gateway.ClientWithKey(key);

        var response = await client.PostJsonAsync(GeneratePath, new { prompt = "a cat", model = "stable-diffusion-xl" });

        await Api.AssertErrorAsync(response, status, "invalid_request_error", code);
        Assert.Equal(1, _stability.Count);
        Assert.Equal(0, _backup!.Count);
        await AssertBalanceUnchangedAsync(client);
    }

    public static TheoryData<int, string, bool, HttpStatusCode, string, int> ErrorBodies => new()
    {
        // upstream status, error name, message passed on?, caller status, caller code, upstream calls
        { 400, "bad_request", true, HttpStatusCode.BadRequest, "upstream_rejected", 1 },
        { 403, "content_moderation", false, HttpStatusCode.BadRequest, "content_policy_violation", 1 },
        { 403, "forbidden", false, HttpStatusCode.BadGateway, "upstream_error", 1 },
        { 413, "payload_too_large", true, HttpStatusCode.BadRequest, "upstream_rejected", 1 },
        { 422, "invalid_language", true, HttpStatusCode.BadRequest, "upstream_rejected", 1 },
        { 429, "rate_limit_exceeded", true, HttpStatusCode.BadGateway, "upstream_error", 3 },
        { 500, "internal_error", false, HttpStatusCode.BadGateway, "upstream_error", 3 },
    };

    [Theory]
    [MemberData(nameof(ErrorBodies))]
    public async Task Each_documented_error_body_maps_to_a_safe_error_and_charges_nothing(
        int upstreamStatus, string name, bool messagePassedOn, HttpStatusCode status, string code, int calls)
    {
        const string Id = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6";
        const string Secret = "sk-live-DoNotLeakThis1234567890";
        var body = $$"""{"id":"{{Id}}","name":"{{name}}","errors":["prompt: the value was refused (token {{Secret}})","second reason"]}""";
        _stability.Handler = (ctx, _) =>
        {
            if (upstreamStatus == 429) ctx.Response.Headers.RetryAfter = "1";
            return FakeUpstream.Json(ctx, upstreamStatus, body);
        };
        var (_, key) = await _gateway.CreateUserAsync("managed", 1000m);
        using var client = _gateway.ClientWithKey(key);

        var response = await client.PostJsonAsync(GeneratePath, new { prompt = "a cat", model = "stable-diffusion-xl" });

        var text = await response.Content.ReadAsStringAsync();
        var type = status == HttpStatusCode.BadRequest ? "invalid_request_error" : "api_error";
        var error = await Api.AssertErrorAsync(response, status, type, code);
        Assert.DoesNotContain(body, text);
        Assert.DoesNotContain(Id, text);
        Assert.DoesNotContain(Secret, text);
        Assert.DoesNotContain(ApiKey, text);
        Assert.DoesNotContain("\"errors\"", text);
        if (messagePassedOn && status == HttpStatusCode.BadRequest) // a 502's upstream detail is shown to admins only
        {
            // The useful part of the upstream's message survives, sanitized.
            Assert.Contains("the value was refused", error.Str("message"));
            Assert.Contains("[redacted]", error.Str("message"));
            Assert.Contains("second reason", error.Str("message"));
        }
        Assert.Contains("not charged", error.Str("message"));
        Assert.Equal(calls, _stability.Count);
        await AssertBalanceUnchangedAsync(client);
    }

    [Fact]
    public async Task A_429_retry_after_is_waited_for_before_the_retry()
    {
        _gateway.Settings["Gateway:Providers:stability:MaxRetries"] = "1";
        _gateway.Settings["Gateway:Providers:stability:MaxRetryDelaySeconds"] = "10";
        var clock = Stopwatch.StartNew();
        var times = new List<TimeSpan>();
        _stability.Handler = (ctx, _) =>
        {
            lock (times) times.Add(clock.Elapsed);
            if (times.Count > 1) return Success(ctx, null!);
            ctx.Response.Headers.RetryAfter = "1";
            return FakeUpstream.Json(ctx, 429, """{"id":"r1","name":"rate_limit_exceeded","errors":["You have exceeded the rate limit"]}""");
        };
        var (_, key) = await _gateway.CreateUserAsync("managed", 1000m);
        using var client = _gateway.ClientWithKey(key);

        var json = await (await client.PostJsonAsync(GeneratePath, new { prompt = "a cat", model = "stable-diffusion-xl" })).OkJsonAsync();

        Assert.Equal(2, times.Count);
        Assert.True(times[1] - times[0] >= TimeSpan.FromMilliseconds(900), $"retried after {(times[1] - times[0]).TotalMilliseconds} ms");
        Assert.Equal(6m, json.GetProperty("_metadata").Dec("cost_incurred"));
    }

    // ---------------------------------------------------------------- slow, broken and garbage answers

    [Fact]
    public async Task A_slow_answer_past_the_timeout_is_a_504_upstream_timeout_uncharged()
    {
        _gateway.Settings["Gateway:Providers:stability:TimeoutSeconds"] = "1";
        _stability.Handler = async (ctx, rec) =>
        {
            try { await Task.Delay(TimeSpan.FromSeconds(10), ctx.RequestAborted); }
            catch (OperationCanceledException) { return; }
            await Success(ctx, rec);
        };
        var (_, key) = await _gateway.CreateUserAsync("managed", 1000m);
        using var client = _gateway.ClientWithKey(key);

        var clock = Stopwatch.StartNew();
        var response = await client.PostJsonAsync(GeneratePath, new { prompt = "a cat", model = "stable-diffusion-xl" });

        await Api.AssertErrorAsync(response, HttpStatusCode.GatewayTimeout, "api_error", "upstream_timeout");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.Equal(1, _stability.Count); // a timed-out attempt is not repeated
        await AssertBalanceUnchangedAsync(client);
    }

    [Fact]
    public async Task A_dropped_connection_is_a_502_uncharged()
    {
        _stability.Handler = (ctx, _) =>
        {
            ctx.Abort();
            return Task.CompletedTask;
        };
        var (_, key) = await _gateway.CreateUserAsync("managed", 1000m);
        using var client = _gateway.ClientWithKey(key);

        var response = await client.PostJsonAsync(GeneratePath, new { prompt = "a cat", model = "stable-diffusion-xl" });

        await Api.AssertErrorAsync(response, HttpStatusCode.BadGateway, "api_error", "upstream_error");
        Assert.True(_stability.Count >= 1);
        await AssertBalanceUnchangedAsync(client);
    }

    public static TheoryData<string, string> GarbageAnswers => new()
    {
        { "malformed JSON", """{"image":"iVBORw0KGgo","finish_reason":"SUCC""" },
        { "non-image base64", $$"""{"image":"{{Convert.ToBase64String("this is not a picture at all"u8.ToArray())}}","finish_reason":"SUCCESS","seed":5}""" },
        { "invalid base64", """{"image":"@@@ not base64 @@@","finish_reason":"SUCCESS","seed":5}""" },
        { "no image", """{"finish_reason":"SUCCESS","seed":5}""" },
        { "an array", """[1,2,3]""" },
        { "an HTML page", "<html><body>Bad gateway</body></html>" },
    };

    [Theory]
    [MemberData(nameof(GarbageAnswers))]
    public async Task A_200_that_is_not_an_image_is_a_502_uncharged(string what, string body)
    {
        _stability.Handler = (ctx, _) => FakeUpstream.Json(ctx, 200, body);
        var (_, key) = await _gateway.CreateUserAsync("managed", 1000m);
        using var client = _gateway.ClientWithKey(key);

        var response = await client.PostJsonAsync(GeneratePath, new { prompt = "a cat", model = "stable-diffusion-xl" });

        var error = await Api.AssertErrorAsync(response, HttpStatusCode.BadGateway, "api_error", "upstream_error");
        Assert.DoesNotContain(body, error.Str("message"));
        Assert.True(_stability.Count == 1, what);
        await AssertBalanceUnchangedAsync(client);
    }

    // ---------------------------------------------------------------- the adapter directly

    [Theory]
    [InlineData(256, 256, "1:1")]
    [InlineData(512, 512, "1:1")]
    [InlineData(1024, 1024, "1:1")]
    [InlineData(1536, 1536, "1:1")]
    [InlineData(1792, 1024, "16:9")]
    [InlineData(1024, 1792, "9:16")]
    [InlineData(1536, 1024, "3:2")]
    [InlineData(1024, 1536, "2:3")]
    [InlineData(1344, 768, "16:9")]
    [InlineData(2048, 1024, "16:9")]
    [InlineData(1536, 640, "21:9")]
    [InlineData(3000, 1000, "21:9")]
    [InlineData(640, 1536, "9:21")]
    [InlineData(1216, 832, "3:2")]
    [InlineData(1152, 896, "5:4")]
    [InlineData(1000, 800, "5:4")]
    [InlineData(800, 1000, "4:5")]
    [InlineData(1, 1, "1:1")]
    [InlineData(0, 0, "1:1")]
    public void Aspect_ratio_is_the_nearest_one_stability_accepts(int width, int height, string expected)
    {
        Assert.Equal(expected, StabilityProvider.AspectRatio(width, height));
    }

    [Fact]
    public void Every_mapped_aspect_ratio_is_one_stability_accepts()
    {
        string[] accepted = ["16:9", "1:1", "21:9", "2:3", "3:2", "4:5", "5:4", "9:16", "9:21"];
        for (var w = 64; w <= 4096; w += 64)
            for (var h = 64; h <= 4096; h += 192)
                Assert.Contains(StabilityProvider.AspectRatio(w, h), accepted);
        // Each accepted ratio maps to itself.
        foreach (var ratio in accepted)
        {
            var parts = ratio.Split(':').Select(int.Parse).ToArray();
            Assert.Equal(ratio, StabilityProvider.AspectRatio(parts[0] * 64, parts[1] * 64));
        }
    }

    [Theory]
    [InlineData(1792, 1024, "16:9")]
    [InlineData(1024, 1792, "9:16")]
    [InlineData(1536, 1024, "3:2")]
    [InlineData(1024, 1536, "2:3")]
    [InlineData(1024, 1024, "1:1")]
    [InlineData(512, 512, "1:1")]
    [InlineData(1536, 1536, "1:1")]
    public async Task The_adapter_sends_each_size_as_its_aspect_ratio(int width, int height, string expected)
    {
        var result = await DirectAsync(Job("core", width, height));

        Assert.Null(result.Failure);
        Assert.Equal(expected, (await ParseFormAsync(Assert.Single(_stability.Requests)))["aspect_ratio"]);
    }

    [Theory]
    [InlineData("core", "/v2beta/stable-image/generate/core", null)]
    [InlineData("ultra", "/v2beta/stable-image/generate/ultra", null)]
    [InlineData("sd3.5-large", "/v2beta/stable-image/generate/sd3", "sd3.5-large")]
    [InlineData("sd3.5-large-turbo", "/v2beta/stable-image/generate/sd3", "sd3.5-large-turbo")]
    [InlineData("sd3.5-medium", "/v2beta/stable-image/generate/sd3", "sd3.5-medium")]
    public async Task The_upstream_model_picks_the_endpoint(string upstreamModel, string path, string? modelField)
    {
        var result = await DirectAsync(Job(upstreamModel, 1024, 1024));

        var image = Assert.Single(result.Images);
        Assert.Equal(Png, image.Bytes);
        Assert.Equal("image/png", image.MediaType);
        var request = Assert.Single(_stability.Requests);
        Assert.Equal(path, request.Path);
        var form = await ParseFormAsync(request);
        Assert.Equal(modelField, form.GetValueOrDefault("model"));
        Assert.Equal(modelField is null ? 3 : 4, form.Count);
    }

    [Fact]
    public async Task An_upstream_model_the_adapter_does_not_know_fails_without_a_call()
    {
        var result = await DirectAsync(Job("stable-diffusion-xl-1024-v1-0", 1024, 1024));

        Assert.Equal(FailureKind.Unavailable, result.Failure!.Kind);
        Assert.Equal(0, _stability.Count);
    }

    [Theory]
    [InlineData(0L, "0")]
    [InlineData(42L, "42")]
    [InlineData(4294967294L, "4294967294")]
    [InlineData(4294967295L, "1")]
    [InlineData(4294967296L, "2")]
    public async Task Seeds_stay_within_stabilitys_range(long seed, string sent)
    {
        await DirectAsync(Job("core", 1024, 1024) with { Seed = seed });

        Assert.Equal(sent, (await ParseFormAsync(Assert.Single(_stability.Requests)))["seed"]);
    }

    [Fact]
    public async Task A_429_failure_carries_the_retry_after()
    {
        _stability.Handler = (ctx, _) =>
        {
            ctx.Response.Headers.RetryAfter = "7";
            return FakeUpstream.Json(ctx, 429, """{"id":"x","name":"rate_limit_exceeded","errors":["slow down"]}""");
        };

        var result = await DirectAsync(Job("core", 1024, 1024));

        Assert.Equal(FailureKind.Unavailable, result.Failure!.Kind);
        Assert.Equal(429, result.Failure.UpstreamStatus);
        Assert.Equal(TimeSpan.FromSeconds(7), result.Failure.RetryAfter);
        Assert.Contains("slow down", result.Failure.Message);
    }

    [Fact]
    public async Task A_raw_image_answer_is_accepted_and_its_finish_reason_header_honoured()
    {
        var filtered = false;
        _stability.Handler = async (ctx, _) =>
        {
            ctx.Response.ContentType = "image/png";
            ctx.Response.Headers["finish-reason"] = filtered ? "CONTENT_FILTERED" : "SUCCESS";
            ctx.Response.Headers["seed"] = "99";
            await ctx.Response.Body.WriteAsync(Png);
        };

        var ok = await DirectAsync(Job("core", 1024, 1024));
        filtered = true;
        var refused = await DirectAsync(Job("core", 1024, 1024));

        Assert.Equal(Png, Assert.Single(ok.Images).Bytes);
        Assert.Equal(FailureKind.ContentPolicy, refused.Failure!.Kind);
    }

    [Fact]
    public void Adapter_facts()
    {
        var adapter = new StabilityProvider();
        IImageProvider provider = adapter;
        Assert.Equal("stability", adapter.Kind);
        Assert.Equal(1, provider.MaxImagesPerCall("core"));
        Assert.Equal(1, provider.MaxImagesPerCall("sd3.5-large"));
        Assert.Equal("STABILITY_API_KEY (or Gateway__Providers__stability__ApiKey)", adapter.HowToEnable("stability"));
        Assert.True(adapter.IsConfigured(new ProviderCredential("sk-x", null)));
        Assert.False(adapter.IsConfigured(new ProviderCredential(null, null)));
        Assert.Equal("https://api.stability.ai", StabilityProvider.DefaultBaseUrl);
    }

    [Fact]
    public async Task Without_a_key_sdxl_has_no_provider()
    {
        _gateway.Settings["Gateway:Providers:stability:ApiKey"] = "";
        _gateway.Settings["STABILITY_API_KEY"] = "";
        var (_, key) = await _gateway.CreateUserAsync("managed", 1000m);
        using var client = _gateway.ClientWithKey(key);

        var response = await client.PostJsonAsync(GeneratePath, new { prompt = "a cat", model = "stable-diffusion-xl" });

        var error = await Api.AssertErrorAsync(response, HttpStatusCode.ServiceUnavailable, "api_error", "no_provider");
        Assert.DoesNotContain("STABILITY_API_KEY", error.Str("message")); // a user is not shown the operator's settings
        using var admin = _gateway.AdminClient();
        var detailed = await Api.AssertErrorAsync(await admin.PostJsonAsync(GeneratePath, new { prompt = "a cat", model = "stable-diffusion-xl" }), HttpStatusCode.ServiceUnavailable, "api_error", "no_provider");
        Assert.Contains("STABILITY_API_KEY", detailed.Str("message"));
        Assert.Equal(0, _stability.Count);
    }

    // ---------------------------------------------------------------- helpers

    private static Task Success(HttpContext ctx, RecordedRequest _) => FakeUpstream.Json(ctx, 200,
        $$"""{"image":"{{Convert.ToBase64String(Png)}}","finish_reason":"SUCCESS","seed":1234}""");

    /// <summary>A second provider after stability on the stable-diffusion-xl route, speaking OpenAI's format.</summary>
    private async Task AddBackupProviderAsync()
    {
        _backup = await FakeUpstream.StartAsync();
        _backup.Handler = (ctx, _) => FakeUpstream.Json(ctx, 200,
            $$"""{"created":1,"data":[{"b64_json":"{{Convert.ToBase64String(Png)}}"}]}""");
        _gateway.Settings["Gateway:Providers:backup:Kind"] = "openai";
        _gateway.Settings["Gateway:Providers:backup:BaseUrl"] = _backup.BaseUrl;
        _gateway.Settings["Gateway:Providers:backup:ApiKey"] = "sk-backup-0123456789";
        _gateway.Settings["Gateway:Routes:stable-diffusion-xl:1:Provider"] = "backup";
        _gateway.Settings["Gateway:Routes:stable-diffusion-xl:1:UpstreamModel"] = "sdxl-backup";
    }

    private static async Task AssertBalanceUnchangedAsync(HttpClient client)
    {
        var credits = await client.CreditsAsync();
        Assert.Equal(1000m, credits.Dec("credits_remaining"));
        Assert.Equal(0m, credits.Dec("reserved"));
    }

    private static ImageJob Job(string upstreamModel, int width, int height) =>
        new(upstreamModel, "a test prompt", 1, width, height, $"{width}x{height}", "standard", null, null, null);

    private async Task<ProviderResult> DirectAsync(ImageJob job)
    {
        using var handler = new SocketsHttpHandler();
        var upstream = new UpstreamClient("stability", new ProviderOptions { MaxRetries = 0, TimeoutSeconds = 5 }, handler, TimeProvider.System);
        var credential = new ProviderCredential(ApiKey, _stability.BaseUrl, upstream);
        return await new StabilityProvider().GenerateAsync(job, credential, CancellationToken.None);
    }

    /// <summary>Parses the recorded multipart/form-data body; each field must appear once and be a plain text part.</summary>
    private static async Task<Dictionary<string, string>> ParseFormAsync(RecordedRequest request)
    {
        Assert.NotNull(request.ContentType);
        var type = MediaTypeHeaderValue.Parse(request.ContentType);
        Assert.Equal("multipart/form-data", type.MediaType.Value);
        var boundary = HeaderUtilities.RemoveQuotes(type.Boundary).Value;
        Assert.False(string.IsNullOrEmpty(boundary));
        var reader = new MultipartReader(boundary!, new MemoryStream(request.Body));
        var fields = new Dictionary<string, string>();
        while (await reader.ReadNextSectionAsync() is { } section)
        {
            Assert.True(ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition));
            Assert.True(disposition!.IsFormDisposition());
            Assert.False(disposition.IsFileDisposition());
            Assert.Null(section.ContentType); // plain form fields, as curl -F and python-requests send them
            var name = HeaderUtilities.RemoveQuotes(disposition.Name).Value!;
            using var text = new StreamReader(section.Body, Encoding.UTF8);
            Assert.True(fields.TryAdd(name, await text.ReadToEndAsync()), $"field '{name}' sent twice");
        }
        return fields;
    }
}
