using System.Net;
using System.Text;
using System.Text.Json;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Support;

/// <summary>Small helpers shared by the HTTP and storage tests: raw JSON bodies, reading JSON, the DESIGN §1.3 error shape.</summary>
internal static class Api
{
    public const string Builtin = "builtin-preview";

    /// <summary>Serializes with the names exactly as written (snake_case in the anonymous objects), no naming policy.</summary>
    public static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    public static StringContent Raw(string body) => new(body, Encoding.UTF8, "application/json");

    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string path, object body) =>
        client.PostAsync(path, Json(body));

    public static async Task<JsonElement> ReadJsonAsync(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new Xunit.Sdk.XunitException($"Response {(int)response.StatusCode} is not JSON: {e.Message}\n{text}");
        }
    }

    /// <summary>Reads a 200 JSON body, failing with the body in the message otherwise.</summary>
    public static async Task<JsonElement> OkJsonAsync(this HttpResponseMessage response, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"Expected {(int)expected}, got {(int)response.StatusCode}: {text}");
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    public static string[] Names(this JsonElement obj) =>
        obj.EnumerateObject().Select(p => p.Name).OrderBy(n => n, StringComparer.Ordinal).ToArray();

    public static string? Str(this JsonElement obj, string name) => obj.GetProperty(name).GetString();

    public static decimal Dec(this JsonElement obj, string name) => obj.GetProperty(name).GetDecimal();

    /// <summary>
    /// Asserts the exact error shape <c>{"error":{"message","type","param","code"},"detail"}</c> with
    /// <c>detail == error.message</c>, the status, type, code and param. Returns <c>error</c>.
    /// </summary>
    public static async Task<JsonElement> AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string type,
        string? code, string? param = null)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"Expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var doc = JsonDocument.Parse(text);
        var root = doc.RootElement;
        Assert.Equal(JsonValueKind.Object, root.ValueKind);
        Assert.Equal(["detail", "error"], root.Names());
        var error = root.GetProperty("error");
        Assert.Equal(["code", "message", "param", "type"], error.Names());
        var message = error.Str("message");
        Assert.False(string.IsNullOrWhiteSpace(message));
        Assert.Equal(JsonValueKind.String, root.GetProperty("detail").ValueKind);
        Assert.Equal(message, root.Str("detail"));
        Assert.Equal(type, error.Str("type"));
        AssertStringOrNull(code, error.GetProperty("code"));
        AssertStringOrNull(param, error.GetProperty("param"));
        Assert.DoesNotContain("   at ", text); // never a stack trace
        return error.Clone();
    }

    /// <summary>
    /// DESIGN §1.3: exactly {error:{message,type,param,code},detail} with detail == error.message; what is
    /// wrong with <paramref name="text"/>, or null. The non-throwing twin of <see cref="AssertErrorAsync"/>.
    /// </summary>
    public static string? ErrorShapeProblem(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return "error body is not an object";
            if (!root.Names().SequenceEqual(["detail", "error"])) return "error body keys are not {detail, error}";
            var error = root.GetProperty("error");
            if (error.ValueKind != JsonValueKind.Object || !error.Names().SequenceEqual(["code", "message", "param", "type"]))
                return "error object keys are not {code, message, param, type}";
            var message = error.GetProperty("message");
            if (message.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(message.GetString())) return "error.message is empty";
            if (error.GetProperty("type").ValueKind != JsonValueKind.String) return "error.type is not a string";
            if (root.GetProperty("detail").GetString() != message.GetString()) return "detail differs from error.message";
            if (text.Contains("   at ", StringComparison.Ordinal)) return "stack trace in body";
            return null;
        }
        catch (JsonException e)
        {
            return "error body is not JSON: " + e.Message;
        }
    }

    private static void AssertStringOrNull(string? expected, JsonElement actual)
    {
        if (expected is null) Assert.Equal(JsonValueKind.Null, actual.ValueKind);
        else
        {
            Assert.Equal(JsonValueKind.String, actual.ValueKind);
            Assert.Equal(expected, actual.GetString());
        }
    }

    public static object BuiltinBody(string prompt = "a red fox in the snow", int? n = null, string size = "256x256",
        string? format = null) =>
        (n, format) switch
        {
            (null, null) => new { prompt, model = Builtin, size },
            (null, _) => new { prompt, model = Builtin, size, response_format = format },
            (_, null) => new { prompt, model = Builtin, size, n },
            _ => new { prompt, model = Builtin, size, n, response_format = format },
        };

    public static async Task<JsonElement> GenerateBuiltinAsync(this HttpClient client, string prompt = "a red fox in the snow",
        int? n = null, string size = "256x256", string? format = null, string path = "/api/v1/llm/images/generations") =>
        await (await client.PostJsonAsync(path, BuiltinBody(prompt, n, size, format))).OkJsonAsync();

    public static async Task<JsonElement> CreditsAsync(this HttpClient client) =>
        await (await client.GetAsync("/api/v1/llm/credits")).OkJsonAsync();

    public static async Task<JsonElement> HistoryAsync(this HttpClient client, string query = "") =>
        await (await client.GetAsync("/api/v1/llm/credits/history" + query)).OkJsonAsync();

    /// <summary>A well-formed key that no account has.</summary>
    public static string UnknownKey() => "uc_" + new string('Z', 43);

    public static HttpClient AnonymousClient(this GatewayFactory gateway) => gateway.CreateClient();

    public static string ImagesDirectory(this GatewayFactory gateway) => Path.Combine(gateway.DataDirectory, "images");

    public static string[] StoredImageFiles(this GatewayFactory gateway) =>
        Directory.Exists(gateway.ImagesDirectory())
            ? Directory.GetFiles(gateway.ImagesDirectory()).Select(Path.GetFileName).Where(f => !f!.EndsWith(".tmp", StringComparison.Ordinal))
                .Select(f => f!).OrderBy(f => f, StringComparer.Ordinal).ToArray()
            : [];

    /// <summary>Makes sure no upstream key from the environment can give dall-e-3 a provider in this test.</summary>
    public static GatewayFactory WithoutUpstreamKeys(this GatewayFactory gateway)
    {
        foreach (var name in new[] { "OPENAI_API_KEY", "OPENROUTER_API_KEY", "STABILITY_API_KEY", "GEMINI_API_KEY", "BFL_API_KEY",
                     "REPLICATE_API_TOKEN", "AZURE_OPENAI_API_KEY", "Gateway:Providers:openai:ApiKey", "Gateway:Providers:openrouter:ApiKey",
                     "Gateway:Providers:stability:ApiKey", "Gateway:Providers:google:ApiKey", "Gateway:Providers:bfl:ApiKey",
                     "Gateway:Providers:replicate:ApiKey", "Gateway:Providers:azure:ApiKey" })
            gateway.Settings[name] = "";
        return gateway;
    }

    public static long UnixNow(this GatewayFactory gateway) => gateway.Time.GetUtcNow().ToUnixTimeSeconds();

    public static bool IsPng(byte[] bytes) =>
        bytes.Length > 24 && bytes.AsSpan(0, 8).SequenceEqual(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A });

    /// <summary>Width and height from the PNG IHDR chunk.</summary>
    public static (int Width, int Height) PngSize(byte[] png) =>
        (System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16, 4)),
         System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20, 4)));
}
