using System.Net;
using System.Text.Json;
using ImageGateway.Billing;
using ImageGateway.Tests.Http;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Providers;

/// <summary>
/// Routing across providers (DESIGN §4): fallback order, keyless providers skipped, 503 no_provider,
/// the circuit breaker opening and closing, content-policy finality, n fan-out with partial success
/// and its exact charge, bounded parallelism, and GET /api/v1/admin/providers.
/// </summary>
public sealed class RoutingTests : IAsyncLifetime
{
    // Routing is tested on dall-e-3 served as itself: one image per call, so n fans out.
    private readonly GatewayFactory _gateway = new GatewayFactory().WithoutUpstreamKeys().ServeAsItself();
    private FakeUpstream _first = null!;
    private FakeUpstream _second = null!;

    public async Task InitializeAsync()
    {
        _first = await FakeUpstream.StartAsync();
        _second = await FakeUpstream.StartAsync();
    }

    public async Task DisposeAsync()
    {
        _gateway.Dispose();
        await _first.DisposeAsync();
        await _second.DisposeAsync();
    }

    private async Task<(HttpClient Client, string UserId)> UserAsync(decimal credits = 1000m)
    {
        var (userId, key) = await _gateway.CreateUserAsync("managed", credits);
        return (_gateway.ClientWithKey(key), userId);
    }

    /// <summary>dall-e-3 → openai (first fake) then openai2 (second fake, its own key).</summary>
    private void TwoProviders(int maxRetries = 1, double timeoutSeconds = 5, int circuitMinimumThroughput = 1000,
        double circuitSamplingSeconds = 30, double circuitBreakSeconds = 30)
    {
        _gateway.UseOpenAi("openai", _first, maxRetries: maxRetries, timeoutSeconds: timeoutSeconds,
            circuitMinimumThroughput: circuitMinimumThroughput, circuitSamplingSeconds: circuitSamplingSeconds,
            circuitBreakSeconds: circuitBreakSeconds);
        _gateway.UseOpenAi("openai2", _second, apiKey: OpenAiKit.SecondKey, maxRetries: 0);
        _gateway.SecondStep("dall-e-3", "openai2", "dall-e-3");
    }

    private static JsonElement Provider(JsonElement list, string name) =>
        list.GetProperty("data").EnumerateArray().Single(p => p.Str("name") == name);

    private async Task<(JsonElement Json, string Text)> AdminProvidersAsync()
    {
        using var admin = _gateway.AdminClient();
        var response = await admin.GetAsync("/api/v1/admin/providers");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return (JsonDocument.Parse(text).RootElement.Clone(), text);
    }

    // ---------------------------------------------------------------- fallback order

    [Fact]
    public async Task First_provider_503_falls_back_to_the_second_which_is_named_in_metadata()
    {
        TwoProviders(maxRetries: 1);
        _first.Handler = (ctx, _) => OpenAiKit.Error(ctx, 503, OpenAiKit.OverloadedBody);
        _second.Handler = OpenAiKit.Success;
        var (client, userId) = await UserAsync();

        var (response, text) = await client.GenerateAsync(OpenAiKit.DallE3());

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.Equal(2, _first.GenerationCount()); // 1 + MaxRetries, before moving on
        var served = Assert.Single(_second.Generations());
        Assert.Equal("Bearer " + OpenAiKit.SecondKey, served.Authorization); // each provider its own key
        Assert.All(_first.Generations(), r => Assert.Equal("Bearer " + OpenAiKit.PlatformKey, r.Authorization));
        Assert.Equal("dall-e-3", served.BodyJson().Str("model"));
        var meta = JsonDocument.Parse(text).RootElement.GetProperty("_metadata");
        Assert.Equal("openai2", meta.Str("provider_used"));
        Assert.Equal("dall-e-3", meta.Str("model_used"));
        Assert.Equal(48m, meta.Dec("cost_incurred"));
        Assert.Equal(952m, (await client.CreditsAsync()).Dec("credits_remaining"));
        Assert.Equal(["settle", "reserve", "grant"], (await client.HistoryAsync()).Transactions().Select(t => t.Str("type")!).ToArray());
        Assert.Empty(await _gateway.Service<CreditLedger>().VerifyAsync(userId));
    }

    [Fact]
    public async Task First_provider_that_serves_is_used_and_the_second_is_never_called()
    {
        TwoProviders();
        _first.Handler = OpenAiKit.Success;
        _second.Handler = OpenAiKit.Success;
        var (client, _) = await UserAsync();

        var (response, text) = await client.GenerateAsync(OpenAiKit.DallE3());

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.Equal("openai", JsonDocument.Parse(text).RootElement.GetProperty("_metadata").Str("provider_used"));
        Assert.Equal(1, _first.GenerationCount());
        Assert.Equal(0, _second.GenerationCount());
    }

    [Theory]
    [InlineData("timeout")]
    [InlineData("dropped")]
    [InlineData("429")]
    [InlineData("500")]
    [InlineData("401")]
    [InlineData("insufficient_quota")]
    [InlineData("malformed")]
    [InlineData("not an image")]
    public async Task Failures_that_another_provider_might_not_have_move_on_to_the_next(string failure)
    {
        TwoProviders(maxRetries: 0, timeoutSeconds: 1);
        _first.Handler = failure switch
        {
            "timeout" => async (ctx, _) => { try { await Task.Delay(15_000, ctx.RequestAborted); } catch (OperationCanceledException) { } },
            "dropped" => (ctx, _) => { ctx.Abort(); return Task.CompletedTask; },
            "429" => (ctx, _) => OpenAiKit.Error(ctx, 429, OpenAiKit.RateLimitBody),
            "500" => (ctx, _) => OpenAiKit.Error(ctx, 500, OpenAiKit.ServerErrorBody),
            "401" => (ctx, _) => OpenAiKit.Error(ctx, 401, OpenAiKit.InvalidKeyBody),
            "insufficient_quota" => (ctx, _) => OpenAiKit.Error(ctx, 429, OpenAiKit.InsufficientQuotaBody),
            "malformed" => (ctx, _) => FakeUpstream.Json(ctx, 200, """{"data":[{"b64_json":"""),
            _ => (ctx, _) => FakeUpstream.Json(ctx, 200, """{"created":1,"data":[{"b64_json":"aGVsbG8gd29ybGQ="}]}"""),
        };
        _second.Handler = OpenAiKit.Success;
        var (client, _) = await UserAsync();

        var (response, text) = await client.GenerateAsync(OpenAiKit.DallE3());

        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{failure}: {text}");
        OpenAiKit.AssertNoSecrets(text);
        Assert.Equal("openai2", JsonDocument.Parse(text).RootElement.GetProperty("_metadata").Str("provider_used"));
        Assert.Equal(1, _first.GenerationCount());
        Assert.Equal(1, _second.GenerationCount());
        Assert.Equal(952m, (await client.CreditsAsync()).Dec("credits_remaining"));
    }

    [Fact]
    public async Task Every_provider_failing_is_502_after_trying_each_in_order_and_charges_nothing()
    {
        TwoProviders(maxRetries: 1);
        var order = new System.Collections.Concurrent.ConcurrentQueue<string>();
        _first.Handler = (ctx, _) => { order.Enqueue("openai"); return OpenAiKit.Error(ctx, 503, OpenAiKit.OverloadedBody); };
        _second.Handler = (ctx, _) => { order.Enqueue("openai2"); return OpenAiKit.Error(ctx, 500, OpenAiKit.ServerErrorBody); };
        var (client, userId) = await UserAsync();

        var response = await client.PostJsonAsync(OpenAiKit.GeneratePath, OpenAiKit.DallE3());

        await Api.AssertErrorAsync(response, HttpStatusCode.BadGateway, "api_error", "upstream_error");
        Assert.Equal(["openai", "openai", "openai2"], order.ToArray());
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, 48m);
    }

    // ---------------------------------------------------------------- finality

    [Fact]
    public async Task Content_policy_refusal_is_final_and_never_tried_on_the_next_provider()
    {
        TwoProviders(maxRetries: 2);
        _first.Handler = (ctx, _) => OpenAiKit.Error(ctx, 400, OpenAiKit.ContentPolicyBody);
        _second.Handler = OpenAiKit.Success;
        var (client, userId) = await UserAsync();

        var response = await client.PostJsonAsync(OpenAiKit.GeneratePath, OpenAiKit.DallE3());

        await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "content_policy_violation");
        Assert.Equal(1, _first.GenerationCount());
        Assert.Equal(0, _second.GenerationCount());
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, 48m);
    }

    [Fact]
    public async Task Content_policy_refusal_in_a_fan_out_with_no_images_is_final()
    {
        TwoProviders(maxRetries: 2);
        _first.Handler = (ctx, _) => OpenAiKit.Error(ctx, 400, OpenAiKit.ContentPolicyBody);
        _second.Handler = OpenAiKit.Success;
        var (client, userId) = await UserAsync();

        var response = await client.PostJsonAsync(OpenAiKit.GeneratePath, OpenAiKit.DallE3(n: 3));

        await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "content_policy_violation");
        Assert.Equal(3, _first.GenerationCount());
        Assert.Equal(0, _second.GenerationCount());
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, 144m);
    }

    // ---------------------------------------------------------------- configured or not

    [Fact]
    public async Task A_provider_without_a_key_is_skipped()
    {
        _gateway.UseOpenAi("openai", _first, apiKey: null);
        _gateway.UseOpenAi("openai2", _second, apiKey: OpenAiKit.SecondKey);
        _gateway.SecondStep("dall-e-3", "openai2", "dall-e-3");
        _first.Handler = OpenAiKit.Success;
        _second.Handler = OpenAiKit.Success;
        var (client, _) = await UserAsync();

        var (response, text) = await client.GenerateAsync(OpenAiKit.DallE3());

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.Equal("openai2", JsonDocument.Parse(text).RootElement.GetProperty("_metadata").Str("provider_used"));
        Assert.Equal(0, _first.Count);
        Assert.Equal(1, _second.GenerationCount());

        var (providers, _) = await AdminProvidersAsync();
        Assert.False(Provider(providers, "openai").GetProperty("configured").GetBoolean());
        Assert.True(Provider(providers, "openai2").GetProperty("configured").GetBoolean());
    }

    [Theory]
    [InlineData("dall-e-3", "1024x1024")]
    [InlineData("dall-e-2", "512x512")]
    [InlineData("gpt-image-1", "1024x1024")]
    public async Task No_usable_provider_is_503_no_provider_naming_OPENAI_API_KEY_and_reserves_nothing(string model, string size)
    {
        _gateway.UseOpenAi("openai", _first, apiKey: null);
        var (client, userId) = await UserAsync();

        var response = await client.PostJsonAsync(OpenAiKit.GeneratePath, new { model, prompt = "a cat", size });

        var error = await Api.AssertErrorAsync(response, HttpStatusCode.ServiceUnavailable, "api_error", "no_provider");
        Assert.Equal($"{model} is not available here right now.", error.Str("message"));
        Assert.DoesNotContain("OPENAI_API_KEY", error.Str("message")); // a user is not shown the operator's settings
        using var admin = _gateway.AdminClient();
        var detailed = await Api.AssertErrorAsync(await admin.PostJsonAsync(OpenAiKit.GeneratePath, new { model, prompt = "a cat", size }), HttpStatusCode.ServiceUnavailable, "api_error", "no_provider");
        Assert.Contains("OPENAI_API_KEY", detailed.Str("message"));
        Assert.Contains(model, error.Str("message"));
        Assert.Equal("false", response.Headers.GetValues("x-should-retry").Single());
        Assert.Equal(0, _first.Count);
        Assert.Equal(1000m, (await client.CreditsAsync()).Dec("credits_remaining"));
        Assert.Equal(["grant"], (await client.HistoryAsync()).Transactions().Select(t => t.Str("type")!).ToArray());
        Assert.Empty(await _gateway.Service<CreditLedger>().VerifyAsync(userId));
    }

    [Fact]
    public async Task The_OPENAI_API_KEY_shorthand_enables_the_openai_provider()
    {
        _gateway.UseOpenAi("openai", _first, apiKey: null);
        _gateway.Settings["OPENAI_API_KEY"] = OpenAiKit.PlatformKey;
        _first.Handler = OpenAiKit.Success;
        var (client, _) = await UserAsync();

        var (response, text) = await client.GenerateAsync(OpenAiKit.DallE3());

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.Equal("Bearer " + OpenAiKit.PlatformKey, Assert.Single(_first.Generations()).Authorization);
    }

    [Fact]
    public async Task Admin_providers_lists_configured_and_unconfigured_providers_without_keys()
    {
        TwoProviders();
        var (providers, text) = await AdminProvidersAsync();

        OpenAiKit.AssertNoSecrets(text);
        var openai = Provider(providers, "openai");
        Assert.Equal("openai", openai.Str("kind"));
        Assert.True(openai.GetProperty("configured").GetBoolean());
        Assert.Equal(_first.BaseUrl + "/v1", openai.Str("base_url"));
        Assert.Equal("closed", openai.Str("circuit"));
        Assert.Equal(0, openai.GetProperty("recent_failures").GetArrayLength());
        var openai2 = Provider(providers, "openai2");
        Assert.Equal("openai", openai2.Str("kind"));
        Assert.True(openai2.GetProperty("configured").GetBoolean());
        Assert.False(Provider(providers, "openrouter").GetProperty("configured").GetBoolean());
        Assert.False(Provider(providers, "stability").GetProperty("configured").GetBoolean());
        Assert.True(Provider(providers, "builtin").GetProperty("configured").GetBoolean());
        foreach (var p in providers.GetProperty("data").EnumerateArray())
        {
            Assert.False(p.TryGetProperty("api_key", out _));
            Assert.Contains(p.Str("circuit"), new[] { "closed", "open", "half_open", "isolated" });
        }

        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var user = _gateway.ClientWithKey(key);
        Assert.Equal(HttpStatusCode.Forbidden, (await user.GetAsync("/api/v1/admin/providers")).StatusCode);
    }

    // ---------------------------------------------------------------- circuit breaker

    [Fact]
    public async Task Circuit_opens_after_repeated_failures_skips_the_provider_then_closes_after_the_break()
    {
        TwoProviders(maxRetries: 0, circuitMinimumThroughput: 2, circuitSamplingSeconds: 10, circuitBreakSeconds: 1);
        var firstHealthy = false;
        _first.Handler = (ctx, req) => Volatile.Read(ref firstHealthy)
            ? OpenAiKit.Success(ctx, req)
            : OpenAiKit.Error(ctx, 503, OpenAiKit.OverloadedBody);
        _second.Handler = OpenAiKit.Success;
        var (client, userId) = await UserAsync();

        // Two failures out of two calls in the window: the circuit opens.
        for (var i = 0; i < 2; i++)
        {
            var (r, t) = await client.GenerateAsync(OpenAiKit.DallE3());
            Assert.True(r.StatusCode == HttpStatusCode.OK, t);
            Assert.Equal("openai2", JsonDocument.Parse(t).RootElement.GetProperty("_metadata").Str("provider_used"));
        }
        Assert.Equal(2, _first.GenerationCount());

        var (providers, text) = await AdminProvidersAsync();
        OpenAiKit.AssertNoSecrets(text);
        var openai = Provider(providers, "openai");
        Assert.Equal("open", openai.Str("circuit"));
        var failures = openai.GetProperty("recent_failures").EnumerateArray().ToArray();
        Assert.True(failures.Length >= 2, text);
        Assert.All(failures, f => Assert.Contains("503", f.Str("reason")));
        Assert.All(failures, f => Assert.True(f.GetProperty("at").GetInt64() > 0));
        Assert.Equal("closed", Provider(providers, "openai2").Str("circuit"));

        // While open, the first provider receives no calls at all, even once it is healthy again.
        Volatile.Write(ref firstHealthy, true);
        for (var i = 0; i < 2; i++)
        {
            var (r, t) = await client.GenerateAsync(OpenAiKit.DallE3());
            Assert.True(r.StatusCode == HttpStatusCode.OK, t);
            Assert.Equal("openai2", JsonDocument.Parse(t).RootElement.GetProperty("_metadata").Str("provider_used"));
        }
        Assert.Equal(2, _first.GenerationCount());

        // After the break, one trial call goes through; it succeeds and the circuit closes.
        _gateway.Time.Advance(TimeSpan.FromSeconds(1.4));
        var (after, afterText) = await client.GenerateAsync(OpenAiKit.DallE3());
        Assert.True(after.StatusCode == HttpStatusCode.OK, afterText);
        Assert.Equal("openai", JsonDocument.Parse(afterText).RootElement.GetProperty("_metadata").Str("provider_used"));
        Assert.Equal(3, _first.GenerationCount());
        Assert.Equal("closed", Provider((await AdminProvidersAsync()).Json, "openai").Str("circuit"));

        var (again, againText) = await client.GenerateAsync(OpenAiKit.DallE3());
        Assert.True(again.StatusCode == HttpStatusCode.OK, againText);
        Assert.Equal("openai", JsonDocument.Parse(againText).RootElement.GetProperty("_metadata").Str("provider_used"));

        // Six served requests, six charges of 48.
        Assert.Equal(1000m - 6 * 48m, (await client.CreditsAsync()).Dec("credits_remaining"));
        Assert.Empty(await _gateway.Service<CreditLedger>().VerifyAsync(userId));
    }

    [Fact]
    public async Task Open_circuit_with_no_other_provider_is_502_and_charges_nothing_and_reopens_on_a_failed_trial()
    {
        _gateway.UseOpenAi("openai", _first, maxRetries: 0, circuitMinimumThroughput: 2, circuitSamplingSeconds: 10, circuitBreakSeconds: 1);
        _first.Handler = (ctx, _) => OpenAiKit.Error(ctx, 500, OpenAiKit.ServerErrorBody);
        var (client, userId) = await UserAsync();

        for (var i = 0; i < 2; i++)
            await Api.AssertErrorAsync(await client.PostJsonAsync(OpenAiKit.GeneratePath, OpenAiKit.DallE3()),
                HttpStatusCode.BadGateway, "api_error", "upstream_error");
        Assert.Equal(2, _first.GenerationCount());

        var response = await client.PostJsonAsync(OpenAiKit.GeneratePath, OpenAiKit.DallE3());
        var error = await Api.AssertErrorAsync(response, HttpStatusCode.BadGateway, "api_error", "upstream_error");
        Assert.DoesNotContain("circuit", error.Str("message")); // the circuit is the operator's business (/admin/providers)
        Assert.Contains("could not make the images right now", error.Str("message"));
        Assert.Equal(2, _first.GenerationCount());
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, 48m);

        // The trial call after the break fails: the circuit opens again at once.
        _gateway.Time.Advance(TimeSpan.FromSeconds(1.4));
        await Api.AssertErrorAsync(await client.PostJsonAsync(OpenAiKit.GeneratePath, OpenAiKit.DallE3()),
            HttpStatusCode.BadGateway, "api_error", "upstream_error");
        Assert.Equal(3, _first.GenerationCount());
        Assert.Equal("open", Provider((await AdminProvidersAsync()).Json, "openai").Str("circuit"));
        await Api.AssertErrorAsync(await client.PostJsonAsync(OpenAiKit.GeneratePath, OpenAiKit.DallE3()),
            HttpStatusCode.BadGateway, "api_error", "upstream_error");
        Assert.Equal(3, _first.GenerationCount());
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, 48m);
    }

    [Fact]
    public async Task Timeouts_count_towards_opening_the_circuit()
    {
        TwoProviders(maxRetries: 0, timeoutSeconds: 0.5, circuitMinimumThroughput: 2, circuitSamplingSeconds: 10, circuitBreakSeconds: 30);
        _first.Handler = async (ctx, _) => { try { await Task.Delay(15_000, ctx.RequestAborted); } catch (OperationCanceledException) { } };
        _second.Handler = OpenAiKit.Success;
        var (client, _) = await UserAsync();

        for (var i = 0; i < 3; i++)
        {
            var (r, t) = await client.GenerateAsync(OpenAiKit.DallE3());
            Assert.True(r.StatusCode == HttpStatusCode.OK, t);
        }

        Assert.Equal(2, _first.GenerationCount());
        var openai = Provider((await AdminProvidersAsync()).Json, "openai");
        Assert.Equal("open", openai.Str("circuit"));
        Assert.Contains(openai.GetProperty("recent_failures").EnumerateArray(), f => f.Str("reason") == "timeout");
    }

    // ---------------------------------------------------------------- n fan-out

    [Fact]
    public async Task Fan_out_partial_success_returns_three_of_four_and_charges_exactly_three()
    {
        TwoProviders(maxRetries: 2);
        var served = 0;
        // The first three calls to arrive succeed; every other call (and its retries) fails.
        _first.Handler = (ctx, req) => Interlocked.Increment(ref served) <= 3
            ? OpenAiKit.Success(ctx, req)
            : OpenAiKit.Error(ctx, 500, OpenAiKit.ServerErrorBody);
        _second.Handler = OpenAiKit.Success;
        var (client, userId) = await UserAsync();

        var (response, text) = await client.GenerateAsync(OpenAiKit.DallE3(n: 4));

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var json = JsonDocument.Parse(text).RootElement;
        Assert.Equal(3, json.GetProperty("data").GetArrayLength());
        var meta = json.GetProperty("_metadata");
        Assert.Equal(3, meta.GetProperty("images_generated").GetInt32());
        Assert.Equal("openai", meta.Str("provider_used"));
        Assert.Equal(144m, meta.Dec("cost_incurred")); // 3 × 48
        Assert.Equal(856m, meta.Dec("credits_remaining"));
        Assert.Equal(4 + 2, _first.GenerationCount()); // four calls, the failing one retried twice
        Assert.All(_first.Generations(), r => Assert.Equal(1, r.BodyJson().GetProperty("n").GetInt32()));
        Assert.Equal(0, _second.GenerationCount()); // a partial success is a success

        var credits = await client.CreditsAsync();
        Assert.Equal(856m, credits.Dec("credits_remaining"));
        Assert.Equal(0m, credits.Dec("reserved"));
        var tx = (await client.HistoryAsync()).Transactions();
        Assert.Equal(["settle", "reserve", "grant"], tx.Select(t => t.Str("type")!).ToArray());
        Assert.Equal(192m, tx[1].Dec("hold")); // 4 × 48 reserved
        Assert.Equal(-144m, tx[0].Dec("amount")); // 3 × 48 charged
        Assert.Equal(-192m, tx[0].Dec("hold")); // the whole hold closed: 48 released
        Assert.Equal(meta.Str("transaction_id"), tx[0].Str("id"));
        Assert.Empty(await _gateway.Service<CreditLedger>().VerifyAsync(userId));
    }

    [Fact]
    public async Task Fan_out_that_fails_entirely_on_the_first_provider_is_served_by_the_second()
    {
        TwoProviders(maxRetries: 0);
        _first.Handler = (ctx, _) => OpenAiKit.Error(ctx, 503, OpenAiKit.OverloadedBody);
        _second.Handler = OpenAiKit.Success;
        var (client, _) = await UserAsync();

        var (response, text) = await client.GenerateAsync(OpenAiKit.DallE3(n: 4));

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var meta = JsonDocument.Parse(text).RootElement.GetProperty("_metadata");
        Assert.Equal("openai2", meta.Str("provider_used"));
        Assert.Equal(4, meta.GetProperty("images_generated").GetInt32());
        Assert.Equal(192m, meta.Dec("cost_incurred"));
        Assert.Equal(4, _first.GenerationCount());
        Assert.Equal(4, _second.GenerationCount());
    }

    [Theory]
    [InlineData(2, 6)]
    [InlineData(3, 10)]
    public async Task Fan_out_parallelism_is_bounded_by_MaxParallelCalls(int maxParallel, int n)
    {
        _gateway.UseOpenAi("openai", _first, maxParallelCalls: maxParallel);
        var inFlight = 0;
        var maxInFlight = 0;
        _first.Handler = async (ctx, req) =>
        {
            var now = Interlocked.Increment(ref inFlight);
            int seen;
            while ((seen = Volatile.Read(ref maxInFlight)) < now && Interlocked.CompareExchange(ref maxInFlight, now, seen) != seen) { }
            try { await Task.Delay(250); }
            finally { Interlocked.Decrement(ref inFlight); }
            await OpenAiKit.Success(ctx, req);
        };
        var (client, _) = await UserAsync();

        var (response, text) = await client.GenerateAsync(OpenAiKit.DallE3(n: n));

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.Equal(n, JsonDocument.Parse(text).RootElement.GetProperty("data").GetArrayLength());
        Assert.Equal(n, _first.GenerationCount());
        Assert.True(maxInFlight <= maxParallel, $"{maxInFlight} calls in flight, limit {maxParallel}");
        Assert.True(maxInFlight == maxParallel, $"expected the calls to run {maxParallel} at a time, saw at most {maxInFlight}");
    }

    [Fact]
    public async Task Fan_out_images_from_every_call_are_all_returned_in_the_response()
    {
        _gateway.UseOpenAi("openai", _first);
        var call = 0;
        _first.Handler = (ctx, _) =>
        {
            var i = Interlocked.Increment(ref call);
            return FakeUpstream.Json(ctx, 200, JsonSerializer.Serialize(new
            {
                created = 1713833628,
                data = new[] { new { b64_json = Convert.ToBase64String(OpenAiKit.ImageBytes(i)), revised_prompt = $"revised {i}" } },
            }));
        };
        var (client, _) = await UserAsync();

        var (response, text) = await client.GenerateAsync(OpenAiKit.DallE3(n: 3));

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var data = JsonDocument.Parse(text).RootElement.GetProperty("data").EnumerateArray().ToArray();
        Assert.Equal(
            new[] { "revised 1", "revised 2", "revised 3" },
            data.Select(d => d.Str("revised_prompt")).OrderBy(s => s, StringComparer.Ordinal).ToArray());
        var expected = Enumerable.Range(1, 3).Select(i => Convert.ToBase64String(OpenAiKit.ImageBytes(i))).OrderBy(s => s, StringComparer.Ordinal);
        Assert.Equal(expected, data.Select(d => d.Str("b64_json")!).OrderBy(s => s, StringComparer.Ordinal));
    }
}
