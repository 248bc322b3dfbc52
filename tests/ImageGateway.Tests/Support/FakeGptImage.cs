using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using SkiaSharp;

namespace ImageGateway.Tests.Support;

/// <summary>
/// OpenAI's <c>POST /v1/images/generations</c> for the GPT-image models, as an answer for
/// <see cref="FakeUpstream"/> (also at <c>/images/generations</c>, for a BaseUrl without <c>/v1</c>).
/// Wire facts and their sources: docs/PROVIDERS.md. It accepts <c>gpt-image-2</c> and its snapshot,
/// checks the request as OpenAI does (a 400 naming <c>param</c>), and answers the spec's
/// ImagesResponse with real PNG/JPEG/WebP bytes at the answered size (a flat picture, to stay fast).
/// <para>Simplified on purpose: <c>quality: auto</c> is answered <c>medium</c>, <c>size: auto</c>
/// <c>1024x1024</c>, <c>background: auto</c> <c>opaque</c>. Edits (multipart) are in
/// FakeGptImage.Edits.cs, <c>stream: true</c> answers in FakeGptImage.Stream.cs.</para>
/// <para>Usage (deterministic): text_tokens = ⌈prompt UTF-8 bytes / 4⌉, image_tokens = 0,
/// output_tokens = n × ⌈<see cref="OutputTokensAt1024"/>[quality] × W×H / 1024²⌉,
/// input = text + image, total = input + output. See <see cref="UsageFor"/>.</para>
/// </summary>
public sealed partial class FakeGptImage
{
    public static readonly IReadOnlyList<string> Models = ["gpt-image-2", "gpt-image-2-2026-04-21"];

    /// <summary>Shut down upstream (2026): OpenAI answers them as models that do not exist.</summary>
    public static readonly IReadOnlyList<string> ShutDownModels = ["dall-e-2", "dall-e-3", "gpt-image-1", "gpt-image-1.5", "gpt-image-1-mini", "chatgpt-image-latest"];

    /// <summary>Output tokens of one image at 1024x1024 (OpenAI's per-image prices at $30 per 1M).</summary>
    public static readonly IReadOnlyDictionary<string, int> OutputTokensAt1024 =
        new Dictionary<string, int> { ["low"] = 200, ["medium"] = 1767, ["high"] = 7033 };

    public const int MaxPromptCharacters = 32_000;
    public const int MaxEdge = 3840;
    public const long MaxPixels = 3840L * 2160;
    public const long MinPixels = 655_360;

    public enum Failure { None, RateLimit, InsufficientQuota, ServerError, ContentPolicy, ModerationBlocked }

    public sealed record ImageUsage(long TextTokens, long ImageTokens, long OutputTokens)
    {
        public long InputTokens => TextTokens + ImageTokens;
        public long TotalTokens => InputTokens + OutputTokens;
    }

    // Exact OpenAI bodies (docs/PROVIDERS.md has their sources).
    public const string RateLimitBody =
        """{"error":{"message":"Rate limit reached for gpt-image-2 in organization org-fake on images per minute (IPM): Limit 5, Used 5, Requested 1. Please try again in 1s.","type":"requests","param":null,"code":"rate_limit_exceeded"}}""";
    public const string InsufficientQuotaBody =
        """{"error":{"message":"You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}""";
    public const string ServerErrorBody =
        """{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}""";
    public const string ContentPolicyBody =
        """{"error":{"code":"content_policy_violation","message":"Your request was rejected as a result of our safety system. Your prompt may contain text that is not allowed by our safety system.","param":null,"type":"invalid_request_error"}}""";
    public const string ModerationBlockedBody =
        """{"error":{"message":"Your request was rejected by the safety system. If you believe this is an error, contact us at help.openai.com and include the request ID req_fake0001.","type":"image_generation_user_error","param":null,"code":"moderation_blocked"}}""";

    private int _failuresLeft;

    /// <summary>The JSON body of every generations call, in arrival order (FakeUpstream records the raw requests).</summary>
    public ConcurrentQueue<JsonObject> Calls { get; } = new();

    /// <summary>The scripted failure, answered instead of an image while <see cref="FailWith"/>'s count lasts.</summary>
    public Failure Failing { get; private set; }

    /// <summary>The <c>retry-after</c> header (seconds) of the 429 answers.</summary>
    public int RetryAfterSeconds { get; set; } = 1;

    /// <summary>Waits this long before answering anything (a slow upstream); the wait ends if the caller goes away.</summary>
    public TimeSpan Delay { get; set; }

    /// <summary>Replaces the computed usage of a success (e.g. more than the gateway held).</summary>
    public ImageUsage? UsageOverride { get; set; }

    /// <summary>Answers success without <c>usage</c>, as an upstream that leaves it out.</summary>
    public bool OmitUsage { get; set; }

    /// <summary>When set, any other bearer key is answered 401 <c>invalid_api_key</c>.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Answers with <paramref name="failure"/> for the next <paramref name="times"/> calls, then with images again.</summary>
    public void FailWith(Failure failure, int times = int.MaxValue)
    {
        Failing = failure;
        Volatile.Write(ref _failuresLeft, failure == Failure.None ? 0 : times);
    }

    /// <summary>Makes this the answer of <paramref name="host"/>.</summary>
    public static FakeGptImage On(FakeUpstream host)
    {
        var fake = new FakeGptImage();
        host.Handler = fake.AnswerAsync;
        return fake;
    }

    public static bool IsGenerationsPath(HttpContext http) =>
        FakeUpstream.IsPost(http, "/v1/images/generations") || FakeUpstream.IsPost(http, "/images/generations");

    /// <summary>The handler: a <see cref="FakeUpstream.Handler"/>, or a step of another fake's.</summary>
    public async Task AnswerAsync(HttpContext http, RecordedRequest request)
    {
        if (Delay > TimeSpan.Zero)
        {
            try { await Task.Delay(Delay, http.RequestAborted); }
            catch (OperationCanceledException) { return; }
        }
        if (IsEditsPath(http))
        {
            await AnswerEditAsync(http, request);
            return;
        }
        if (!IsGenerationsPath(http))
        {
            await Error(http, 404, $"Invalid URL ({http.Request.Method} {http.Request.Path})", "invalid_request_error", null, null);
            return;
        }
        if (ApiKey is not null && request.Authorization != "Bearer " + ApiKey)
        {
            await Error(http, 401, "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
                "invalid_request_error", null, "invalid_api_key");
            return;
        }

        JsonObject body;
        try { body = JsonNode.Parse(request.Body) as JsonObject ?? throw new JsonException(); }
        catch (JsonException)
        {
            await Error(http, 400, "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
                "invalid_request_error", null, null);
            return;
        }
        Calls.Enqueue(body);

        if (TakeFailure() is { } failure)
        {
            await AnswerFailure(http, failure);
            return;
        }

        var parsed = Check(body, edit: false);
        if (parsed.Error is { } error)
        {
            await Error(http, error.Status, error.Message, "invalid_request_error", error.Param, error.Code);
            return;
        }
        await AnswerAsync(http, parsed.Request!);
    }

    /// <summary>A checked request's success: one JSON answer, or a stream of events when it asked for one.</summary>
    private Task AnswerAsync(HttpContext http, GenerationRequest request) =>
        request.Stream ? StreamAsync(http, request) : FakeUpstream.Json(http, 200, Answer(request).ToJsonString());

    /// <summary>The documented usage of a success (see the class summary).</summary>
    public static ImageUsage UsageFor(string prompt, int n, string quality, int width, int height)
    {
        long bytes = Encoding.UTF8.GetByteCount(prompt);
        var text = Math.Min(bytes, (bytes + 3) / 4);
        var perImage = ((long)OutputTokensAt1024[quality] * width * height + 1024 * 1024 - 1) / (1024 * 1024);
        return new ImageUsage(text, 0, n * perImage);
    }

    private Failure? TakeFailure()
    {
        while (true)
        {
            var left = Volatile.Read(ref _failuresLeft);
            if (left <= 0) return null;
            var next = left == int.MaxValue ? left : left - 1;
            if (Interlocked.CompareExchange(ref _failuresLeft, next, left) == left) return Failing;
        }
    }

    private Task AnswerFailure(HttpContext http, Failure failure)
    {
        switch (failure)
        {
            case Failure.RateLimit:
                http.Response.Headers["retry-after"] = RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
                return FakeUpstream.Json(http, 429, RateLimitBody);
            case Failure.InsufficientQuota:
                return FakeUpstream.Json(http, 429, InsufficientQuotaBody);
            case Failure.ContentPolicy:
                return FakeUpstream.Json(http, 400, ContentPolicyBody);
            case Failure.ModerationBlocked:
                return FakeUpstream.Json(http, 400, ModerationBlockedBody);
            default:
                return FakeUpstream.Json(http, 500, ServerErrorBody);
        }
    }

    // ---- the request, checked as OpenAI checks it ----

    private sealed record Rejection(int Status, string Message, string? Param, string? Code);

    private sealed record GenerationRequest(string Prompt, int N, string Quality, string OutputFormat, string Background,
        int Width, int Height, int? Compression)
    {
        public bool Stream { get; init; }
        public int PartialImages { get; init; }
        public bool IsEdit { get; init; }
        public string? InputFidelity { get; init; }
        /// <summary>An edit's input images (width, height), for the image-token usage.</summary>
        public IReadOnlyList<(int Width, int Height)> Inputs { get; init; } = [];

        public ImageUsage Usage => IsEdit
            ? UsageForEdit(Prompt, N, Quality, Width, Height, Inputs, InputFidelity)
            : UsageFor(Prompt, N, Quality, Width, Height);
    }

    /// <summary>
    /// The rules generations and edits share. An edit's form fields come as a JSON object too (numbers
    /// and booleans parsed where they parse), with <paramref name="autoSize"/> the size <c>auto</c> makes.
    /// </summary>
    private static (GenerationRequest? Request, Rejection? Error) Check(JsonObject body, bool edit, (int Width, int Height)? autoSize = null)
    {
        static (GenerationRequest?, Rejection?) Reject(string message, string? param, string? code, int status = 400) =>
            (null, new Rejection(status, message, param, code));

        // Without a model OpenAI takes the spec's default (dall-e-2; gpt-image-1.5 for edits), both shut down.
        if (!TryString(body, "model", out var model, out var typeError)) return (null, typeError);
        model ??= edit ? "gpt-image-1.5" : "dall-e-2";
        if (!Models.Contains(model))
            return Reject($"The model `{model}` does not exist or you do not have access to it.", null, "model_not_found", 404);

        if (body.ContainsKey("response_format"))
            return Reject("Unknown parameter: 'response_format'.", "response_format", "unknown_parameter");

        if (!TryString(body, "prompt", out var prompt, out typeError)) return (null, typeError);
        if (prompt is null) return Reject("Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter");
        var characters = prompt.EnumerateRunes().Count();
        if (characters > MaxPromptCharacters)
            return Reject($"Invalid 'prompt': string too long. Expected a string with maximum length {MaxPromptCharacters}, but got a string with length {characters} instead.",
                "prompt", "string_above_max_length");

        if (!TryInteger(body, "n", out var n, out typeError)) return (null, typeError);
        n ??= 1;
        if (n < 1) return Reject($"Invalid 'n': integer below minimum value. Expected a value >= 1, but got {n} instead.", "n", "integer_below_min_value");
        if (n > 10) return Reject($"Invalid 'n': integer above maximum value. Expected a value <= 10, but got {n} instead.", "n", "integer_above_max_value");

        string? quality = null, outputFormat = null, background = null, inputFidelity = null;
        foreach (var (field, allowed) in new[]
                 {
                     ("quality", new[] { "low", "medium", "high", "auto" }),
                     ("output_format", new[] { "png", "jpeg", "webp" }),
                     ("background", new[] { "transparent", "opaque", "auto" }),
                     ("moderation", new[] { "low", "auto" }),
                     ("input_fidelity", new[] { "high", "low" }),
                 })
        {
            if (!TryString(body, field, out var value, out typeError)) return (null, typeError);
            if (value is not null && !allowed.Contains(value))
                return Reject($"Invalid value: '{value}'. Supported values are: {Quoted(allowed)}.", field, "invalid_value");
            if (field == "quality") quality = value;
            else if (field == "output_format") outputFormat = value;
            else if (field == "background") background = value;
            else if (field == "input_fidelity") inputFidelity = value;
        }
        if (inputFidelity is not null && !edit)
            return Reject("Unknown parameter: 'input_fidelity'.", "input_fidelity", "unknown_parameter");
        outputFormat ??= "png";
        if (background == "transparent" && outputFormat == "jpeg")
            return Reject("Transparent background is not supported with output_format 'jpeg'. Use 'png' or 'webp'.", "background", "invalid_value");

        if (!TryInteger(body, "output_compression", out var compression, out typeError)) return (null, typeError);
        if (compression < 0)
            return Reject($"Invalid 'output_compression': integer below minimum value. Expected a value >= 0, but got {compression} instead.", "output_compression", "integer_below_min_value");
        if (compression > 100)
            return Reject($"Invalid 'output_compression': integer above maximum value. Expected a value <= 100, but got {compression} instead.", "output_compression", "integer_above_max_value");

        if (!TryString(body, "size", out var size, out typeError)) return (null, typeError);
        var (width, height, sizeError) = size is null or "auto" && autoSize is { } auto ? (auto.Width, auto.Height, null) : ParseSize(size ?? "auto");
        if (sizeError is not null) return Reject(sizeError, "size", "invalid_value");

        if (!TryString(body, "user", out _, out typeError)) return (null, typeError);

        var streaming = false;
        if (body["stream"] is { } streamNode)
        {
            if (streamNode is not JsonValue streamValue || !streamValue.TryGetValue(out streaming))
                return Reject($"Invalid type for 'stream': expected a boolean, but got {Kind(streamNode)} instead.", "stream", "invalid_type");
        }
        if (!TryInteger(body, "partial_images", out var partials, out typeError)) return (null, typeError);
        if (partials < 0)
            return Reject($"Invalid 'partial_images': integer below minimum value. Expected a value >= 0, but got {partials} instead.", "partial_images", "integer_below_min_value");
        if (partials > 3)
            return Reject($"Invalid 'partial_images': integer above maximum value. Expected a value <= 3, but got {partials} instead.", "partial_images", "integer_above_max_value");

        return (new GenerationRequest(prompt, n.Value, quality is null or "auto" ? "medium" : quality, outputFormat,
            background == "transparent" ? "transparent" : "opaque", width, height, compression)
        {
            Stream = streaming,
            PartialImages = partials ?? 0,
            IsEdit = edit,
            InputFidelity = inputFidelity,
        }, null);
    }

    /// <summary>gpt-image-2's size rule: auto, or WxH with both sides divisible by 16, at most 3:1, within the pixel and edge limits.</summary>
    private static (int Width, int Height, string? Error) ParseSize(string size)
    {
        if (size is "auto") return (1024, 1024, null);
        var parts = size.Split('x');
        if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var w)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var h) || w <= 0 || h <= 0)
            return (0, 0, $"Invalid size '{size}'. Expected WIDTHxHEIGHT, for example '1536x1024', or 'auto'.");
        if (w % 16 != 0 || h % 16 != 0)
            return (0, 0, $"Invalid size '{size}'. Width and height must both be divisible by 16.");
        if (Math.Max(w, h) > 3 * Math.Min(w, h))
            return (0, 0, $"Invalid size '{size}'. The aspect ratio must be between 1:3 and 3:1.");
        if (Math.Max(w, h) > MaxEdge || (long)w * h > MaxPixels)
            return (0, 0, $"Invalid size '{size}'. The maximum supported resolution is 3840x2160.");
        if ((long)w * h < MinPixels)
            return (0, 0, $"Invalid size '{size}'. The image must have at least {MinPixels} pixels.");
        return (w, h, null);
    }

    private static bool TryString(JsonObject body, string field, out string? value, out Rejection? error)
    {
        value = null;
        error = null;
        var node = body[field];
        if (node is null) return true;
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.String)
        {
            value = v.GetValue<string>();
            return true;
        }
        error = new Rejection(400, $"Invalid type for '{field}': expected a string, but got {Kind(node)} instead.", field, "invalid_type");
        return false;
    }

    private static bool TryInteger(JsonObject body, string field, out int? value, out Rejection? error)
    {
        value = null;
        error = null;
        var node = body[field];
        if (node is null) return true;
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<int>(out var number))
        {
            value = number;
            return true;
        }
        error = new Rejection(400, $"Invalid type for '{field}': expected an integer, but got {Kind(node)} instead.", field, "invalid_type");
        return false;
    }

    private static string Kind(JsonNode node) => node.GetValueKind() switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a decimal",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Array => "an array",
        _ => "an object",
    };

    private static string Quoted(string[] values) =>
        string.Join(", ", values[..^1].Select(v => $"'{v}'")) + $", and '{values[^1]}'";

    // ---- the answer ----

    private JsonObject Answer(GenerationRequest request)
    {
        var image = Convert.ToBase64String(Render(request));
        var data = new JsonArray();
        for (var i = 0; i < request.N; i++) data.Add(new JsonObject { ["b64_json"] = image });
        var answer = new JsonObject
        {
            ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["data"] = data,
            ["background"] = request.Background,
            ["output_format"] = request.OutputFormat,
            ["size"] = $"{request.Width}x{request.Height}",
            ["quality"] = request.Quality,
        };
        if (!OmitUsage) answer["usage"] = UsageJson(UsageOverride ?? request.Usage);
        return answer;
    }

    private static JsonObject UsageJson(ImageUsage usage) => new()
    {
        ["input_tokens"] = usage.InputTokens,
        ["input_tokens_details"] = new JsonObject { ["text_tokens"] = usage.TextTokens, ["image_tokens"] = usage.ImageTokens },
        ["output_tokens"] = usage.OutputTokens,
        ["total_tokens"] = usage.TotalTokens,
    };

    /// <summary>
    /// A flat picture at the answered size: one colour with a second-colour square, on transparency when
    /// asked. A partial image (<paramref name="partial"/> ≥ 0) is a coarser render: a grey square that
    /// grows with the index, so each partial differs from the others and from the final image.
    /// </summary>
    private static byte[] Render(GenerationRequest request, int partial = -1)
    {
        var transparent = request.Background == "transparent";
        using var bitmap = new SKBitmap(new SKImageInfo(request.Width, request.Height, SKColorType.Rgba8888,
            transparent ? SKAlphaType.Unpremul : SKAlphaType.Opaque));
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(transparent ? SKColors.Transparent : new SKColor(0x2E, 0x6F, 0xB5));
            using var paint = new SKPaint { Color = partial < 0 ? new SKColor(0xF2, 0xB1, 0x34) : new SKColor(0x80, 0x80, 0x80) };
            var side = Math.Min(request.Width, request.Height) / (partial < 0 ? 2f : 8f - 2 * partial);
            canvas.DrawRect((request.Width - side) / 2, (request.Height - side) / 2, side, side, paint);
        }
        using var pixmap = bitmap.PeekPixels();
        var quality = request.Compression ?? 100;
        using var encoded = request.OutputFormat switch
        {
            "jpeg" => pixmap.Encode(new SKJpegEncoderOptions(quality, SKJpegEncoderDownsample.Downsample420, SKJpegEncoderAlphaOption.Ignore)),
            "webp" => pixmap.Encode(new SKWebpEncoderOptions(SKWebpEncoderCompression.Lossy, quality)),
            _ => pixmap.Encode(new SKPngEncoderOptions(SKPngEncoderFilterFlags.Up, zLibLevel: 1)),
        } ?? throw new InvalidOperationException($"Skia could not encode {request.OutputFormat}.");
        return encoded.ToArray();
    }

    private static Task Error(HttpContext http, int status, string message, string type, string? param, string? code)
    {
        var body = new JsonObject
        {
            ["error"] = new JsonObject { ["message"] = message, ["type"] = type, ["param"] = param, ["code"] = code },
        };
        return FakeUpstream.Json(http, status, body.ToJsonString());
    }
}
