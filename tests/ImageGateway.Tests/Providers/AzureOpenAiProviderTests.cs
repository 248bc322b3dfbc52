using System.Net;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Providers;

/// <summary>
/// The azure adapter against <see cref="FakeAzureOpenAi"/>: gpt-image-2 on a deployment, reached
/// when the openai provider has no key or fails; the deployment and v1 paths, the api-key header,
/// Azure's errors (its content filter a final refusal), token prices from the answer's usage, BYOK.
/// </summary>
public sealed class AzureOpenAiProviderTests : IAsyncLifetime
{
    private readonly GatewayFactory _gateway = new GatewayFactory().WithoutUpstreamKeys();
    private readonly FakeAzureOpenAi _azure = new();
    private FakeUpstream _fake = null!;

    public async Task InitializeAsync()
    {
        _fake = await FakeUpstream.StartAsync();
        _fake.Handler = _azure.Handle;
        _gateway.UseFake("azure", _fake.BaseUrl, FakeAzureOpenAi.PlatformKey);
    }

    public async Task DisposeAsync()
    {
        _gateway.Dispose();
        await _fake.DisposeAsync();
    }

    private static object Body(int n = 1) => new { model = "gpt-image-2", prompt = "an isometric harbour", n, size = "1024x1024", quality = "low" };

    private RecordedRequest[] Calls => _fake.Requests.Where(r => r.Method == "POST").ToArray();

    [Fact]
    public async Task Gpt_image_2_is_served_by_the_deployment_with_the_api_key_header_and_priced_by_its_usage()
    {
        var (client, _) = await _gateway.UserAsync();

        var (json, images) = await ProviderKit2026.ImagesAsync(await client.PostJsonAsync("/v1/images/generations", Body(n: 2)));

        var call = Assert.Single(Calls);
        Assert.Equal("/openai/deployments/gpt-image-2/images/generations?api-version=2025-04-01-preview", call.Path);
        Assert.Equal(FakeAzureOpenAi.PlatformKey, call.Headers["api-key"]);
        Assert.Null(call.Authorization);
        call.AssertSentWithLength();
        Assert.Equal(2, images.Length);
        var usage = json.GetProperty("usage");
        var meta = json.GetProperty("_metadata");
        Assert.Equal("azure", meta.Str("provider_used"));
        Assert.Equal("per_token", meta.Str("pricing"));
        // 30,000 credits per million output tokens and 5,000 per million text input, ×1.2.
        var expected = Math.Ceiling((usage.GetProperty("output_tokens").GetInt64() * 30_000m + usage.GetProperty("input_tokens").GetInt64() * 5_000m) / 1_000_000m * 1.2m * 1000m) / 1000m;
        Assert.Equal(expected, meta.Dec("cost_incurred"));
    }

    [Fact]
    public async Task The_v1_api_takes_the_deployment_as_model()
    {
        _gateway.Settings["Gateway:Providers:azure:ApiVersion"] = "v1";
        var (client, _) = await _gateway.UserAsync();

        await ProviderKit2026.ImagesAsync(await client.PostJsonAsync("/v1/images/generations", Body()));

        var call = Assert.Single(Calls);
        Assert.Equal("/openai/v1/images/generations?api-version=preview", call.Path);
        Assert.Equal("gpt-image-2", call.BodyJson().GetProperty("model").GetString());
    }

    private async Task<decimal> HoldAsync(HttpClient client) =>
        (await (await client.PostJsonAsync("/v1/image/estimate", Body())).OkJsonAsync()).Dec("max_cost");

    [Fact]
    public async Task The_content_filter_is_a_final_400_content_policy_violation_and_charges_nothing()
    {
        _azure.ContentFilter = true;
        var (client, userId) = await _gateway.UserAsync();
        var held = await HoldAsync(client);

        var response = await client.PostJsonAsync("/v1/images/generations", Body());

        await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "content_policy_violation");
        Assert.Single(Calls);
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, held);
    }

    [Theory]
    [InlineData("bad-key", HttpStatusCode.BadGateway, "upstream_error")]
    [InlineData("no-deployment", HttpStatusCode.BadRequest, "upstream_rejected")]
    [InlineData("rate-limit", HttpStatusCode.BadGateway, "upstream_error")]
    [InlineData("server-error", HttpStatusCode.BadGateway, "upstream_error")]
    public async Task Azures_errors_map_to_safe_errors_and_charge_nothing(string failure, HttpStatusCode status, string code)
    {
        if (failure == "bad-key") _gateway.Settings["Gateway:Providers:azure:ApiKey"] = "ffffffffffffffffffffffffffffffff";
        if (failure == "no-deployment") _azure.Deployments.Clear();
        if (failure == "rate-limit") _azure.Images.FailWith(FakeGptImage.Failure.RateLimit);
        if (failure == "server-error") _azure.Images.FailWith(FakeGptImage.Failure.ServerError);
        var (client, userId) = await _gateway.UserAsync();
        var held = await HoldAsync(client);

        var response = await client.PostJsonAsync("/v1/images/generations", Body());

        await ProviderKit2026.AssertSafeErrorAsync(response, status, code, FakeAzureOpenAi.PlatformKey, "subscription key");
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, held);
    }

    [Fact]
    public async Task A_slow_deployment_past_the_timeout_is_a_504_and_charges_nothing()
    {
        _gateway.Settings["Gateway:Providers:azure:TimeoutSeconds"] = "1";
        _azure.Images.Delay = TimeSpan.FromSeconds(10);
        var (client, userId) = await _gateway.UserAsync();
        var held = await HoldAsync(client);

        var response = await client.PostJsonAsync("/v1/images/generations", Body());

        await Api.AssertErrorAsync(response, HttpStatusCode.GatewayTimeout, "api_error", "upstream_timeout");
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, held);
    }

    [Fact]
    public async Task An_openai_outage_falls_back_to_the_azure_deployment()
    {
        await using var openai = await FakeUpstream.StartAsync();
        var fakeOpenAi = FakeGptImage.On(openai);
        fakeOpenAi.FailWith(FakeGptImage.Failure.ServerError);
        _gateway.UseOpenAi("openai", openai, maxRetries: 0);
        var (client, _) = await _gateway.UserAsync();

        var (json, _) = await ProviderKit2026.ImagesAsync(await client.PostJsonAsync("/v1/images/generations", Body()));

        Assert.Single(openai.Requests);
        Assert.Single(Calls);
        Assert.Equal("azure", json.GetProperty("_metadata").Str("provider_used"));
    }

    [Fact]
    public async Task Byok_uses_the_callers_key_and_the_key_test_proves_azure_checks_it()
    {
        const string UserKey = "11111111111111111111111111111111aaaaaaaaaaaaaaaaaaaa";
        _azure.Keys.Add(UserKey);

        await ProviderKit2026.AssertByokAsync(_gateway, "azure", UserKey, Body(), () => _fake.Requests,
            call => call.Headers.GetValueOrDefault("api-key") == UserKey);
    }
}
