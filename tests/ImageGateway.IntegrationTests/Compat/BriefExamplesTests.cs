using System.Text.Json;
using ImageGateway.IntegrationTests.Support;

namespace ImageGateway.IntegrationTests.Compat;

/// <summary>
/// The brief's own examples, run as written against the gateway process: only the host, the key
/// and, where a case needs it, the model or a field change. dall-e-3 is served by a local fake of
/// OpenAI's Images API, so the examples keep their model.
/// </summary>
public sealed class BriefExamplesTests(CompatGateway fixture) : IClassFixture<CompatGateway>
{
    private GatewayProcess Gateway => fixture.Gateway;
    private string Host => Gateway.BaseUrl.ToString().TrimEnd('/');

    [Fact]
    public async Task Curl_example_as_written_returns_a_dall_e_3_url_and_charges_48_credits()
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 1000m);

        var result = await Curl.RunAsync("-X", "POST", $"{Host}/api/v1/llm/image/generations",
            "-H", $"Authorization: Bearer {key}",
            "-H", "Content-Type: application/json",
            "-d", """
                  {
                    "prompt": "A majestic unicorn in a magical forest",
                    "model": "dall-e-3",
                    "size": "1024x1024",
                    "quality": "standard"
                  }
                  """);

        Assert.Equal(200, result.Status);
        OpenAiSchema.AssertImages(result.Body, "url", count: 1);
        using var json = JsonDocument.Parse(result.Body);
        var metadata = json.RootElement.GetProperty("_metadata");
        Assert.Equal(48m, metadata.GetProperty("cost_incurred").GetDecimal());
        Assert.Equal(952m, metadata.GetProperty("credits_remaining").GetDecimal());
        Assert.Equal("openai", metadata.GetProperty("provider_used").GetString());
        var upstream = fixture.Upstream.Calls.Last(c => c.Body["prompt"]!.GetValue<string>() == "A majestic unicorn in a magical forest");
        Assert.Equal($"Bearer {CompatGateway.UpstreamKey}", upstream.Authorization);
        // dall-e-3 is retired: gpt-image-2 serves it, standard → low (DESIGN §12.1), at dall-e-3's price.
        Assert.Equal("gpt-image-2", upstream.Body["model"]!.GetValue<string>());
        Assert.Equal("low", upstream.Body["quality"]!.GetValue<string>());
        Assert.Equal("gpt-image-2", metadata.GetProperty("upstream_model").GetString());

        using var http = Gateway.Client();
        var png = await http.GetByteArrayAsync(json.RootElement.GetProperty("data")[0].GetProperty("url").GetString());
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        Assert.Equal(952m, await Gateway.CreditsAsync(key));
    }

    [SkippableFact]
    public async Task Fetch_example_run_by_node_reads_the_url_and_cost_incurred()
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 1000m);

        var run = await NodeScript.RunAsync("brief-fetch.mjs", new Dictionary<string, string> { ["IGW_HOST"] = Host, ["IGW_KEY"] = key });

        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.StartsWith($"Image: {Host}/api/v1/llm/image/files/", run.Lines[0]);
        Assert.Equal("Cost: 48 credits", run.Lines[1]);
        OpenAiSchema.AssertImages(run.Json.GetProperty("body"), "url", count: 1);
    }

    public static TheoryData<string, int, string, string> ErrorCases => new()
    {
        // case, status, error.code, what data.detail must say
        { "bad_size", 400, "invalid_value", "Size '999x999' is not available" },
        { "bad_key", 401, "invalid_api_key", "Invalid API key" },
        { "no_credits", 402, "insufficient_credits", "Insufficient credits. Balance: 10.50, Estimated cost: 48.00 credits" },
        { "no_provider", 503, "no_provider", "stable-diffusion-xl is not available here right now" },
    };

    [SkippableTheory]
    [MemberData(nameof(ErrorCases))]
    public async Task Error_handling_table_cases_carry_the_message_in_data_detail(string errorCase, int status, string code, string detail)
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", errorCase == "no_credits" ? 10.5m : 1000m);
        var overrides = errorCase switch
        {
            "bad_size" => """{"size":"999x999"}""",
            "no_provider" => """{"model":"stable-diffusion-xl","quality":"standard"}""",
            _ => "{}",
        };
        if (errorCase == "bad_key") key = "uc_" + new string('Z', 43);

        var run = await NodeScript.RunAsync("brief-fetch.mjs",
            new Dictionary<string, string> { ["IGW_HOST"] = Host, ["IGW_KEY"] = key, ["IGW_OVERRIDES"] = overrides });

        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.StartsWith("Error: ", run.Lines[0]);
        Assert.Contains(detail, run.Lines[0]);
        Assert.DoesNotContain("undefined", run.Lines[0]);
        var json = run.Json;
        Assert.Equal(status, json.GetProperty("status").GetInt32());
        OpenAiSchema.AssertError(json.GetProperty("body"), expectedCode: code);
        if (errorCase == "bad_size") Assert.Equal("size", json.GetProperty("body").GetProperty("error").GetProperty("param").GetString());
        if (errorCase == "no_provider") Assert.Equal("false", json.GetProperty("headers").GetProperty("x-should-retry").GetString());
        if (errorCase != "bad_key") Assert.Equal(errorCase == "no_credits" ? 10.5m : 1000m, await Gateway.CreditsAsync(key));
    }

    [Fact]
    public async Task Byok_requests_post_ported_to_curl_stores_the_key_and_generation_is_then_free()
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 100m);

        // requests.post(url, headers={'Authorization': ...}, json={...}) — json= sets the content type.
        var openrouter = await Curl.RunAsync("-X", "POST", $"{Host}/api/v1/llm/byok/keys",
            "-H", $"Authorization: Bearer {key}", "-H", "Content-Type: application/json",
            "-d", """{"provider": "openrouter", "api_key": "sk-or-v1-0123456789abcdef0123456789abcdef"}""");
        Assert.InRange(openrouter.Status, 200, 201);
        Assert.DoesNotContain("0123456789abcdef0123456789abcdef", openrouter.Body);
        using (var stored = JsonDocument.Parse(openrouter.Body))
        {
            Assert.Equal("openrouter", stored.RootElement.GetProperty("provider").GetString());
            Assert.EndsWith("cdef", stored.RootElement.GetProperty("masked_key").GetString());
        }

        const string ownKey = "sk-user-own-openai-key-0000000000000000";
        var openai = await Curl.RunAsync("-X", "POST", $"{Host}/api/v1/llm/byok/keys",
            "-H", $"Authorization: Bearer {key}", "-H", "Content-Type: application/json",
            "-d", $$"""{"provider": "openai", "api_key": "{{ownKey}}"}""");
        Assert.InRange(openai.Status, 200, 201);
        Assert.DoesNotContain(ownKey, openai.Body);

        var generated = await Curl.RunAsync("-X", "POST", $"{Host}/api/v1/llm/image/generations",
            "-H", $"Authorization: Bearer {key}", "-H", "Content-Type: application/json",
            "-d", """{"prompt": "BYOK unicorn", "model": "dall-e-3", "size": "1024x1024", "quality": "standard"}""");
        Assert.Equal(200, generated.Status);
        OpenAiSchema.AssertImages(generated.Body, "url", count: 1);
        using var json = JsonDocument.Parse(generated.Body);
        Assert.Equal(0m, json.RootElement.GetProperty("_metadata").GetProperty("cost_incurred").GetDecimal());
        Assert.True(json.RootElement.GetProperty("_metadata").GetProperty("using_byok").GetBoolean());
        Assert.Equal($"Bearer {ownKey}", fixture.Upstream.Calls.Last(c => c.Body["prompt"]!.GetValue<string>() == "BYOK unicorn").Authorization);
        Assert.Equal(100m, await Gateway.CreditsAsync(key));
    }

    [Fact]
    public async Task Get_credits_with_curl_reports_the_balance()
    {
        var (userId, key) = await Gateway.CreateUserAsync("free", 250.5m);

        var result = await Curl.RunAsync($"{Host}/api/v1/llm/credits", "-H", $"Authorization: Bearer {key}");

        Assert.Equal(200, result.Status);
        using var json = JsonDocument.Parse(result.Body);
        var root = json.RootElement;
        Assert.Equal(userId, root.GetProperty("user_id").GetString());
        Assert.Equal(250.5m, root.GetProperty("credits_remaining").GetDecimal());
        Assert.Equal(0m, root.GetProperty("reserved").GetDecimal());
        Assert.Equal("free", root.GetProperty("tier").GetString());
        Assert.Equal(1000m, root.GetProperty("monthly_cap").GetDecimal());
        Assert.Equal(0m, root.GetProperty("monthly_spent").GetDecimal());

        var unauthorized = await Curl.RunAsync($"{Host}/api/v1/llm/credits");
        Assert.Equal(401, unauthorized.Status);
        OpenAiSchema.AssertError(unauthorized.Body, "authentication_error", "invalid_api_key");
    }
}
