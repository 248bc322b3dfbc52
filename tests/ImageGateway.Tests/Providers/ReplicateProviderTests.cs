using System.Diagnostics;
using System.Net;
using System.Text.Json;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Providers;

/// <summary>
/// The replicate adapter against <see cref="FakeReplicate"/>: a prediction created with
/// <c>Prefer: wait</c> and <c>Cancel-After</c>, polled when still running, cancelled when the caller
/// goes away or the deadline passes, outputs downloaded without the token; the input names and
/// outputs per call from configuration. flux-schnell: 3 credits an image (×1.2), up to 4 a call.
/// </summary>
public sealed class ReplicateProviderTests : IAsyncLifetime
{
    private readonly GatewayFactory _gateway = new GatewayFactory().WithoutUpstreamKeys();
    private readonly FakeReplicate _replicate = new();
    private FakeUpstream _fake = null!;

    public async Task InitializeAsync()
    {
        _fake = await FakeUpstream.StartAsync();
        _replicate.BaseUrl = _fake.BaseUrl;
        _fake.Handler = _replicate.Handle;
        _gateway.UseFake("replicate", _fake.BaseUrl + "/v1", FakeReplicate.PlatformToken);
    }

    public async Task DisposeAsync()
    {
        _gateway.Dispose();
        await _fake.DisposeAsync();
    }

    private RecordedRequest[] Creates => _fake.Requests.Where(r => r.Method == "POST" && r.Path.EndsWith("/predictions", StringComparison.Ordinal)).ToArray();
    private int Polls => _fake.Requests.Count(r => r.Method == "GET" && r.Path.StartsWith("/v1/predictions/", StringComparison.Ordinal));

    private static object Body(int n = 1, string model = "flux-schnell", string size = "1024x1024") =>
        new { model, prompt = "a fox in the snow", n, size, response_format = "b64_json" };

    [Fact]
    public async Task A_prediction_still_running_after_the_wait_is_polled_and_its_output_downloaded_without_the_token()
    {
        var (client, _) = await _gateway.UserAsync();

        var (json, images) = await ProviderKit2026.ImagesAsync(await client.PostJsonAsync("/v1/images/generations", Body(size: "1344x768")));

        var create = Assert.Single(Creates);
        Assert.Equal("/v1/models/black-forest-labs/flux-schnell/predictions", create.Path);
        Assert.Equal($"Bearer {FakeReplicate.PlatformToken}", create.Authorization);
        Assert.Equal("wait=4", create.Headers["Prefer"]); // the wait stays inside the 5 s timeout
        Assert.Equal("5s", create.Headers["Cancel-After"]);
        create.AssertSentWithLength();
        Assert.Equal("""{"input":{"prompt":"a fox in the snow","aspect_ratio":"16:9","num_outputs":1,"output_format":"png","output_quality":90}}""",
            create.BodyText);
        Assert.Equal(3, Polls);
        var download = Assert.Single(_fake.Requests, r => r.Path.StartsWith("/delivery/", StringComparison.Ordinal));
        Assert.Null(download.Authorization);
        Assert.Equal(FakeReplicate.Image(0), Assert.Single(images));
        Assert.Equal(3.6m, json.GetProperty("_metadata").Dec("cost_incurred"));
        Assert.Equal(0.003m, json.GetProperty("_metadata").Dec("upstream_cost_usd"));
    }

    [Fact]
    public async Task A_prediction_done_within_the_wait_is_not_polled_and_n_images_come_from_one_call()
    {
        _replicate.Mode = "sync";
        var (client, _) = await _gateway.UserAsync();

        var (json, images) = await ProviderKit2026.ImagesAsync(await client.PostJsonAsync("/v1/images/generations", Body(n: 3)));

        Assert.Contains("\"num_outputs\":3", Assert.Single(Creates).BodyText);
        Assert.Equal(0, Polls);
        Assert.Equal([FakeReplicate.Image(0), FakeReplicate.Image(1), FakeReplicate.Image(2)], images);
        Assert.Equal(10.8m, json.GetProperty("_metadata").Dec("cost_incurred"));
        Assert.Equal(0.009m, json.GetProperty("_metadata").Dec("upstream_cost_usd"));
    }

    [Fact]
    public async Task A_version_pinned_model_is_run_through_predictions_with_its_version()
    {
        _gateway.OnlyStep("flux-schnell", "replicate", "black-forest-labs/flux-schnell:5599ed30703defd1d160a25a63321b4dec97101d98b4674bcc56e41f62f35637");
        var (client, _) = await _gateway.UserAsync();

        await ProviderKit2026.ImagesAsync(await client.PostJsonAsync("/v1/images/generations", Body()));

        var create = Assert.Single(Creates);
        Assert.Equal("/v1/predictions", create.Path);
        Assert.Equal("5599ed30703defd1d160a25a63321b4dec97101d98b4674bcc56e41f62f35637", create.BodyJson().GetProperty("version").GetString());
    }

    [Fact]
    public async Task The_input_names_and_fixed_inputs_come_from_configuration()
    {
        const string M = "Gateway:Providers:replicate:Models:black-forest-labs/flux-schnell:";
        _gateway.Settings[M + "Inputs:prompt"] = "text";
        _gateway.Settings[M + "Inputs:aspect_ratio"] = "";
        _gateway.Settings[M + "Inputs:width"] = "width";
        _gateway.Settings[M + "Inputs:height"] = "height";
        _gateway.Settings[M + "Fixed:go_fast"] = "true";
        var (client, _) = await _gateway.UserAsync();

        await ProviderKit2026.ImagesAsync(await client.PostJsonAsync("/v1/images/generations", Body()));

        var input = Assert.Single(Creates).BodyJson().GetProperty("input");
        Assert.Equal("a fox in the snow", input.Str("text"));
        Assert.False(input.TryGetProperty("prompt", out _));
        Assert.False(input.TryGetProperty("aspect_ratio", out _));
        Assert.Equal(1024, input.GetProperty("width").GetInt32());
        Assert.True(input.GetProperty("go_fast").GetBoolean());
    }

    [Fact]
    public async Task An_operator_adds_a_model_by_configuration_alone_as_the_readme_shows()
    {
        _gateway.Settings["Gateway:Models:ideogram-v3:Sizes:0"] = "1024x1024";
        _gateway.Settings["Gateway:Models:ideogram-v3:MaxN"] = "1";
        _gateway.Settings["Gateway:Pricing:ideogram-v3:standard:default"] = "90";
        _gateway.Settings["Gateway:Routes:ideogram-v3:0:Provider"] = "replicate";
        _gateway.Settings["Gateway:Routes:ideogram-v3:0:UpstreamModel"] = "ideogram-ai/ideogram-v3-quality";
        var (client, _) = await _gateway.UserAsync();

        var (json, images) = await ProviderKit2026.ImagesAsync(await client.PostJsonAsync("/v1/images/generations", Body(model: "ideogram-v3")));

        Assert.Equal("/v1/models/ideogram-ai/ideogram-v3-quality/predictions", Assert.Single(Creates).Path);
        Assert.Single(images);
        Assert.Equal(108m, json.GetProperty("_metadata").Dec("cost_incurred"));
    }

    public static TheoryData<string, HttpStatusCode, string> Failures => new()
    {
        { "nsfw", HttpStatusCode.BadRequest, "content_policy_violation" },
        { "failed", HttpStatusCode.BadGateway, "upstream_error" },
        { "expired", HttpStatusCode.BadGateway, "upstream_error" },
        { "truncated", HttpStatusCode.BadGateway, "upstream_error" },
        { "402", HttpStatusCode.BadGateway, "upstream_error" },
        { "422", HttpStatusCode.BadRequest, "upstream_rejected" },
        { "429", HttpStatusCode.BadGateway, "upstream_error" },
        { "500", HttpStatusCode.BadGateway, "upstream_error" },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task Each_failure_maps_to_a_safe_error_and_charges_nothing(string mode, HttpStatusCode status, string code)
    {
        _replicate.Mode = mode;
        var (client, userId) = await _gateway.UserAsync();

        var response = await client.PostJsonAsync("/v1/images/generations", Body());

        await ProviderKit2026.AssertSafeErrorAsync(response, status, code, FakeReplicate.PlatformToken, "invalid_fields");
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, 3.6m);
    }

    [Fact]
    public async Task A_token_replicate_does_not_know_is_a_502_naming_no_token()
    {
        _gateway.Settings["Gateway:Providers:replicate:ApiKey"] = "r8_RevokedToken0000000000000000000000000";
        var (client, userId) = await _gateway.UserAsync();

        var response = await client.PostJsonAsync("/v1/images/generations", Body());

        var error = await Api.AssertErrorAsync(response, HttpStatusCode.BadGateway, "api_error", "upstream_error");
        Assert.DoesNotContain("r8_", error.GetRawText());
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, 3.6m);
    }

    [Fact]
    public async Task A_prediction_running_past_the_timeout_is_cancelled_upstream_and_charges_nothing()
    {
        _replicate.Mode = "never";
        _gateway.Settings["Gateway:Providers:replicate:TimeoutSeconds"] = "1";
        var (client, userId) = await _gateway.UserAsync();

        var response = await client.PostJsonAsync("/v1/images/generations", Body());

        await Api.AssertErrorAsync(response, HttpStatusCode.GatewayTimeout, "api_error", "upstream_timeout");
        Assert.Single(_replicate.Cancelled);
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, 3.6m);
    }

    [Fact]
    public async Task A_request_the_caller_abandons_cancels_the_prediction_and_releases_the_hold()
    {
        _replicate.Mode = "never";
        var (client, _) = await _gateway.UserAsync();

        var request = client.PostJsonAsync("/v1/images/generations", Body());
        var polled = Stopwatch.StartNew();
        while (Polls == 0 && polled.Elapsed < TimeSpan.FromSeconds(5)) await Task.Delay(20);
        Assert.True(Polls > 0, "the prediction was never polled");
        client.CancelPendingRequests();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);

        var waited = Stopwatch.StartNew();
        while ((_replicate.Cancelled.IsEmpty || (await client.CreditsAsync()).Dec("reserved") != 0m) && waited.Elapsed < TimeSpan.FromSeconds(5))
            await Task.Delay(50);
        Assert.Single(_replicate.Cancelled);
        var credits = await client.CreditsAsync();
        Assert.Equal(0m, credits.Dec("reserved"));
        Assert.Equal(1000m, credits.Dec("credits_remaining"));
    }

    [Fact]
    public async Task Byok_uses_the_callers_token_and_the_key_test_proves_replicate_checks_it()
    {
        const string UserToken = "r8_CallersOwnToken1111111111111111111111";
        _replicate.Tokens.Add(UserToken);

        await ProviderKit2026.AssertByokAsync(_gateway, "replicate", UserToken, Body(),
            () => _fake.Requests.Where(r => !r.Path.StartsWith("/delivery/", StringComparison.Ordinal)),
            call => call.Authorization == $"Bearer {UserToken}");
    }
}

/// <summary>A route across two of the 2026 providers: flux-1.1-pro on BFL first, then on Replicate.</summary>
public sealed class FluxFallbackTests : IAsyncLifetime
{
    private readonly GatewayFactory _gateway = new GatewayFactory().WithoutUpstreamKeys();
    private readonly FakeBfl _bfl = new();
    private readonly FakeReplicate _replicate = new();
    private FakeUpstream _bflServer = null!, _replicateServer = null!;

    public async Task InitializeAsync()
    {
        (_bflServer, _replicateServer) = (await FakeUpstream.StartAsync(), await FakeUpstream.StartAsync());
        (_bfl.BaseUrl, _replicate.BaseUrl) = (_bflServer.BaseUrl, _replicateServer.BaseUrl);
        (_bflServer.Handler, _replicateServer.Handler) = (_bfl.Handle, _replicate.Handle);
        _gateway.UseFake("bfl", _bflServer.BaseUrl, FakeBfl.PlatformKey).UseFake("replicate", _replicateServer.BaseUrl + "/v1", FakeReplicate.PlatformToken);
    }

    public async Task DisposeAsync()
    {
        _gateway.Dispose();
        await _bflServer.DisposeAsync();
        await _replicateServer.DisposeAsync();
    }

    [Fact]
    public async Task An_outage_at_bfl_is_served_by_replicate_and_charged_once()
    {
        _bfl.Mode = "503";
        var (client, _) = await _gateway.UserAsync();

        var (json, images) = await ProviderKit2026.ImagesAsync(await client.PostJsonAsync("/v1/images/generations",
            new { model = "flux-1.1-pro", prompt = "a lighthouse", size = "1440x960", response_format = "b64_json" }));

        Assert.Single(_bflServer.Requests, r => r.Method == "POST");
        var create = Assert.Single(_replicateServer.Requests, r => r.Method == "POST");
        Assert.Equal("/v1/models/black-forest-labs/flux-1.1-pro/predictions", create.Path);
        Assert.Equal("3:2", create.BodyJson().GetProperty("input").Str("aspect_ratio"));
        Assert.Equal(FakeReplicate.Image(0), Assert.Single(images));
        var meta = json.GetProperty("_metadata");
        Assert.Equal("replicate", meta.Str("provider_used"));
        Assert.Equal(48m, meta.Dec("cost_incurred"));
        Assert.Equal(1000m - 48m, (await client.CreditsAsync()).Dec("credits_remaining"));
    }

    [Fact]
    public async Task A_moderated_prompt_at_bfl_is_final_and_never_sent_to_replicate()
    {
        _bfl.Mode = "Request Moderated";
        var (client, userId) = await _gateway.UserAsync();

        var response = await client.PostJsonAsync("/v1/images/generations",
            new { model = "flux-1.1-pro", prompt = "a lighthouse", size = "1024x1024", response_format = "b64_json" });

        await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "content_policy_violation");
        Assert.Equal(0, _replicateServer.Count);
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, 48m);
    }
}
