using System.Net;
using ImageGateway.Tests.Providers;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Http;

/// <summary>What a user key's answers never contain: setting names, circuit state, upstream failure detail. Admins keep them.</summary>
public sealed class OperatorDetailTests : IAsyncLifetime
{
    private static readonly string[] Internals = ["_API_KEY", "API_TOKEN", "Gateway__", "Gateway:", "circuit"];
    private readonly GatewayFactory _gateway = new GatewayFactory().WithoutUpstreamKeys();
    private FakeUpstream _failing = null!;

    public async Task InitializeAsync()
    {
        _failing = await FakeUpstream.StartAsync();
        _failing.Handler = (ctx, _) => OpenAiKit.Error(ctx, 500, OpenAiKit.ServerErrorBody);
        _gateway.UseOpenAi("failing", _failing, maxRetries: 0, circuitMinimumThroughput: 2, circuitSamplingSeconds: 30, circuitBreakSeconds: 60);
        _gateway.OnlyStep("flux-schnell", "failing", "gpt-image-2");
    }

    public async Task DisposeAsync()
    {
        _gateway.Dispose();
        await _failing.DisposeAsync();
    }

    private static void AssertNoInternals(string text)
    {
        foreach (var word in Internals) Assert.DoesNotContain(word, text, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_user_key_never_sees_setting_names_or_circuit_state_on_any_user_endpoint()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 1000m);
        using var client = _gateway.ClientWithKey(key);
        var models = await (await client.GetAsync("/v1/image/models")).OkJsonAsync();
        var texts = new List<string>();
        foreach (var id in models.GetProperty("data").EnumerateArray().Select(m => m.Str("id")!))
        {
            texts.Add(await (await client.PostJsonAsync("/v1/image/estimate", new { model = id, prompt = "a cat" })).Content.ReadAsStringAsync());
            texts.Add(await (await client.PostJsonAsync("/v1/images/generations", new { model = id, prompt = "a cat", response_format = "b64_json" })).Content.ReadAsStringAsync());
        }
        foreach (var path in new[] { "/v1/image/models", "/v1/models", "/v1/credits", "/v1/usage", "/v1/byok/keys", "/api/v1/keys", "/api/v1/limits" })
            texts.Add(await (await client.GetAsync(path)).Content.ReadAsStringAsync());
        texts.Add(await (await client.GetAsync("/api/v1/admin/providers")).Content.ReadAsStringAsync());

        Assert.Contains(texts, t => t.Contains("dall-e-3 is not available here right now."));
        Assert.Contains(texts, t => t.Contains("flux-schnell could not make the images right now."));
        foreach (var text in texts) AssertNoInternals(text);
    }

    [Fact]
    public async Task After_the_circuit_opens_a_user_sees_the_model_failed_and_an_admin_sees_why()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 1000m);
        using var client = _gateway.ClientWithKey(key);
        using var admin = _gateway.AdminClient();
        await (await admin.PostAsync("/api/v1/admin/users/usr_admin/credits", Api.Json(new { amount = 1000 }))).OkJsonAsync();
        var body = new { model = "flux-schnell", prompt = "a cat", response_format = "b64_json" };
        for (var i = 0; i < 2; i++) await client.PostJsonAsync("/v1/images/generations", body);

        var user = await Api.AssertErrorAsync(await client.PostJsonAsync("/v1/images/generations", body), HttpStatusCode.BadGateway, "api_error", "upstream_error");
        var operatorView = await Api.AssertErrorAsync(await admin.PostJsonAsync("/v1/images/generations", body), HttpStatusCode.BadGateway, "api_error", "upstream_error");
        var noProvider = await Api.AssertErrorAsync(await admin.PostJsonAsync("/v1/images/generations", new { model = "dall-e-3", prompt = "a cat" }),
            HttpStatusCode.ServiceUnavailable, "api_error", "no_provider");

        AssertNoInternals(user.Str("message")!);
        Assert.Contains("circuit open", operatorView.Str("message"));
        Assert.Contains("OPENAI_API_KEY", noProvider.Str("message"));
        var providers = await (await admin.GetAsync("/api/v1/admin/providers")).OkJsonAsync();
        Assert.Equal("open", providers.GetProperty("data").EnumerateArray().Single(p => p.Str("name") == "failing").Str("circuit"));
    }
}
