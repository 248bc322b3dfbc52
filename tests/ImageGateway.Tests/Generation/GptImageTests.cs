using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using ImageGateway.Billing;
using ImageGateway.Tests.Providers;
using ImageGateway.Tests.Support;
using Microsoft.AspNetCore.Http;

namespace ImageGateway.Tests.Generation;

/// <summary>
/// GPT-image requests through the whole gateway (DESIGN §12): the fields validated and forwarded,
/// OpenAI's answer shape, token-priced holds and charges (the worked check, a write-off, no usage),
/// and the retired models served by gpt-image-2 with their mapping.
/// </summary>
public sealed class GptImageTests : GptImageGateway
{
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Fake.UsageOverride = new FakeGptImage.ImageUsage(50, 0, 1767); // the worked check's usage unless a test says otherwise
    }

    /// <summary>A GPT-image answer is OpenAI's ImagesResponse; the spec's size enum lists only the standard sizes (docs/PROVIDERS.md).</summary>
    private static void AssertOpenAiShape(string text, bool customSize = false)
    {
        var errors = OpenAiSpec.Errors(text, "ImagesResponse");
        if (customSize) Assert.All(errors, e => Assert.StartsWith("/size:", e));
        else Assert.True(errors.Count == 0, string.Join("\n", errors));
    }


    private JsonElement OnlyUpstreamBody() => Assert.Single(OpenAi.Generations()).BodyJson();

    // ---------------------------------------------------------------- money

    [Fact]
    public async Task Worked_check_usage_50_text_and_1767_image_out_at_managed_charges_63_912_and_releases_the_rest()
    {
        var (client, userId) = await UserAsync();
        const string prompt = "a red kite over a green hill"; // 28 UTF-8 bytes

        var (response, text) = await client.GenerateAsync(new { model = "gpt-image-2", prompt, size = "1024x1024", quality = "medium" });

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        AssertOpenAiShape(text);
        var json = JsonDocument.Parse(text).RootElement;
        Assert.Equal(63.912m, json.GetProperty("_metadata").Dec("cost_incurred"));
        Assert.Equal(1000m - 63.912m, json.GetProperty("_metadata").Dec("credits_remaining"));
        var tx = (await client.HistoryAsync()).Transactions();
        Assert.Equal(["settle", "reserve", "grant"], tx.Select(t => t.Str("type")!).ToArray());
        // Held: ceil(1,767 × 1.25) = 2,209 output tokens × 30 + 28 prompt bytes × 5 = 66,410 millicredits, × 1.2.
        Assert.Equal(79.692m, tx[1].Dec("hold"));
        Assert.Equal(-63.912m, tx[0].Dec("amount"));
        Assert.Equal(-79.692m, tx[0].Dec("hold"));
        Assert.Equal(0m, (await client.CreditsAsync()).Dec("reserved"));
        Assert.Empty(await Gateway.Service<CreditLedger>().VerifyAsync(userId));
    }

    [Fact]
    public async Task Usage_above_the_hold_takes_what_the_balance_has_and_writes_off_the_rest_never_below_zero()
    {
        var (client, userId) = await UserAsync(credits: 100m);
        Fake.UsageOverride = new FakeGptImage.ImageUsage(10, 0, 3000); // (10 × 5 + 3,000 × 30) × 1.2 = 108.06 credits, more than the 79.x held and the 100 there are

        var (response, text) = await client.GenerateAsync(new { model = "gpt-image-2", prompt = "a red kite", size = "1024x1024", quality = "medium" });

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var meta = JsonDocument.Parse(text).RootElement.GetProperty("_metadata");
        Assert.Equal(100m, meta.Dec("cost_incurred"));
        Assert.Equal(0m, meta.Dec("credits_remaining"));
        var tx = (await client.HistoryAsync()).Transactions();
        Assert.Equal(["write_off", "settle", "reserve", "grant"], tx.Select(t => t.Str("type")!).ToArray());
        Assert.Equal((0m, 8.06m, 0m), (tx[0].Dec("amount"), tx[0].Dec("written_off"), tx[0].Dec("balance_after")));
        Assert.Equal(-100m, tx[1].Dec("amount"));
        Assert.False(tx[1].TryGetProperty("written_off", out _));
        var credits = await client.CreditsAsync();
        Assert.Equal((0m, 0m), (credits.Dec("credits_remaining"), credits.Dec("reserved")));
        Assert.Empty(await Gateway.Service<CreditLedger>().VerifyAsync(userId));
        Assert.Contains(Gateway.Logs.Lines, l => l.Contains("8.06 credits above the hold and the available balance were written off"));
    }

    [Fact]
    public async Task An_answer_without_usage_is_charged_the_estimate_and_logged()
    {
        var (client, userId) = await UserAsync();
        Fake.OmitUsage = true;

        var (response, text) = await client.GenerateAsync(new { model = "gpt-image-2", prompt = "a red kite", n = 2, size = "1536x1024", quality = "low" });

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        AssertOpenAiShape(text);
        var json = JsonDocument.Parse(text).RootElement;
        Assert.False(json.TryGetProperty("usage", out _));
        // Estimate: 200 × 1.5 = 300 output tokens × 2 images × 30 + 10 prompt bytes × 5 = 18,050 millicredits, × 1.2.
        Assert.Equal(21.66m, json.GetProperty("_metadata").Dec("cost_incurred"));
        Assert.Contains(Gateway.Logs.Lines, l => l.Contains("reported no token usage; charged the estimate 21.66"));
        Assert.Empty(await Gateway.Service<CreditLedger>().VerifyAsync(userId));
    }

    [Fact]
    public async Task The_estimate_shows_the_tables_and_the_hold_and_the_hold_is_what_a_request_reserves()
    {
        var (client, _) = await UserAsync(credits: 5000m);
        var body = new { model = "gpt-image-2", prompt = "a red kite", n = 3, size = "2048x1152", quality = "high" };

        var estimate = await (await client.PostJsonAsync("/v1/image/estimate", body)).OkJsonAsync();
        var (response, text) = await client.GenerateAsync(body);

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.True(estimate.GetProperty("sufficient").GetBoolean());
        // 7,033 × (2048 × 1152) / 1024² = 15,824.25 → 15,825 tokens an image; held with 25 %: 19,782 (19,781.25 up).
        Assert.Equal("per_token", estimate.Str("pricing"));
        Assert.Equal((15_825 * 3 * 30 + 10 * 5) * 1.2m / 1000, estimate.Dec("estimated_cost"));
        Assert.Equal((19_782 * 3 * 30 + 10 * 5) * 1.2m / 1000, estimate.Dec("max_cost"));
        Assert.Equal((6000m, 9600m, 36000m), (estimate.GetProperty("rates").Dec("text_input"), estimate.GetProperty("rates").Dec("image_input"), estimate.GetProperty("rates").Dec("image_output")));
        var reserve = (await client.HistoryAsync()).Transactions().Single(t => t.Str("type") == "reserve");
        Assert.Equal(estimate.Dec("max_cost"), reserve.Dec("hold"));
    }

    // ---------------------------------------------------------------- fields and answer

    [Fact]
    public async Task The_fields_are_forwarded_and_the_answer_has_openais_shape_with_b64_json_by_default()
    {
        var (client, _) = await UserAsync();

        var (response, text) = await client.GenerateAsync(new
        {
            model = "gpt-image-2", prompt = "a glass of water", size = "auto", quality = "high", output_format = "webp",
            output_compression = 40, background = "opaque", moderation = "low", user = "u-1",
        });

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        AssertOpenAiShape(text);
        var sent = OnlyUpstreamBody();
        Assert.Equal(["background", "model", "moderation", "n", "output_compression", "output_format", "prompt", "quality", "size", "user"], sent.Names());
        Assert.Equal(("auto", "webp", 40), (sent.Str("size"), sent.Str("output_format"), sent.GetProperty("output_compression").GetInt32()));
        var json = JsonDocument.Parse(text).RootElement;
        Assert.Equal(["_metadata", "background", "created", "data", "output_format", "quality", "size", "usage"], json.Names());
        Assert.Equal(["b64_json"], json.GetProperty("data")[0].Names());
        Assert.Equal(("opaque", "webp", "1024x1024", "high"), (json.Str("background"), json.Str("output_format"), json.Str("size"), json.Str("quality")));
        var usage = json.GetProperty("usage");
        Assert.Equal((50, 1767, 1817), (usage.GetProperty("input_tokens").GetInt32(), usage.GetProperty("output_tokens").GetInt32(), usage.GetProperty("total_tokens").GetInt32()));
        Assert.Equal((50, 0), (usage.GetProperty("input_tokens_details").GetProperty("text_tokens").GetInt32(), usage.GetProperty("input_tokens_details").GetProperty("image_tokens").GetInt32()));
        Assert.Equal("gpt-image-2", json.GetProperty("_metadata").Str("upstream_model"));
        var webp = Convert.FromBase64String(json.GetProperty("data")[0].Str("b64_json")!);
        Assert.Equal("RIFF"u8.ToArray(), webp[..4]);
        Assert.Equal("WEBP"u8.ToArray(), webp[8..12]);
    }

    [Theory]
    [InlineData("""{"output_format":"gif"}""", "output_format")]
    [InlineData("""{"background":"purple"}""", "background")]
    [InlineData("""{"moderation":"none"}""", "moderation")]
    [InlineData("""{"output_compression":500,"output_format":"jpeg"}""", "output_compression")]
    [InlineData("""{"output_compression":-1,"output_format":"webp"}""", "output_compression")]
    [InlineData("""{"output_compression":50}""", "output_compression")]
    [InlineData("""{"output_compression":50,"output_format":"png"}""", "output_compression")]
    [InlineData("""{"background":"transparent","output_format":"jpeg"}""", "background")]
    [InlineData("""{"size":"1000x1000"}""", "size")]
    [InlineData("""{"size":"3072x1008"}""", "size")]
    [InlineData("""{"size":"3840x2176"}""", "size")]
    [InlineData("""{"size":"4096x1376"}""", "size")]
    [InlineData("""{"size":"big"}""", "size")]
    [InlineData("""{"size":"512x512"}""", "size")]     // fewer pixels than gpt-image-2 makes
    [InlineData("""{"quality":"hd"}""", "quality")]
    [InlineData("""{"style":"vivid"}""", "style")]
    [InlineData("""{"n":11}""", "n")]
    [InlineData("""{"response_format":"png"}""", "response_format")]
    [InlineData("""{"stream":true,"partial_images":4}""", "partial_images")]
    public async Task A_bad_value_or_combination_is_a_400_naming_the_field_and_nothing_is_charged(string fields, string param)
    {
        var (client, userId) = await UserAsync();
        var body = JsonNode.Parse(fields)!.AsObject();
        body["model"] = "gpt-image-2";
        body["prompt"] = "a red kite";

        var response = await client.PostAsync(OpenAiKit.GeneratePath, Api.Raw(body.ToJsonString()));

        await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "invalid_value", param);
        Assert.Equal(0, OpenAi.Count);
        Assert.Equal(["grant"], (await client.HistoryAsync()).Transactions().Select(t => t.Str("type")!).ToArray());
        Assert.Empty(await Gateway.Service<CreditLedger>().VerifyAsync(userId));
    }

    [Theory]
    [InlineData("3840x2160")]  // the largest
    [InlineData("2160x3840")]
    [InlineData("3072x1024")]  // exactly 3:1
    [InlineData("1536x864")]
    [InlineData("1024x640")]   // the fewest pixels
    public async Task Custom_sizes_within_the_rules_are_forwarded_as_asked(string size)
    {
        var (client, _) = await UserAsync(credits: 10_000m);

        var (response, text) = await client.GenerateAsync(new { model = "gpt-image-2", prompt = "a red kite", size, quality = "low" });

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.Equal(size, OnlyUpstreamBody().Str("size"));
        Assert.Equal(size, JsonDocument.Parse(text).RootElement.Str("size"));
        AssertOpenAiShape(text, customSize: true);
    }

    [Theory]
    [InlineData("dall-e-3", "output_format", "png")]
    [InlineData("dall-e-3", "background", "opaque")]
    [InlineData("dall-e-2", "moderation", "low")]
    [InlineData("stable-diffusion-xl", "output_format", "jpeg")]
    [InlineData("builtin-preview", "moderation", "auto")]
    public async Task A_gpt_image_field_on_a_model_that_does_not_take_it_is_refused(string model, string field, string value)
    {
        var (client, _) = await UserAsync();
        var body = new JsonObject { ["model"] = model, ["prompt"] = "a red kite", [field] = value };

        var response = await client.PostAsync(OpenAiKit.GeneratePath, Api.Raw(body.ToJsonString()));

        var error = await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "invalid_value", field);
        Assert.Contains($"does not apply to {model}", error.Str("message"));
    }

    [Fact]
    public async Task Response_format_url_is_the_gateways_extension_stored_and_signed_and_never_sent_upstream()
    {
        var (client, _) = await UserAsync();

        var (response, text) = await client.GenerateAsync(new { model = "gpt-image-2", prompt = "a red kite", size = "1024x1024", response_format = "url" });

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.False(OnlyUpstreamBody().TryGetProperty("response_format", out _));
        var json = JsonDocument.Parse(text).RootElement;
        AssertOpenAiShape(text);
        var url = new Uri(json.GetProperty("data")[0].Str("url")!);
        Assert.Contains("sig=", url.Query);
        var png = await client.GetByteArrayAsync(url.PathAndQuery);
        Assert.Equal((1024, 1024), Api.PngSize(png));
        Assert.True(json.GetProperty("_metadata").GetProperty("expires_at").GetInt64() > Gateway.UnixNow());
    }

    [Theory]
    [InlineData(FakeGptImage.Failure.ModerationBlocked, HttpStatusCode.BadRequest, "invalid_request_error", "content_policy_violation")]
    [InlineData(FakeGptImage.Failure.ContentPolicy, HttpStatusCode.BadRequest, "invalid_request_error", "content_policy_violation")]
    [InlineData(FakeGptImage.Failure.RateLimit, HttpStatusCode.BadGateway, "api_error", "upstream_error")]
    [InlineData(FakeGptImage.Failure.InsufficientQuota, HttpStatusCode.BadGateway, "api_error", "upstream_error")]
    [InlineData(FakeGptImage.Failure.ServerError, HttpStatusCode.BadGateway, "api_error", "upstream_error")]
    public async Task Upstream_refusals_and_failures_are_mapped_and_the_token_hold_is_released(FakeGptImage.Failure failure,
        HttpStatusCode status, string type, string code)
    {
        var (client, userId) = await UserAsync();
        Fake.FailWith(failure);

        var response = await client.PostJsonAsync(OpenAiKit.GeneratePath, new { model = "gpt-image-2", prompt = "a red kite", size = "1024x1024", quality = "low" });

        await Api.AssertErrorAsync(response, status, type, code);
        // Held: ceil(200 × 1.25) = 250 tokens × 30 + 10 prompt bytes × 5 = 7,550 millicredits, × 1.2.
        await Gateway.AssertNothingChargedAsync(client, userId, 1000m, 9.06m);
    }

    // ---------------------------------------------------------------- retired models

    [Theory]
    // model, quality asked, size → quality and size sent to gpt-image-2
    [InlineData("dall-e-3", "standard", "1024x1024", "low", "1024x1024")]
    [InlineData("dall-e-3", "hd", "1792x1024", "medium", "1792x1024")]
    [InlineData("dall-e-3", "hd", "1024x1792", "medium", "1024x1792")]
    [InlineData("dall-e-2", "standard", "1024x1024", "low", "1024x1024")]
    [InlineData("dall-e-2", "standard", "512x512", "low", "1024x1024")]
    [InlineData("dall-e-2", "standard", "256x256", "low", "1024x1024")]
    [InlineData("gpt-image-1", "high", "1536x1024", "high", "1536x1024")]
    [InlineData("gpt-image-1.5", "medium", "1024x1536", "medium", "1024x1536")]
    [InlineData("gpt-image-1-mini", "low", "auto", "low", "auto")]
    public async Task Each_retired_name_reaches_gpt_image_2_with_the_mapped_parameters(string model, string quality, string size,
        string sentQuality, string sentSize)
    {
        var (client, _) = await UserAsync();

        var (response, text) = await client.GenerateAsync(new { model, prompt = "a red kite", quality, size });

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var sent = OnlyUpstreamBody();
        Assert.Equal(("gpt-image-2", sentQuality, sentSize), (sent.Str("model"), sent.Str("quality"), sent.Str("size")));
        Assert.False(sent.TryGetProperty("response_format", out _));
        var json = JsonDocument.Parse(text).RootElement;
        var meta = json.GetProperty("_metadata");
        Assert.Equal("gpt-image-2", meta.Str("upstream_model"));
        Assert.Equal((quality, size), (meta.Str("quality"), meta.Str("size")));
        var isDallE = model.StartsWith("dall-e", StringComparison.Ordinal);
        Assert.Equal(isDallE ? "per_image" : "per_token", meta.Str("pricing"));
        // DALL·E names keep their url default and answer shape; the GPT-image names answer b64_json with usage.
        Assert.Equal(isDallE, json.GetProperty("data")[0].TryGetProperty("url", out _));
        Assert.Equal(!isDallE, json.TryGetProperty("usage", out _));
        if (!isDallE) AssertOpenAiShape(text);
        if (!isDallE) Assert.Equal(63.912m, meta.Dec("cost_incurred")); // the fake's usage at gpt-image-2's rates
    }

    [Theory]
    [InlineData("256x256", "url")]
    [InlineData("512x512", "b64_json")]
    public async Task Dall_e_2_small_sizes_are_made_at_1024_and_scaled_down_at_dall_e_2s_price(string size, string format)
    {
        var (client, _) = await UserAsync();

        var (response, text) = await client.GenerateAsync(new { model = "dall-e-2", prompt = "a red kite", size, n = 2, response_format = format });

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.Equal("1024x1024", OnlyUpstreamBody().Str("size"));
        var json = JsonDocument.Parse(text).RootElement;
        var side = int.Parse(size.Split('x')[0]);
        foreach (var datum in json.GetProperty("data").EnumerateArray())
        {
            var png = format == "url"
                ? await client.GetByteArrayAsync(new Uri(datum.Str("url")!).PathAndQuery)
                : Convert.FromBase64String(datum.Str("b64_json")!);
            Assert.Equal((side, side), Api.PngSize(png));
        }
        Assert.Equal(38.4m, json.GetProperty("_metadata").Dec("cost_incurred")); // 16 × 1.2 × 2
    }

    [Theory]
    [InlineData("png", "transparent")]
    [InlineData("webp", "transparent")]
    [InlineData("jpeg", "opaque")]
    public async Task Builtin_preview_honours_output_format_and_background_offline(string format, string background)
    {
        var (client, _) = await UserAsync();

        var (response, text) = await client.GenerateAsync(new
        {
            model = "builtin-preview", prompt = "a red kite", size = "256x256", output_format = format, background,
            output_compression = format == "png" ? (int?)null : 60, response_format = "b64_json",
        });

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var bytes = Convert.FromBase64String(JsonDocument.Parse(text).RootElement.GetProperty("data")[0].Str("b64_json")!);
        ImageFile.AssertFormat(format, bytes);
        var image = ImageFile.Decode(bytes);
        Assert.Equal((256, 256), (image.Width, image.Height));
        Assert.Equal(background == "transparent", image.Pixels.Any(p => p >> 24 < 255));
        Assert.Equal(0, OpenAi.Count);
    }

    [Fact]
    public async Task Dall_e_3_keeps_its_price_and_style_is_accepted_listed_as_ignored_and_not_sent()
    {
        var (client, _) = await UserAsync();

        var (response, text) = await client.GenerateAsync(new { model = "dall-e-3", prompt = "a red kite", quality = "hd", size = "1024x1024", style = "natural" });

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.False(OnlyUpstreamBody().TryGetProperty("style", out _));
        var meta = JsonDocument.Parse(text).RootElement.GetProperty("_metadata");
        Assert.Equal(["style"], meta.GetProperty("ignored").EnumerateArray().Select(e => e.GetString()!).ToArray());
        Assert.Equal(96m, meta.Dec("cost_incurred")); // DESIGN §2: hd 1024x1024 = 80 × 1.2, whatever the tokens
    }

    [Fact]
    public async Task Without_an_openai_key_a_retired_model_is_503_naming_itself_and_its_successor()
    {
        Gateway.Settings["Gateway:Providers:openai:ApiKey"] = "";
        var (client, _) = await UserAsync();

        var response = await client.PostJsonAsync(OpenAiKit.GeneratePath, new { model = "dall-e-2", prompt = "a red kite", size = "512x512" });

        var error = await Api.AssertErrorAsync(response, HttpStatusCode.ServiceUnavailable, "api_error", "no_provider");
        Assert.Equal("dall-e-2 is not available here right now.", error.Str("message"));
        using var admin = Gateway.AdminClient();
        var detailed = await Api.AssertErrorAsync(await admin.PostJsonAsync(OpenAiKit.GeneratePath, new { model = "dall-e-2", prompt = "a red kite", size = "512x512" }),
            HttpStatusCode.ServiceUnavailable, "api_error", "no_provider");
        Assert.Contains("'dall-e-2' (served by gpt-image-2)", detailed.Str("message"));
    }
}
