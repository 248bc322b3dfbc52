using System.Diagnostics;
using System.Net;
using System.Text.Json;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Providers;

/// <summary>
/// The google adapter against <see cref="FakeGemini"/>: the exact generateContent request, one
/// call per image, the model's text as revised_prompt, safety blocks as final content-policy
/// refusals, Google's error bodies, slow and broken answers, BYOK. 67 credits an image at 1K
/// (standard), 101 at 2K (hd), ×1.2 for the managed tier; every failure leaves the balance as it was.
/// </summary>
public sealed class GoogleProviderTests : IAsyncLifetime
{
    private const string Model = "gemini-3.1-flash-image";
    private readonly GatewayFactory _gateway = new GatewayFactory().WithoutUpstreamKeys();
    private readonly FakeGemini _gemini = new();
    private FakeUpstream _fake = null!;

    public async Task InitializeAsync()
    {
        _fake = await FakeUpstream.StartAsync();
        _fake.Handler = _gemini.Handle;
        _gateway.UseFake("google", _fake.BaseUrl + "/v1beta", FakeGemini.PlatformKey);
    }

    public async Task DisposeAsync()
    {
        _gateway.Dispose();
        await _fake.DisposeAsync();
    }

    private RecordedRequest[] Calls => _fake.Requests.Where(r => r.Path.EndsWith(":generateContent", StringComparison.Ordinal)).ToArray();

    private static object Body(int n = 1, string size = "1024x1024", string? quality = null) => quality is null
        ? new { model = Model, prompt = "a fox in the snow", n, size, response_format = "b64_json" }
        : new { model = Model, prompt = "a fox in the snow", n, size, quality, response_format = "b64_json" };

    [Fact]
    public async Task One_image_is_one_generateContent_call_with_the_exact_body_and_the_models_text_as_revised_prompt()
    {
        var (client, _) = await _gateway.UserAsync();

        var (json, images) = await ProviderKit2026.ImagesAsync(await client.PostJsonAsync("/v1/images/generations", Body(size: "1792x1024")));

        var call = Assert.Single(Calls);
        Assert.Equal($"/v1beta/models/{Model}:generateContent", call.Path);
        Assert.Equal(FakeGemini.PlatformKey, call.Headers["x-goog-api-key"]);
        Assert.Null(call.Authorization);
        call.AssertSentWithLength();
        Assert.Equal(
            """{"contents":[{"role":"user","parts":[{"text":"a fox in the snow"}]}],"generationConfig":{"responseModalities":["TEXT","IMAGE"],"imageConfig":{"aspectRatio":"16:9"}}}""",
            call.BodyText);
        Assert.Equal(FakeGemini.Image(0), Assert.Single(images));
        Assert.Equal(_gemini.Text, json.GetProperty("data")[0].Str("revised_prompt"));
        Assert.Equal(80.4m, json.GetProperty("_metadata").Dec("cost_incurred"));
    }

    [Fact]
    public async Task N_images_are_n_calls_and_hd_asks_for_2K_at_its_price()
    {
        var (client, _) = await _gateway.UserAsync();

        var (json, images) = await ProviderKit2026.ImagesAsync(await client.PostJsonAsync("/v1/images/generations", Body(n: 3, quality: "hd")));

        Assert.Equal(3, Calls.Length);
        Assert.All(Calls, c => Assert.Contains("\"imageSize\":\"2K\"", c.BodyText));
        Assert.Equal(3, images.Length);
        Assert.Equal(3 * 101m * 1.2m, json.GetProperty("_metadata").Dec("cost_incurred"));
        Assert.Equal(1000m - 3 * 101m * 1.2m, (await client.CreditsAsync()).Dec("credits_remaining"));
    }

    [Fact]
    public async Task A_thinking_draft_is_skipped_for_the_final_image()
    {
        _gemini.Mode = "draft";
        var (client, _) = await _gateway.UserAsync();

        var (_, images) = await ProviderKit2026.ImagesAsync(await client.PostJsonAsync("/v1/images/generations", Body()));

        Assert.Equal(FakeGemini.Image(0), Assert.Single(images));
    }

    [Theory]
    [InlineData("prompt-blocked", "PROHIBITED_CONTENT")]
    [InlineData("image-safety", "IMAGE_SAFETY")]
    public async Task A_safety_block_is_a_final_400_content_policy_violation_and_charges_nothing(string mode, string reason)
    {
        _gemini.Mode = mode;
        _gateway.Settings["Gateway:Providers:google:MaxRetries"] = "2";
        var (client, userId) = await _gateway.UserAsync();

        var response = await client.PostJsonAsync("/v1/images/generations", Body());

        var error = await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "content_policy_violation");
        Assert.Contains(reason, error.Str("message"));
        Assert.Single(Calls); // never retried
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, 80.4m);
    }

    public static TheoryData<string, HttpStatusCode, string> Failures => new()
    {
        // fake mode → what the caller gets
        { "400", HttpStatusCode.BadRequest, "upstream_rejected" },
        { "403", HttpStatusCode.BadGateway, "upstream_error" },
        { "404", HttpStatusCode.BadRequest, "upstream_rejected" },
        { "429", HttpStatusCode.BadGateway, "upstream_error" },
        { "500", HttpStatusCode.BadGateway, "upstream_error" },
        { "503", HttpStatusCode.BadGateway, "upstream_error" },
        { "text-only", HttpStatusCode.BadGateway, "upstream_error" },
        { "truncated", HttpStatusCode.BadGateway, "upstream_error" },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task Each_error_and_broken_answer_maps_to_a_safe_error_and_charges_nothing(string mode, HttpStatusCode status, string code)
    {
        _gemini.Mode = mode;
        var (client, userId) = await _gateway.UserAsync();

        var response = await client.PostJsonAsync("/v1/images/generations", Body());

        await ProviderKit2026.AssertSafeErrorAsync(response, status, code, FakeGemini.PlatformKey, "\"status\":\"");
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, 80.4m);
    }

    [Fact]
    public async Task A_platform_key_google_does_not_know_is_a_502_that_names_no_key()
    {
        _gateway.Settings["Gateway:Providers:google:ApiKey"] = "AIzaSyRevokedPlatformKey000000000000000";
        var (client, userId) = await _gateway.UserAsync();

        var response = await client.PostJsonAsync("/v1/images/generations", Body());

        var error = await Api.AssertErrorAsync(response, HttpStatusCode.BadGateway, "api_error", "upstream_error");
        Assert.DoesNotContain("AIza", error.GetRawText());
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, 80.4m);
    }

    [Fact]
    public async Task A_slow_answer_past_the_timeout_is_a_504_and_charges_nothing()
    {
        _gateway.Settings["Gateway:Providers:google:TimeoutSeconds"] = "1";
        _fake.Handler = async (ctx, rec) =>
        {
            try { await Task.Delay(TimeSpan.FromSeconds(10), ctx.RequestAborted); }
            catch (OperationCanceledException) { return; }
            await _gemini.Handle(ctx, rec);
        };
        var (client, userId) = await _gateway.UserAsync();

        var clock = Stopwatch.StartNew();
        var response = await client.PostJsonAsync("/v1/images/generations", Body());

        await Api.AssertErrorAsync(response, HttpStatusCode.GatewayTimeout, "api_error", "upstream_timeout");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, 80.4m);
    }

    [Fact]
    public async Task Byok_uses_the_callers_key_and_the_key_test_proves_google_checks_it()
    {
        const string UserKey = "AIzaSyCallersOwnKey11111111111111111111";
        _gemini.Keys.Add(UserKey);

        await ProviderKit2026.AssertByokAsync(_gateway, "google", UserKey, Body(), () => _fake.Requests,
            call => call.Headers.GetValueOrDefault("x-goog-api-key") == UserKey);
    }

    [Fact]
    public async Task A_key_google_refuses_fails_the_key_test()
    {
        var (client, _) = await _gateway.UserAsync();
        (await client.PostJsonAsync("/api/v1/llm/byok/keys", new { provider = "google", api_key = "AIzaSyUnknownKey2222222222222222222222" })).EnsureSuccessStatusCode();

        var test = await (await client.PostAsync("/api/v1/llm/byok/keys/google/test", null)).OkJsonAsync();

        Assert.False(test.GetProperty("ok").GetBoolean());
        Assert.Equal(400, test.GetProperty("status").GetInt32());
        Assert.Contains("rejected the key", test.Str("message"));
    }
}
