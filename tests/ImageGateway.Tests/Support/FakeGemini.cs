using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace ImageGateway.Tests.Support;

/// <summary>
/// Google's Gemini API as docs/PROVIDERS.md records it: <c>POST /v1beta/models/{model}:generateContent</c>
/// with <c>x-goog-api-key</c>, camelCase JSON, the image as <c>inlineData</c> beside the model's text,
/// prompt blocks as a 200 with <c>promptFeedback.blockReason</c>, image blocks as a
/// <c>finishReason</c>, and Google's error body (an unknown key is a 400 with reason API_KEY_INVALID).
/// </summary>
public sealed class FakeGemini
{
    public const string PlatformKey = "AIzaSyPlatformKey00000000000000000000000";

    /// <summary>Keys the fake accepts besides the platform's (a caller's own).</summary>
    public HashSet<string> Keys { get; } = [PlatformKey];

    /// <summary><c>ok</c>, <c>draft</c> (a thinking draft before the final image), <c>prompt-blocked</c>, <c>image-safety</c>,
    /// <c>text-only</c>, <c>truncated</c> (base64 of half a PNG), or an HTTP status to fail with.</summary>
    public string Mode { get; set; } = "ok";

    public string? Text { get; set; } = "Here is your fox, sitting in fresh snow.";

    public static byte[] Image(int index) => FakeUpstream.Png(40, 300 + index);

    private int _calls;

    public Task Handle(HttpContext context, RecordedRequest request)
    {
        if (!Keys.Contains(request.Headers.GetValueOrDefault("x-goog-api-key") ?? ""))
            return FakeUpstream.Json(context, 400, InvalidKey);
        if (HttpMethods.IsGet(request.Method) && request.Path.StartsWith("/v1beta/models", StringComparison.Ordinal))
            return FakeUpstream.Json(context, 200, """{"models":[{"name":"models/gemini-3.1-flash-image","displayName":"Nano Banana 2","inputTokenLimit":65536,"outputTokenLimit":32768,"supportedGenerationMethods":["generateContent","countTokens"]}],"nextPageToken":"x"}""");
        if (!HttpMethods.IsPost(request.Method) || !request.Path.EndsWith(":generateContent", StringComparison.Ordinal))
            return FakeUpstream.Json(context, 404, """{"error":{"code":404,"message":"Method not found.","status":"NOT_FOUND"}}""");
        var index = Interlocked.Increment(ref _calls) - 1;
        if (int.TryParse(Mode, out var status)) return Error(context, status);
        var image = Convert.ToBase64String(Mode == "truncated" ? Image(index)[..(Image(index).Length / 2)] : Image(index));
        var text = Text is null ? "" : "{\"text\":" + JsonSerializer.Serialize(Text) + "},";
        var inline = InlineData(image);
        return Mode switch
        {
            "prompt-blocked" => FakeUpstream.Json(context, 200, """{"promptFeedback":{"blockReason":"PROHIBITED_CONTENT"},"usageMetadata":{"promptTokenCount":9,"totalTokenCount":9},"modelVersion":"gemini-3.1-flash-image","responseId":"igw-fake-response"}"""),
            "image-safety" => FakeUpstream.Json(context, 200, Answer("""{"role":"model"}""", "IMAGE_SAFETY")),
            "text-only" => FakeUpstream.Json(context, 200, Answer("""{"parts":[{"text":"I can't draw that, but here is a poem instead."}],"role":"model"}""", "STOP")),
            "draft" => FakeUpstream.Json(context, 200, Answer(
                "{\"parts\":[" + InlineData(Convert.ToBase64String(FakeUpstream.Png(16, 9)), thought: true) + "," + text + inline + "],\"role\":\"model\"}", "STOP")),
            _ => FakeUpstream.Json(context, 200, Answer("{\"parts\":[" + text + inline + "],\"role\":\"model\"}", "STOP")),
        };
    }

    private static string InlineData(string base64, bool thought = false) =>
        "{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":\"" + base64 + "\"}" + (thought ? ",\"thought\":true}" : "}");

    /// <summary>One candidate with <paramref name="content"/>, and the usage block Google sends with it.</summary>
    private static string Answer(string content, string finishReason) =>
        "{\"candidates\":[{\"content\":" + content + ",\"finishReason\":\"" + finishReason + "\",\"index\":0}],"
        + "\"" + """usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":1299,"totalTokenCount":1308,"promptTokensDetails":[{"modality":"TEXT","tokenCount":9}],"candidatesTokensDetails":[{"modality":"IMAGE","tokenCount":1290},{"modality":"TEXT","tokenCount":9}]},"modelVersion":"gemini-3.1-flash-image","responseId":"igw-fake-response"}""";

    public const string InvalidKey =
        """{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}}]}}""";

    /// <summary>Google's error bodies for each status, as the API sends them.</summary>
    public static Task Error(HttpContext context, int status) => FakeUpstream.Json(context, status, status switch
    {
        400 => """{"error":{"code":400,"message":"Request contains an invalid argument.","status":"INVALID_ARGUMENT"}}""",
        403 => """{"error":{"code":403,"message":"Your API key was reported as leaked. Please use another API key.","status":"PERMISSION_DENIED"}}""",
        404 => """{"error":{"code":404,"message":"models/gemini-3.1-flash-image is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.","status":"NOT_FOUND"}}""",
        429 => """{"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing details.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"26s"}]}}""",
        503 => """{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}""",
        _ => """{"error":{"code":500,"message":"An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting","status":"INTERNAL"}}""",
    });
}
