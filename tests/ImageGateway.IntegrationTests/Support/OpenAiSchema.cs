using System.Text.Json;

namespace ImageGateway.IntegrationTests.Support;

/// <summary>
/// The OpenAI images response schema, as the official SDKs read it: <c>created</c> an integer,
/// <c>data</c> items with a string <c>url</c> or a plain-base64 <c>b64_json</c>; error bodies with
/// <c>error.message</c>, <c>type</c>, <c>param</c> and <c>code</c> (plus the brief's <c>detail</c>).
/// </summary>
public static class OpenAiSchema
{
    private static readonly byte[] PngMagic = [0x89, (byte)'P', (byte)'N', (byte)'G'];

    public static void AssertImages(string body, string responseFormat, int? count = null)
    {
        using var doc = JsonDocument.Parse(body);
        AssertImages(doc.RootElement, responseFormat, count);
    }

    public static void AssertImages(JsonElement root, string responseFormat, int? count = null)
    {
        Assert.Equal(JsonValueKind.Object, root.ValueKind);
        var created = root.GetProperty("created");
        Assert.Equal(JsonValueKind.Number, created.ValueKind);
        Assert.True(created.TryGetInt64(out var seconds) && !created.GetRawText().Contains('.'), $"created is not an integer: {created.GetRawText()}");
        Assert.InRange(seconds, DateTimeOffset.UtcNow.AddMinutes(-10).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.AddMinutes(10).ToUnixTimeSeconds());
        var data = root.GetProperty("data");
        Assert.Equal(JsonValueKind.Array, data.ValueKind);
        Assert.True(data.GetArrayLength() > 0, "data is empty");
        if (count is not null) Assert.Equal(count.Value, data.GetArrayLength());
        foreach (var item in data.EnumerateArray())
        {
            Assert.Equal(JsonValueKind.Object, item.ValueKind);
            if (item.TryGetProperty("revised_prompt", out var revised)) Assert.Equal(JsonValueKind.String, revised.ValueKind);
            if (responseFormat == "url")
            {
                Assert.False(item.TryGetProperty("b64_json", out _), "url response also carries b64_json");
                var url = item.GetProperty("url");
                Assert.Equal(JsonValueKind.String, url.ValueKind);
                Assert.True(Uri.TryCreate(url.GetString(), UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https", $"not an absolute URL: {url}");
            }
            else
            {
                Assert.False(item.TryGetProperty("url", out _), "b64_json response also carries url");
                var b64 = item.GetProperty("b64_json");
                Assert.Equal(JsonValueKind.String, b64.ValueKind);
                var text = b64.GetString()!;
                Assert.False(text.StartsWith("data:", StringComparison.Ordinal), "b64_json is a data: URL, not plain base64");
                var bytes = Convert.FromBase64String(text);
                Assert.Equal(PngMagic, bytes[..4]);
            }
        }
    }

    public static void AssertError(string body, string? expectedType = null, string? expectedCode = null)
    {
        using var doc = JsonDocument.Parse(body);
        AssertError(doc.RootElement, expectedType, expectedCode);
    }

    public static void AssertError(JsonElement root, string? expectedType = null, string? expectedCode = null)
    {
        Assert.Equal(JsonValueKind.Object, root.ValueKind);
        var error = root.GetProperty("error");
        Assert.Equal(JsonValueKind.Object, error.ValueKind);
        var message = error.GetProperty("message");
        Assert.Equal(JsonValueKind.String, message.ValueKind);
        Assert.False(string.IsNullOrWhiteSpace(message.GetString()));
        Assert.Equal(JsonValueKind.String, error.GetProperty("type").ValueKind);
        Assert.True(error.GetProperty("param").ValueKind is JsonValueKind.String or JsonValueKind.Null, "error.param must be a string or null");
        Assert.True(error.GetProperty("code").ValueKind is JsonValueKind.String or JsonValueKind.Null, "error.code must be a string or null");
        Assert.Equal(message.GetString(), root.GetProperty("detail").GetString());
        if (expectedType is not null) Assert.Equal(expectedType, error.GetProperty("type").GetString());
        if (expectedCode is not null) Assert.Equal(expectedCode, error.GetProperty("code").GetString());
    }
}
