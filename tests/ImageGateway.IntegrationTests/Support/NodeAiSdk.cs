using System.Text.Json;

namespace ImageGateway.IntegrationTests.Support;

/// <summary>The Vercel AI SDK (tests/node/ai-sdk-images.mjs): one <c>generateImage</c> call and every exchange it made.</summary>
public static class NodeAiSdk
{
    public static async Task<JsonElement> GenerateImageAsync(Uri baseUrl, string apiKey, string model, string prompt, int n,
        string? size = null, object? providerOptions = null, int maxRetries = 2, string[]? images = null)
    {
        var config = JsonSerializer.Serialize(new { baseURL = baseUrl.ToString().TrimEnd('/'), apiKey, model, prompt, n, size, providerOptions, maxRetries, images });
        var run = await NodeScript.RunAsync("ai-sdk-images.mjs", new Dictionary<string, string> { ["IGW_CASE"] = config }, TimeSpan.FromSeconds(90));
        Assert.True(run.ExitCode == 0, $"node exited {run.ExitCode}: {run.Stderr}");
        return run.Json;
    }

    public static JsonElement[] Exchanges(JsonElement outcome) => outcome.GetProperty("exchanges").EnumerateArray().ToArray();

    /// <summary>The images as the SDK surfaced them (its <c>base64</c>), decoded.</summary>
    public static byte[][] Images(JsonElement outcome) =>
        outcome.GetProperty("images").EnumerateArray().Select(i => Convert.FromBase64String(i.GetProperty("base64").GetString()!)).ToArray();
}
