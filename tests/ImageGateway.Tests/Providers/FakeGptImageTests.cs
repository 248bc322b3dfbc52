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

    // ---- edits (multipart) ----

    private static MultipartFormDataContent Form(object fields, params (string Field, byte[] Bytes, string? ContentType)[] files)
    {
        var form = new MultipartFormDataContent();
        foreach (var property in JsonSerializer.SerializeToElement(fields).EnumerateObject())
            form.Add(new StringContent(property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString()! : property.Value.GetRawText()), property.Name);
        var i = 0;
        foreach (var (field, bytes, contentType) in files)
        {
            var part = new ByteArrayContent(bytes);
            if (contentType is not null) part.Headers.ContentType = new(contentType);
            form.Add(part, field, $"file{i++}");
        }
        return form;
    }

    private static (string, byte[], string?) Png(string field, int width, int height, bool alpha = false) =>
        (field, ImageFile.Make(width, height, "png", alpha), "image/png");

    private async Task<(HttpResponseMessage Response, string Body)> EditAsync(MultipartFormDataContent form, string path = "/v1/images/edits")
    {
        var response = await _http.PostAsync(_host.BaseUrl + path, form);
        return (response, await response.Content.ReadAsStringAsync());
    }

    private async Task<JsonElement> EditedAsync(MultipartFormDataContent form, string path = "/v1/images/edits")
    {
        var (response, text) = await EditAsync(form, path);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
        OpenAiSpec.AssertValid(text, "ImagesResponse");
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    [Fact]
    public async Task An_edit_is_answered_like_a_generation_with_image_tokens()
    {
        var answer = await EditedAsync(Form(new { model = "gpt-image-2", prompt = "add a hat", size = "1536x1024", quality = "low", output_format = "webp" },
            Png("image[]", 1024, 1024), ("image[]", ImageFile.Make(1536, 1024, "jpeg"), "image/jpeg"), ("image[]", ImageFile.Make(640, 480, "webp"), "image/webp")));

        Assert.Equal((SKEncodedImageFormat.Webp, 1536, 1024), Decode(Image(answer)));
        var usage = answer.GetProperty("usage");
        // 1024x1024 → 768x768, 4 tiles; 1536x1024 → 1152x768, 6 tiles; 640x480 stays, 2 tiles.
        long images = (170 * 4 + 85) + (170 * 6 + 85) + (170 * 2 + 85);
        Assert.Equal(images, usage.GetProperty("input_tokens_details").GetProperty("image_tokens").GetInt64());
        Assert.Equal(3 + images, usage.GetProperty("input_tokens").GetInt64()); // "add a hat": 9 bytes → 3
        Assert.Equal(300, usage.GetProperty("output_tokens").GetInt64());
        var expected = FakeGptImage.UsageForEdit("add a hat", 1, "low", 1536, 1024, [(1024, 1024), (1536, 1024), (640, 480)]);
        Assert.Equal(expected.InputTokens, usage.GetProperty("input_tokens").GetInt64());
        Assert.Equal(expected.TotalTokens, usage.GetProperty("total_tokens").GetInt64());

        var call = Assert.Single(_fake.EditCalls);
        Assert.Equal(["image/png", "image/jpeg", "image/webp"], call.Images.Select(f => f.ContentType));
        Assert.Equal("add a hat", call.Fields["prompt"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(null, 765)]
    [InlineData("low", 765)]
    [InlineData("high", 1530)]
    public async Task High_input_fidelity_doubles_the_image_tokens(string? fidelity, long tokens)
    {
        object fields = fidelity is null
            ? new { model = "gpt-image-2", prompt = "x", quality = "low" }
            : new { model = "gpt-image-2", prompt = "x", quality = "low", input_fidelity = fidelity };
        var answer = await EditedAsync(Form(fields, Png("image", 1024, 1024)), "/images/edits");

        Assert.Equal(tokens, answer.GetProperty("usage").GetProperty("input_tokens_details").GetProperty("image_tokens").GetInt64());
        Assert.Equal(tokens, FakeGptImage.InputImageTokens(1024, 1024, fidelity));
    }

    [Theory]
    [InlineData(1024, 1024, 1024, 1024)]
    [InlineData(1000, 750, 1008, 752)]   // rounded to multiples of 16
    [InlineData(500, 500, 1024, 1024)]   // too few pixels: the default
    [InlineData(4000, 1000, 1024, 1024)] // beyond 3:1: the default
    public async Task Size_auto_for_an_edit_follows_the_first_image(int w, int h, int answeredW, int answeredH)
    {
        var (response, text) = await EditAsync(Form(new { model = "gpt-image-2", prompt = "x", size = "auto", quality = "low", output_format = "jpeg" },
            ("image[]", ImageFile.Make(w, h, "jpeg"), "image/jpeg"), Png("image[]", 1024, 1536)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // Only the spec's size enum may object (docs/PROVIDERS.md, "the spec's size-enum gap").
        Assert.All(OpenAiSpec.Errors(text, "ImagesResponse"), e => Assert.StartsWith("/size:", e));
        Assert.Equal((answeredW, answeredH), FakeGptImage.AutoEditSize(w, h));
        using var doc = JsonDocument.Parse(text);
        var (_, width, height) = Decode(Image(doc.RootElement));
        Assert.Equal((answeredW, answeredH), (width, height));
    }

    [Fact]
    public async Task A_mask_the_size_of_the_first_image_with_alpha_is_accepted()
    {
        await EditedAsync(Form(new { model = "gpt-image-2", prompt = "x", quality = "low" }, Png("image", 1024, 1024), Png("mask", 1024, 1024, alpha: true)));
        Assert.NotNull(Assert.Single(_fake.EditCalls).Mask);
    }

    public static TheoryData<string, string, string> BadEdits => new()
    {
        { "no image", "image", "missing_required_parameter" },
        { "no prompt", "prompt", "missing_required_parameter" },
        { "17 images", "image", "array_above_max_length" },
        { "gif", "image[0]", "unsupported_file_mimetype" },
        { "octet-stream single", "image", "unsupported_file_mimetype" },
        { "no content type", "image[0]", "missing_file_mimetype" },
        { "not an image", "image[1]", "invalid_image_file" },
        { "mask size", "mask", "invalid_image_file" },
        { "mask without alpha", "mask", "invalid_image_file" },
        { "mask jpeg", "mask", "invalid_image_file" },
        { "fidelity", "input_fidelity", "invalid_value" },
        { "quality", "quality", "invalid_value" },
        { "partial_images", "partial_images", "integer_above_max_value" },
        { "n text", "n", "invalid_type" },
        { "stream text", "stream", "invalid_type" },
        { "image as text", "image", "invalid_type" },
    };

    [Theory]
    [MemberData(nameof(BadEdits))]
    public async Task Each_edit_rule_is_a_400_naming_its_param(string rule, string param, string code)
    {
        var ok = new { model = "gpt-image-2", prompt = "x" };
        var image = Png("image[]", 1024, 1024);
        var form = rule switch
        {
            "no image" => Form(ok),
            "no prompt" => Form(new { model = "gpt-image-2" }, image),
            "17 images" => Form(ok, Enumerable.Repeat(image, 17).ToArray()),
            "gif" => Form(ok, ("image[]", "GIF89a"u8.ToArray(), "image/gif")),
            "octet-stream single" => Form(ok, ("image", ImageFile.Make(64, 64), "application/octet-stream")),
            "no content type" => Form(ok, ("image[]", ImageFile.Make(64, 64), null)),
            "not an image" => Form(ok, image, ("image[]", "not a png at all"u8.ToArray(), "image/png")),
            "mask size" => Form(ok, image, Png("mask", 512, 512, alpha: true)),
            "mask without alpha" => Form(ok, image, Png("mask", 1024, 1024)),
            "mask jpeg" => Form(ok, image, ("mask", ImageFile.Make(1024, 1024, "jpeg"), "image/jpeg")),
            "fidelity" => Form(new { model = "gpt-image-2", prompt = "x", input_fidelity = "medium" }, image),
            "quality" => Form(new { model = "gpt-image-2", prompt = "x", quality = "hd" }, image),
            "partial_images" => Form(new { model = "gpt-image-2", prompt = "x", stream = true, partial_images = 4 }, image),
            "n text" => Form(new { model = "gpt-image-2", prompt = "x", n = "two" }, image),
            "stream text" => Form(new { model = "gpt-image-2", prompt = "x", stream = "yes" }, image),
            _ => Form(new { model = "gpt-image-2", prompt = "x", image = "a.png" }),
        };
        var (response, text) = await EditAsync(form);

        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {text}");
        OpenAiSpec.AssertValid(text, "ErrorResponse");
        using var doc = JsonDocument.Parse(text);
        Assert.Equal(param, doc.RootElement.GetProperty("error").GetProperty("param").GetString());
        Assert.Equal(code, doc.RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("gpt-image-1")]
    [InlineData("dall-e-2")]
    [InlineData(null)] // the spec's default for edits, gpt-image-1.5, is shut down too
    public async Task An_edit_for_a_shut_down_model_does_not_exist(string? model)
    {
        object fields = model is null ? new { prompt = "x" } : new { model, prompt = "x" };
        var (response, text) = await EditAsync(Form(fields, Png("image", 64, 64)));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using var doc = JsonDocument.Parse(text);
        Assert.Equal($"The model `{model ?? "gpt-image-1.5"}` does not exist or you do not have access to it.",
            doc.RootElement.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task An_edit_that_is_not_multipart_is_a_400_and_failures_and_usage_switches_work_for_edits()
    {
        var (response, _) = await PostAsync(new { model = "gpt-image-2", prompt = "x" }, "/v1/images/edits");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);

        _fake.FailWith(FakeGptImage.Failure.ModerationBlocked, times: 1);
        (response, var text) = await EditAsync(Form(new { model = "gpt-image-2", prompt = "x" }, Png("image", 64, 64)));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("moderation_blocked", text);

        _fake.UsageOverride = new FakeGptImage.ImageUsage(1, 2, 3);
        var answer = await EditedAsync(Form(new { model = "gpt-image-2", prompt = "x", quality = "low" }, Png("image", 1024, 1024)));
        Assert.Equal(6, answer.GetProperty("usage").GetProperty("total_tokens").GetInt64());
        _fake.OmitUsage = true;
        answer = await EditedAsync(Form(new { model = "gpt-image-2", prompt = "x", quality = "low" }, Png("image", 1024, 1024)));
        Assert.False(answer.TryGetProperty("usage", out _));
    }

    // ---- streaming ----

    private sealed record Sse(string? Event, string Data);

    /// <summary>Reads a whole event stream as sent: each event's <c>event:</c> name and <c>data:</c>.</summary>
    private static async Task<List<Sse>> ReadEventsAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        Assert.EndsWith("\n\n", text);
        return text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(block =>
        {
            var lines = block.Split('\n');
            var name = lines.FirstOrDefault(l => l.StartsWith("event: "))?["event: ".Length..];
            var data = string.Join("\n", lines.Where(l => l.StartsWith("data: ")).Select(l => l["data: ".Length..]));
            return new Sse(name, data);
        }).ToList();
    }

    /// <summary>Posts a generation and returns as soon as the headers are in, the body left to stream.</summary>
    private Task<HttpResponseMessage> StreamPostAsync(object body, CancellationToken ct) =>
        _http.SendAsync(new HttpRequestMessage(HttpMethod.Post, _host.BaseUrl + "/v1/images/generations")
        {
            Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
        }, HttpCompletionOption.ResponseHeadersRead, ct);

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task A_streamed_generation_sends_its_partials_then_the_completed_event_each_valid(int partials)
    {
        using var response = await _http.PostAsync(_host.BaseUrl + "/v1/images/generations", new StringContent(
            JsonSerializer.Serialize(new { model = "gpt-image-2", prompt = "abcd", quality = "low", stream = true, partial_images = partials }), Encoding.UTF8, "application/json"));
        var events = await ReadEventsAsync(response);

        Assert.Equal(partials + 1, events.Count);
        var images = new List<byte[]>();
        for (var i = 0; i < partials; i++)
        {
            Assert.Equal("image_generation.partial_image", events[i].Event);
            OpenAiSpec.AssertValid(events[i].Data, "ImageGenPartialImageEvent");
            OpenAiSpec.AssertValid(events[i].Data, "ImageGenStreamEvent");
            using var doc = JsonDocument.Parse(events[i].Data);
            Assert.Equal(i, doc.RootElement.GetProperty("partial_image_index").GetInt32());
            images.Add(Convert.FromBase64String(doc.RootElement.GetProperty("b64_json").GetString()!));
        }
        var last = events[^1];
        Assert.Equal("image_generation.completed", last.Event);
        OpenAiSpec.AssertValid(last.Data, "ImageGenCompletedEvent");
        using (var doc = JsonDocument.Parse(last.Data))
        {
            Assert.Equal(FakeGptImage.UsageFor("abcd", 1, "low", 1024, 1024).TotalTokens, doc.RootElement.GetProperty("usage").GetProperty("total_tokens").GetInt64());
            images.Add(Convert.FromBase64String(doc.RootElement.GetProperty("b64_json").GetString()!));
        }
        Assert.All(images, bytes => Assert.Equal((SKEncodedImageFormat.Png, 1024, 1024), Decode(bytes)));
        Assert.Equal(images.Count, images.Select(Convert.ToBase64String).Distinct().Count()); // each partial is its own render
        Assert.DoesNotContain(events, e => e.Data == "[DONE]");
    }

    [Fact]
    public async Task A_streamed_edit_sends_image_edit_events_with_the_image_tokens()
    {
        using var response = await _http.PostAsync(_host.BaseUrl + "/v1/images/edits",
            Form(new { model = "gpt-image-2", prompt = "x", quality = "medium", stream = true, partial_images = 1, output_format = "jpeg", size = "1024x1536" }, Png("image", 1024, 1024)));
        var events = await ReadEventsAsync(response);

        Assert.Equal(["image_edit.partial_image", "image_edit.completed"], events.Select(e => e.Event));
        OpenAiSpec.AssertValid(events[0].Data, "ImageEditPartialImageEvent");
        OpenAiSpec.AssertValid(events[1].Data, "ImageEditCompletedEvent");
        OpenAiSpec.AssertValid(events[1].Data, "ImageEditStreamEvent");
        using var doc = JsonDocument.Parse(events[1].Data);
        Assert.Equal(765, doc.RootElement.GetProperty("usage").GetProperty("input_tokens_details").GetProperty("image_tokens").GetInt64());
        Assert.Equal((SKEncodedImageFormat.Jpeg, 1024, 1536), Decode(Convert.FromBase64String(doc.RootElement.GetProperty("b64_json").GetString()!)));
    }

    [Fact]
    public async Task With_n_images_each_gets_its_partials_and_completed_event_and_the_usage_adds_up()
    {
        using var response = await _http.PostAsync(_host.BaseUrl + "/v1/images/generations", new StringContent(
            JsonSerializer.Serialize(new { model = "gpt-image-2", prompt = "abcd", quality = "low", n = 3, stream = true, partial_images = 1 }), Encoding.UTF8, "application/json"));
        var events = await ReadEventsAsync(response);

        Assert.Equal(Enumerable.Range(0, 3).SelectMany(_ => new[] { "image_generation.partial_image", "image_generation.completed" }), events.Select(e => e.Event));
        var usages = events.Where(e => e.Event == "image_generation.completed").Select(e => JsonDocument.Parse(e.Data).RootElement.GetProperty("usage")).ToList();
        var expected = FakeGptImage.UsageFor("abcd", 3, "low", 1024, 1024);
        Assert.Equal(expected.TotalTokens, usages.Sum(u => u.GetProperty("total_tokens").GetInt64()));
        Assert.Equal(expected.TextTokens, usages[0].GetProperty("input_tokens").GetInt64());
        Assert.All(usages.Skip(1), u => Assert.Equal(0, u.GetProperty("input_tokens").GetInt64()));
    }

    [Theory]
    [InlineData(FakeGptImage.StreamBreak.ServerError, "server_error")]
    [InlineData(FakeGptImage.StreamBreak.ModerationBlocked, "image_generation_user_error")]
    public async Task A_scripted_stream_failure_sends_k_partials_then_an_error_event(FakeGptImage.StreamBreak how, string type)
    {
        _fake.FailAfterPartials(1, how);
        using var response = await _http.PostAsync(_host.BaseUrl + "/v1/images/generations", new StringContent(
            JsonSerializer.Serialize(new { model = "gpt-image-2", prompt = "x", quality = "low", stream = true, partial_images = 3 }), Encoding.UTF8, "application/json"));
        var events = await ReadEventsAsync(response);

        Assert.Equal(["image_generation.partial_image", "error"], events.Select(e => e.Event));
        using var doc = JsonDocument.Parse(events[1].Data);
        Assert.Equal("error", doc.RootElement.GetProperty("type").GetString());
        OpenAiSpec.AssertValid(JsonSerializer.Serialize(new { error = doc.RootElement.GetProperty("error") }), "ErrorResponse");
        Assert.Equal(type, doc.RootElement.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task A_dropped_stream_ends_in_the_middle_of_an_event()
    {
        _fake.FailAfterPartials(2, FakeGptImage.StreamBreak.Drop);
        using var response = await StreamPostAsync(new { model = "gpt-image-2", prompt = "x", quality = "low", stream = true, partial_images = 3 }, CancellationToken.None);
        await Assert.ThrowsAnyAsync<Exception>(() => response.Content.ReadAsStringAsync());
        Assert.Equal(0, _fake.CancelledStreams);
    }

    [Fact]
    public async Task A_client_that_goes_away_mid_stream_is_counted_as_a_cancelled_stream()
    {
        _fake.EventDelay = TimeSpan.FromMilliseconds(200);
        using var cts = new CancellationTokenSource();
        using var response = await StreamPostAsync(new { model = "gpt-image-2", prompt = "x", quality = "low", stream = true, partial_images = 3 }, cts.Token);
        var stream = await response.Content.ReadAsStreamAsync(cts.Token);
        var buffer = new byte[64];
        await stream.ReadAsync(buffer, cts.Token); // the stream has begun
        // Cancel a read that waits for the next event: that aborts the connection (disposing alone would drain it).
        cts.CancelAfter(100);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => { while (await stream.ReadAsync(buffer, cts.Token) > 0) { } });

        Assert.True(await _fake.WaitForCancelledStreamsAsync(1, TimeSpan.FromSeconds(5)));
        Assert.DoesNotContain(_fake.SentEvents, e => e.Type == "image_generation.completed");

        // A stream read to its end is not counted.
        _fake.EventDelay = TimeSpan.Zero;
        using var whole = await _http.PostAsync(_host.BaseUrl + "/v1/images/generations", new StringContent(
            JsonSerializer.Serialize(new { model = "gpt-image-2", prompt = "x", quality = "low", stream = true, partial_images = 1 }), Encoding.UTF8, "application/json"));
        await ReadEventsAsync(whole);
        await Task.Delay(100);
        Assert.Equal(1, _fake.CancelledStreams);
    }
}
