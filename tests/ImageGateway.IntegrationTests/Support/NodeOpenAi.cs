using System.Text.Json;

namespace ImageGateway.IntegrationTests.Support;

/// <summary>The npm <c>openai</c> client (tests/node/openai-images.mjs): one images.generate or models.retrieve call and what it saw.</summary>
public static class NodeOpenAi
{
    public static async Task<JsonElement> GenerateAsync(Uri baseUrl, string apiKey, object parameters, int maxRetries = 2)
    {
        var config = JsonSerializer.Serialize(new { baseURL = baseUrl.ToString().TrimEnd('/'), apiKey, maxRetries, @params = parameters });
        var run = await NodeScript.RunAsync("openai-images.mjs", new Dictionary<string, string> { ["IGW_CASE"] = config }, TimeSpan.FromSeconds(90));
        Assert.True(run.ExitCode == 0, $"node exited {run.ExitCode}: {run.Stderr}");
        return run.Json;
    }

    public static async Task<JsonElement> RetrieveModelAsync(Uri baseUrl, string apiKey, string model)
    {
        var config = JsonSerializer.Serialize(new { baseURL = baseUrl.ToString().TrimEnd('/'), apiKey, maxRetries = 0, model });
        var run = await NodeScript.RunAsync("openai-images.mjs", new Dictionary<string, string> { ["IGW_CASE"] = config }, TimeSpan.FromSeconds(90));
        Assert.True(run.ExitCode == 0, $"node exited {run.ExitCode}: {run.Stderr}");
        return run.Json;
    }

    public static JsonElement[] Exchanges(JsonElement outcome) => outcome.GetProperty("exchanges").EnumerateArray().ToArray();
}
