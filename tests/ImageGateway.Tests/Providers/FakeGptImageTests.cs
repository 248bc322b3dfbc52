using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ImageGateway.Tests.Support;
using SkiaSharp;

namespace ImageGateway.Tests.Providers;

/// <summary>
/// The gpt-image-2 fake over real HTTP: its answers are the spec's ImagesResponse and ErrorResponse,
/// its images decode to the answered size and format, and its usage is the documented arithmetic.
/// </summary>
public sealed class FakeGptImageTests : IAsyncLifetime
{
    private FakeUpstream _host = null!;
    private FakeGptImage _fake = null!;
    private readonly HttpClient _http = new();

    public async Task InitializeAsync()
    {
        _host = await FakeUpstream.StartAsync();
        _fake = FakeGptImage.On(_host);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _host.DisposeAsync();
    }

    private async Task<(HttpResponseMessage Response, string Body)> PostAsync(object body, string path = "/v1/images/generations")
    {
        var json = body as string ?? JsonSerializer.Serialize(body);
        var response = await _http.PostAsync(_host.BaseUrl + path, new StringContent(json, Encoding.UTF8, "application/json"));
        return (response, await response.Content.ReadAsStringAsync());
    }

    private async Task<JsonElement> GenerateAsync(object body, string path = "/v1/images/generations")
    {
        var (response, text) = await PostAsync(body, path);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    private async Task<JsonElement> RejectedAsync(object body, HttpStatusCode status, string? param, string code)
    {
        var (response, text) = await PostAsync(body);
        Assert.True(response.StatusCode == status, $"{(int)response.StatusCode}: {text}");
        OpenAiSpec.AssertValid(text, "ErrorResponse");
        using var doc = JsonDocument.Parse(text);
        var error = doc.RootElement.GetProperty("error").Clone();
        Assert.Equal(code, error.GetProperty("code").GetString());
        if (param is null) Assert.Equal(JsonValueKind.Null, error.GetProperty("param").ValueKind);
        else Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        return error;
    }

    private static byte[] Image(JsonElement answer, int index = 0) =>
        Convert.FromBase64String(answer.GetProperty("data")[index].GetProperty("b64_json").GetString()!);

    private static (SKEncodedImageFormat Format, int Width, int Height) Decode(byte[] bytes)
    {
        using var codec = SKCodec.Create(new SKMemoryStream(bytes));
        Assert.NotNull(codec);
        return (codec.EncodedFormat, codec.Info.Width, codec.Info.Height);
    }

    // ---- success ----

    [Theory]
    [InlineData("1024x1024", "png", SKEncodedImageFormat.Png)]
    [InlineData("1536x1024", "jpeg", SKEncodedImageFormat.Jpeg)]
    [InlineData("1024x1536", "webp", SKEncodedImageFormat.Webp)]
    public async Task A_standard_size_answer_is_a_valid_ImagesResponse_with_real_image_bytes(string size, string format, SKEncodedImageFormat expected)
    {
        var answer = await GenerateAsync(new { model = "gpt-image-2", prompt = "a lighthouse", size, quality = "low", output_format = format });

        OpenAiSpec.AssertValid(answer.GetRawText(), "ImagesResponse");
        Assert.Equal(size, answer.GetProperty("size").GetString());
        Assert.Equal(format, answer.GetProperty("output_format").GetString());
        Assert.Equal("low", answer.GetProperty("quality").GetString());
        Assert.Equal("opaque", answer.GetProperty("background").GetString());
        Assert.False(answer.GetProperty("data")[0].TryGetProperty("url", out _));
        var (decoded, width, height) = Decode(Image(answer));
        Assert.Equal(expected, decoded);
        Assert.Equal(size, $"{width}x{height}");
        Assert.InRange(answer.GetProperty("created").GetInt64(), DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeSeconds());
    }

    [Fact]
    public async Task The_snapshot_name_is_accepted_and_the_path_without_v1_too()
    {
        var answer = await GenerateAsync(new { model = "gpt-image-2-2026-04-21", prompt = "x" }, "/images/generations");
        OpenAiSpec.AssertValid(answer.GetRawText(), "ImagesResponse");
        Assert.Single(_fake.Calls);
    }

    [Fact]
    public async Task Auto_and_absent_fields_are_answered_with_what_was_made()
    {
        var answer = await GenerateAsync(new { model = "gpt-image-2", prompt = "x", size = "auto", quality = "auto", background = "auto" });

        OpenAiSpec.AssertValid(answer.GetRawText(), "ImagesResponse");
        Assert.Equal("1024x1024", answer.GetProperty("size").GetString());
        Assert.Equal("medium", answer.GetProperty("quality").GetString());
        Assert.Equal("opaque", answer.GetProperty("background").GetString());
        Assert.Equal("png", answer.GetProperty("output_format").GetString());
        Assert.Equal((SKEncodedImageFormat.Png, 1024, 1024), Decode(Image(answer)));
        Assert.Equal(1767, answer.GetProperty("usage").GetProperty("output_tokens").GetInt64());
    }

    [Theory]
    [InlineData("png")]
    [InlineData("webp")]
    public async Task A_transparent_background_has_real_alpha(string format)
    {
        var answer = await GenerateAsync(new { model = "gpt-image-2", prompt = "a sticker", background = "transparent", output_format = format, quality = "low" });

        OpenAiSpec.AssertValid(answer.GetRawText(), "ImagesResponse");
        Assert.Equal("transparent", answer.GetProperty("background").GetString());
        using var bitmap = SKBitmap.Decode(Image(answer));
        Assert.NotEqual(SKAlphaType.Opaque, bitmap.Info.AlphaType);
        Assert.Equal(0, bitmap.GetPixel(0, 0).Alpha);
        Assert.Equal(255, bitmap.GetPixel(512, 512).Alpha);
    }

    [Fact]
    public async Task An_opaque_png_has_no_transparent_pixel()
    {
        var answer = await GenerateAsync(new { model = "gpt-image-2", prompt = "x", background = "opaque", quality = "low" });
        using var bitmap = SKBitmap.Decode(Image(answer));
        Assert.Equal(255, bitmap.GetPixel(0, 0).Alpha);
    }

    [Fact]
    public async Task An_arbitrary_size_is_made_at_that_size_though_the_spec_enum_lacks_it()
    {
        var answer = await GenerateAsync(new { model = "gpt-image-2", prompt = "x", size = "1536x864", quality = "low", output_format = "jpeg" });

        Assert.Equal("1536x864", answer.GetProperty("size").GetString());
        Assert.Equal((SKEncodedImageFormat.Jpeg, 1536, 864), Decode(Image(answer)));
        // Only the size enum objects (docs/PROVIDERS.md, "the spec's size gap").
        var errors = OpenAiSpec.Errors(answer.GetRawText(), "ImagesResponse");
        Assert.All(errors, e => Assert.StartsWith("/size:", e));
        Assert.NotEmpty(errors);
    }

    [Fact]
    public async Task N_images_come_back_as_n_items_and_n_times_the_output_tokens()
    {
        var answer = await GenerateAsync(new { model = "gpt-image-2", prompt = "x", n = 3, quality = "low" });

        Assert.Equal(3, answer.GetProperty("data").GetArrayLength());
        for (var i = 0; i < 3; i++) Assert.Equal((SKEncodedImageFormat.Png, 1024, 1024), Decode(Image(answer, i)));
        Assert.Equal(3 * 200, answer.GetProperty("usage").GetProperty("output_tokens").GetInt64());
    }

    // ---- usage ----

    [Theory]
    [InlineData("abcdefghij", "low", "1024x1024", 1, 3, 200)]          // 10 bytes → ⌈10/4⌉ = 3
    [InlineData("ééé", "medium", "1024x1024", 1, 2, 1767)]             // 6 UTF-8 bytes → 2
    [InlineData("a", "high", "1536x1024", 1, 1, 10550)]                // ⌈7033 × 1.5⌉
    [InlineData("abcd", "medium", "1024x1536", 2, 1, 2 * 2651)]        // ⌈1767 × 1.5⌉ = 2651, twice
    [InlineData("abcdefgh", "low", "2048x1152", 1, 2, 450)]            // 200 × 2.25
    public async Task Usage_is_the_documented_arithmetic(string prompt, string quality, string size, int n, long text, long output)
    {
        var answer = await GenerateAsync(new { model = "gpt-image-2", prompt, quality, size, n, output_format = "jpeg" });

        var usage = answer.GetProperty("usage");
        Assert.Equal(text, usage.GetProperty("input_tokens_details").GetProperty("text_tokens").GetInt64());
        Assert.Equal(0, usage.GetProperty("input_tokens_details").GetProperty("image_tokens").GetInt64());
        Assert.Equal(text, usage.GetProperty("input_tokens").GetInt64());
        Assert.Equal(output, usage.GetProperty("output_tokens").GetInt64());
        Assert.Equal(text + output, usage.GetProperty("total_tokens").GetInt64());
        var (w, h) = (int.Parse(size.Split('x')[0]), int.Parse(size.Split('x')[1]));
        Assert.Equal(new FakeGptImage.ImageUsage(text, 0, output), FakeGptImage.UsageFor(prompt, n, quality, w, h));
    }

    [Fact]
    public async Task A_test_can_override_the_usage()
    {
        _fake.UsageOverride = new FakeGptImage.ImageUsage(TextTokens: 50, ImageTokens: 7, OutputTokens: 99_999);
        var answer = await GenerateAsync(new { model = "gpt-image-2", prompt = "x", quality = "low" });

        OpenAiSpec.AssertValid(answer.GetRawText(), "ImagesResponse");
        var usage = answer.GetProperty("usage");
        Assert.Equal(57, usage.GetProperty("input_tokens").GetInt64());
        Assert.Equal(99_999, usage.GetProperty("output_tokens").GetInt64());
        Assert.Equal(100_056, usage.GetProperty("total_tokens").GetInt64());
    }

    [Fact]
    public async Task A_test_can_leave_usage_out()
    {
        _fake.OmitUsage = true;
        var answer = await GenerateAsync(new { model = "gpt-image-2", prompt = "x", quality = "low" });

        OpenAiSpec.AssertValid(answer.GetRawText(), "ImagesResponse");
        Assert.False(answer.TryGetProperty("usage", out _));
        Assert.Equal(1, answer.GetProperty("data").GetArrayLength());
    }

    // ---- request rules ----

    public static TheoryData<string, string, string> BadRequests => new()
    {
        { """{"model":"gpt-image-2","prompt":"x","response_format":"b64_json"}""", "response_format", "unknown_parameter" },
        { """{"model":"gpt-image-2","prompt":"x","response_format":"url"}""", "response_format", "unknown_parameter" },
        { """{"model":"gpt-image-2"}""", "prompt", "missing_required_parameter" },
        { """{"model":"gpt-image-2","prompt":7}""", "prompt", "invalid_type" },
        { """{"model":"gpt-image-2","prompt":"x","size":"1000x1000"}""", "size", "invalid_value" },
        { """{"model":"gpt-image-2","prompt":"x","size":"3072x1008"}""", "size", "invalid_value" },
        { """{"model":"gpt-image-2","prompt":"x","size":"4096x2304"}""", "size", "invalid_value" },
        { """{"model":"gpt-image-2","prompt":"x","size":"3840x2176"}""", "size", "invalid_value" },
        { """{"model":"gpt-image-2","prompt":"x","size":"512x512"}""", "size", "invalid_value" },
        { """{"model":"gpt-image-2","prompt":"x","size":"big"}""", "size", "invalid_value" },
        { """{"model":"gpt-image-2","prompt":"x","size":"1792x1024x2"}""", "size", "invalid_value" },
        { """{"model":"gpt-image-2","prompt":"x","background":"transparent","output_format":"jpeg"}""", "background", "invalid_value" },
        { """{"model":"gpt-image-2","prompt":"x","output_compression":101,"output_format":"jpeg"}""", "output_compression", "integer_above_max_value" },
        { """{"model":"gpt-image-2","prompt":"x","output_compression":-1,"output_format":"webp"}""", "output_compression", "integer_below_min_value" },
        { """{"model":"gpt-image-2","prompt":"x","quality":"hd"}""", "quality", "invalid_value" },
        { """{"model":"gpt-image-2","prompt":"x","quality":"standard"}""", "quality", "invalid_value" },
        { """{"model":"gpt-image-2","prompt":"x","output_format":"gif"}""", "output_format", "invalid_value" },
        { """{"model":"gpt-image-2","prompt":"x","background":"white"}""", "background", "invalid_value" },
        { """{"model":"gpt-image-2","prompt":"x","moderation":"high"}""", "moderation", "invalid_value" },
        { """{"model":"gpt-image-2","prompt":"x","n":0}""", "n", "integer_below_min_value" },
        { """{"model":"gpt-image-2","prompt":"x","n":11}""", "n", "integer_above_max_value" },
        { """{"model":"gpt-image-2","prompt":"x","n":"2"}""", "n", "invalid_type" },
        { """{"model":"gpt-image-2","prompt":"x","n":1.5}""", "n", "invalid_type" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Each_request_rule_is_a_400_naming_its_param(string body, string param, string code)
    {
        var error = await RejectedAsync(body, HttpStatusCode.BadRequest, param, code);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
    }

    [Fact]
    public async Task The_response_format_refusal_is_openais_exact_message()
    {
        var error = await RejectedAsync(new { model = "gpt-image-2", prompt = "x", response_format = "b64_json" }, HttpStatusCode.BadRequest, "response_format", "unknown_parameter");
        Assert.Equal("Unknown parameter: 'response_format'.", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task A_prompt_of_32000_characters_passes_and_one_more_fails()
    {
        // Characters, not bytes: 32,000 two-byte characters are within the limit.
        await GenerateAsync(new { model = "gpt-image-2", prompt = new string('é', FakeGptImage.MaxPromptCharacters), quality = "low", output_format = "jpeg" });
        var error = await RejectedAsync(new { model = "gpt-image-2", prompt = new string('a', FakeGptImage.MaxPromptCharacters + 1) },
            HttpStatusCode.BadRequest, "prompt", "string_above_max_length");
        Assert.Contains("32001", error.GetProperty("message").GetString());
    }

    [Theory]
    [InlineData("3840x2160")]
    [InlineData("2160x3840")]
    [InlineData("3072x1024")]
    [InlineData("1024x640")]
    public async Task Sizes_at_the_limits_are_accepted(string size)
    {
        var answer = await GenerateAsync(new { model = "gpt-image-2", prompt = "x", size, quality = "low", output_format = "jpeg", output_compression = 10 });
        var (_, width, height) = Decode(Image(answer));
        Assert.Equal(size, $"{width}x{height}");
    }

    [Theory]
    [InlineData("dall-e-2")]
    [InlineData("dall-e-3")]
    [InlineData("gpt-image-1")]
    [InlineData("gpt-image-1.5")]
    [InlineData("gpt-image-1-mini")]
    [InlineData("no-such-model")]
    public async Task A_shut_down_or_unknown_model_does_not_exist(string model)
    {
        var error = await RejectedAsync(new { model, prompt = "x" }, HttpStatusCode.NotFound, null, "model_not_found");
        Assert.Equal($"The model `{model}` does not exist or you do not have access to it.", error.GetProperty("message").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
    }

    [Fact]
    public async Task Without_a_model_openai_takes_dall_e_2_which_is_gone()
    {
        var error = await RejectedAsync(new { prompt = "x" }, HttpStatusCode.NotFound, null, "model_not_found");
        Assert.Contains("dall-e-2", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Malformed_json_and_unknown_paths_are_openai_errors()
    {
        var (response, text) = await PostAsync("{not json");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        OpenAiSpec.AssertValid(text, "ErrorResponse");

        (response, text) = await PostAsync(new { model = "gpt-image-2", prompt = "x" }, "/v1/images/generate");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        OpenAiSpec.AssertValid(text, "ErrorResponse");
        Assert.Empty(_fake.Calls);
    }

    [Fact]
    public async Task A_wrong_key_is_a_401_when_the_fake_checks_keys()
    {
        _fake.ApiKey = "sk-right";
        using var request = new HttpRequestMessage(HttpMethod.Post, _host.BaseUrl + "/v1/images/generations")
        {
            Content = new StringContent("""{"model":"gpt-image-2","prompt":"x"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new("Bearer", "sk-wrong");
        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        OpenAiSpec.AssertValid(text, "ErrorResponse");
        Assert.Contains("invalid_api_key", text);
    }

    // ---- scripted failures ----

    [Theory]
    [InlineData(FakeGptImage.Failure.RateLimit, 429, "rate_limit_exceeded", "requests")]
    [InlineData(FakeGptImage.Failure.InsufficientQuota, 429, "insufficient_quota", "insufficient_quota")]
    [InlineData(FakeGptImage.Failure.ServerError, 500, null, "server_error")]
    [InlineData(FakeGptImage.Failure.ContentPolicy, 400, "content_policy_violation", "invalid_request_error")]
    [InlineData(FakeGptImage.Failure.ModerationBlocked, 400, "moderation_blocked", "image_generation_user_error")]
    public async Task A_scripted_failure_is_answered_for_its_count_then_images_again(FakeGptImage.Failure failure, int status, string? code, string type)
    {
        _fake.FailWith(failure, times: 2);

        for (var i = 0; i < 2; i++)
        {
            var (response, text) = await PostAsync(new { model = "gpt-image-2", prompt = "x", quality = "low" });
            Assert.Equal(status, (int)response.StatusCode);
            OpenAiSpec.AssertValid(text, "ErrorResponse");
            using var doc = JsonDocument.Parse(text);
            var error = doc.RootElement.GetProperty("error");
            Assert.Equal(code, error.GetProperty("code").GetString());
            Assert.Equal(type, error.GetProperty("type").GetString());
            Assert.Equal(failure == FakeGptImage.Failure.RateLimit, response.Headers.Contains("retry-after"));
        }
        await GenerateAsync(new { model = "gpt-image-2", prompt = "x", quality = "low" });
        Assert.Equal(3, _fake.Calls.Count);
    }

    [Fact]
    public async Task The_rate_limit_carries_the_configured_retry_after()
    {
        _fake.RetryAfterSeconds = 7;
        _fake.FailWith(FakeGptImage.Failure.RateLimit);

        var (response, _) = await PostAsync(new { model = "gpt-image-2", prompt = "x" });
        var (again, _) = await PostAsync(new { model = "gpt-image-2", prompt = "x" });

        Assert.Equal("7", string.Join(",", response.Headers.GetValues("retry-after")));
        Assert.Equal(HttpStatusCode.TooManyRequests, again.StatusCode);
        _fake.FailWith(FakeGptImage.Failure.None);
        await GenerateAsync(new { model = "gpt-image-2", prompt = "x", quality = "low" });
    }

    [Fact]
    public async Task A_slow_answer_takes_at_least_its_delay()
    {
        _fake.Delay = TimeSpan.FromMilliseconds(400);
        var clock = Stopwatch.StartNew();
        await GenerateAsync(new { model = "gpt-image-2", prompt = "x", quality = "low" });
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(380), $"answered after {clock.Elapsed}");
    }

    [Fact]
    public async Task Every_call_body_is_recorded_as_sent()
    {
        await GenerateAsync(new { model = "gpt-image-2", prompt = "first", quality = "low", user = "u-1" });
        await PostAsync(new { model = "gpt-image-2", prompt = "second", response_format = "url" });

        var calls = _fake.Calls.ToArray();
        Assert.Equal(["first", "second"], calls.Select(c => c["prompt"]!.GetValue<string>()));
        Assert.Equal("u-1", calls[0]["user"]!.GetValue<string>());
        Assert.Equal("url", calls[1]["response_format"]!.GetValue<string>());
        Assert.Equal(2, _host.Requests.Count);
    }
}
