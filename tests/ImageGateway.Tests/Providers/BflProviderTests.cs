using System.Diagnostics;
using System.Net;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Providers;

/// <summary>
/// The bfl adapter against <see cref="FakeBfl"/>: create, poll with back-off, download the signed
/// sample without the key, moderation as content-policy refusals, polling timeouts, expired,
/// foreign and cut-off results, BFL's error bodies, BYOK. flux-2-pro is priced per megapixel
/// (30 credits the first, 15 each further, rounded up), ×1.2 for the managed tier.
/// </summary>
public sealed class BflProviderTests : IAsyncLifetime
{
    private readonly GatewayFactory _gateway = new GatewayFactory().WithoutUpstreamKeys();
    private readonly FakeBfl _bfl = new();
    private FakeUpstream _fake = null!;
    private FakeUpstream _foreign = null!;

    public async Task InitializeAsync()
    {
        _fake = await FakeUpstream.StartAsync();
        _foreign = await FakeUpstream.StartAsync();
        _bfl.BaseUrl = _fake.BaseUrl;
        _bfl.ForeignHost = _foreign.BaseUrl;
        _fake.Handler = _bfl.Handle;
        _foreign.Handler = _bfl.Handle;
        _gateway.UseFake("bfl", _fake.BaseUrl, FakeBfl.PlatformKey);
    }

    public async Task DisposeAsync()
    {
        _gateway.Dispose();
        await _fake.DisposeAsync();
        await _foreign.DisposeAsync();
    }

    private RecordedRequest[] Creates => _fake.Requests.Where(r => r.Method == "POST").ToArray();

    private static object Body(int n = 1, string size = "1024x1024", string model = "flux-2-pro") =>
        new { model, prompt = "a fox in the snow", n, size, response_format = "b64_json" };

    [Fact]
    public async Task A_job_is_created_polled_until_ready_and_its_sample_downloaded_without_the_key()
    {
        var (client, _) = await _gateway.UserAsync();

        var (json, images) = await ProviderKit2026.ImagesAsync(await client.PostJsonAsync("/v1/images/generations", Body()));

        var create = Assert.Single(Creates);
        Assert.Equal("/v1/flux-2-pro", create.Path);
        Assert.Equal(FakeBfl.PlatformKey, create.Headers["x-key"]);
        create.AssertSentWithLength();
        Assert.Equal("""{"prompt":"a fox in the snow","width":1024,"height":1024,"output_format":"png"}""", create.BodyText);
        var polls = _fake.Requests.Where(r => r.Path.StartsWith("/v1/get_result", StringComparison.Ordinal)).ToArray();
        Assert.Equal(3, polls.Length); // Pending twice, then Ready
        Assert.All(polls, p => Assert.Equal(FakeBfl.PlatformKey, p.Headers["x-key"]));
        var download = Assert.Single(_fake.Requests, r => r.Path.StartsWith("/delivery/", StringComparison.Ordinal));
        Assert.False(download.Headers.ContainsKey("x-key"));
        Assert.Equal(FakeBfl.Image(0), Assert.Single(images));
        var meta = json.GetProperty("_metadata");
        Assert.Equal(36m, meta.Dec("cost_incurred"));
        Assert.Equal(0.03m, meta.Dec("upstream_cost_usd")); // the create's cost: 3 credits, a cent each
    }

    [Fact]
    public async Task The_admin_usage_view_shows_the_margin_per_model_where_the_upstream_reported_its_cost()
    {
        var (client, _) = await _gateway.UserAsync();
        await ProviderKit2026.ImagesAsync(await client.PostJsonAsync("/v1/images/generations", Body(n: 2)));
        await ProviderKit2026.ImagesAsync(await client.PostJsonAsync("/v1/images/generations", new { model = "builtin-preview", prompt = "x", response_format = "b64_json" }));

        using var admin = _gateway.AdminClient();
        var usage = await (await admin.GetAsync("/api/v1/admin/usage")).OkJsonAsync();
        Assert.True(usage.TryGetProperty("margins", out _), usage.GetRawText());

        // 72 credits at $0.001 paid for two jobs BFL said cost 3 credits ($0.03) each; builtin reports no cost.
        var margin = Assert.Single(usage.GetProperty("margins").EnumerateArray());
        Assert.Equal("flux-2-pro", margin.Str("model"));
        Assert.Equal(1, margin.GetProperty("priced_requests").GetInt64());
        Assert.Equal(0.072m, margin.Dec("revenue_usd"));
        Assert.Equal(0.06m, margin.Dec("upstream_cost_usd"));
        Assert.Equal(0.012m, margin.Dec("margin_usd"));
        Assert.False((await (await client.GetAsync("/api/v1/llm/usage")).OkJsonAsync()).TryGetProperty("margins", out _)); // operators only
    }

    [Theory]
    [InlineData("1024x1024", 1, 36)]     // 1 MP
    [InlineData("1536x1024", 1, 54)]     // 1.5 MP → 2
    [InlineData("2048x2048", 2, 180)]    // 4 MP: 30 + 3 × 15 = 75 an image
    public async Task N_images_are_n_jobs_priced_per_megapixel(string size, int n, decimal charged)
    {
        var (client, _) = await _gateway.UserAsync();

        var (json, images) = await ProviderKit2026.ImagesAsync(await client.PostJsonAsync("/v1/images/generations", Body(n, size)));

        Assert.Equal(n, Creates.Length);
        Assert.Equal(n, images.Length);
        Assert.Equal(charged, json.GetProperty("_metadata").Dec("cost_incurred"));
        Assert.Equal(1000m - charged, (await client.CreditsAsync()).Dec("credits_remaining"));
    }

    [Theory]
    [InlineData("Request Moderated")]
    [InlineData("Content Moderated")]
    public async Task Moderation_is_a_final_400_content_policy_violation_and_charges_nothing(string mode)
    {
        _bfl.Mode = mode;
        var (client, userId) = await _gateway.UserAsync();

        var response = await client.PostJsonAsync("/v1/images/generations", Body());

        var error = await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "content_policy_violation");
        Assert.Contains(mode, error.Str("message"));
        Assert.Single(Creates);
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, 36m);
    }

    public static TheoryData<string, HttpStatusCode, string> Failures => new()
    {
        { "402", HttpStatusCode.BadGateway, "upstream_error" },      // the platform account is out of credits
        { "422", HttpStatusCode.BadRequest, "upstream_rejected" },
        { "429", HttpStatusCode.BadGateway, "upstream_error" },
        { "500", HttpStatusCode.BadGateway, "upstream_error" },
        { "Error", HttpStatusCode.BadGateway, "upstream_error" },    // the job failed (422 with the job's body)
        { "Task not found", HttpStatusCode.BadGateway, "upstream_error" },
        { "expired", HttpStatusCode.BadGateway, "upstream_error" },  // the signed sample answers 403
        { "truncated", HttpStatusCode.BadGateway, "upstream_error" },
        { "foreign", HttpStatusCode.BadGateway, "upstream_error" },  // a sample on a host BFL does not serve from
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task Each_failure_maps_to_a_safe_error_and_charges_nothing(string mode, HttpStatusCode status, string code)
    {
        _bfl.Mode = mode;
        var (client, userId) = await _gateway.UserAsync();

        var response = await client.PostJsonAsync("/v1/images/generations", Body());

        await ProviderKit2026.AssertSafeErrorAsync(response, status, code, FakeBfl.PlatformKey, "\"detail\":[");
        if (mode == "foreign") Assert.Equal(0, _foreign.Count); // refused unread
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, 36m);
    }

    [Fact]
    public async Task A_job_still_pending_at_the_timeout_is_a_504_and_charges_nothing()
    {
        _bfl.Mode = "never";
        _gateway.Settings["Gateway:Providers:bfl:TimeoutSeconds"] = "1";
        var (client, userId) = await _gateway.UserAsync();

        var clock = Stopwatch.StartNew();
        var response = await client.PostJsonAsync("/v1/images/generations", Body());

        await Api.AssertErrorAsync(response, HttpStatusCode.GatewayTimeout, "api_error", "upstream_timeout");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), $"took {clock.Elapsed}");
        var polls = _fake.Requests.Count(r => r.Path.StartsWith("/v1/get_result", StringComparison.Ordinal));
        Assert.InRange(polls, 5, 60); // polled with back-off (20 ms growing to 50 ms), not in a tight loop
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, 36m);
    }

    [Fact]
    public async Task A_request_the_caller_abandons_stops_polling_and_releases_the_hold()
    {
        _bfl.Mode = "never";
        var (client, _) = await _gateway.UserAsync();
        int Polls() => _fake.Requests.Count(r => r.Path.StartsWith("/v1/get_result", StringComparison.Ordinal));

        var request = client.PostJsonAsync("/v1/images/generations", Body());
        var waited = Stopwatch.StartNew();
        while (Polls() == 0 && waited.Elapsed < TimeSpan.FromSeconds(5)) await Task.Delay(20);
        client.CancelPendingRequests();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);

        waited.Restart();
        while ((await client.CreditsAsync()).Dec("reserved") != 0m && waited.Elapsed < TimeSpan.FromSeconds(5)) await Task.Delay(50);
        var credits = await client.CreditsAsync();
        Assert.Equal(0m, credits.Dec("reserved"));
        Assert.Equal(1000m, credits.Dec("credits_remaining"));
        var stopped = Polls();
        await Task.Delay(300);
        Assert.Equal(stopped, Polls()); // BFL has no cancel: the job is left, and no longer polled
    }

    [Fact]
    public async Task A_key_bfl_does_not_know_is_a_502_naming_no_key()
    {
        _gateway.Settings["Gateway:Providers:bfl:ApiKey"] = "bfl-revoked-key-000000000000000";
        var (client, userId) = await _gateway.UserAsync();

        var response = await client.PostJsonAsync("/v1/images/generations", Body());

        var error = await Api.AssertErrorAsync(response, HttpStatusCode.BadGateway, "api_error", "upstream_error");
        Assert.DoesNotContain("bfl-revoked", error.GetRawText());
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, 36m);
    }

    [Fact]
    public async Task Byok_uses_the_callers_key_and_the_key_test_proves_bfl_checks_it()
    {
        const string UserKey = "bfl-callers-own-key-1111111111111111";
        _bfl.Keys.Add(UserKey);

        await ProviderKit2026.AssertByokAsync(_gateway, "bfl", UserKey, Body(), () => _fake.Requests.Where(r => !r.Path.StartsWith("/delivery/", StringComparison.Ordinal)),
            call => call.Headers.GetValueOrDefault("x-key") == UserKey);
    }
}
