using System.Text.Json;
using ImageGateway.IntegrationTests.Support;
using ImageGateway.Tests.Generation;
using ImageGateway.Tests.Support;

namespace ImageGateway.IntegrationTests.Compat;

/// <summary>
/// The npm <c>openai</c> 6.x client's <c>images.edit</c> and streamed <c>images.generate</c> /
/// <c>images.edit</c> against the gateway process, on builtin-preview (offline) and on gpt-image-2
/// through the fake upstream. Every event the SDK yields is checked against the spec's schemas.
/// </summary>
public sealed class NodeEditStreamTests(CompatGateway fixture) : IClassFixture<CompatGateway>, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("igw-node-edit").FullName;

    private GatewayProcess Gateway => fixture.Gateway;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private async Task<JsonElement> RunAsync(string basePath, string key, string mode, object parameters, string[]? images = null, string? mask = null)
    {
        var config = JsonSerializer.Serialize(new { baseURL = new Uri(Gateway.BaseUrl, basePath).ToString().TrimEnd('/'), apiKey = key, mode, @params = parameters, images, mask });
        var run = await NodeScript.RunAsync("openai-edits-streams.mjs", new Dictionary<string, string> { ["IGW_CASE"] = config }, TimeSpan.FromSeconds(90));
        Assert.True(run.ExitCode == 0, $"node exited {run.ExitCode}: {run.Stderr}");
        Assert.True(run.Json.GetProperty("ok").GetBoolean(), run.Json.ToString());
        return run.Json;
    }

    [SkippableTheory]
    [InlineData("/v1", 1)]
    [InlineData("/api/v1/llm", 3)]
    public async Task Images_edit_with_one_or_three_images_and_a_mask(string basePath, int count)
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 100m);
        var images = Enumerable.Range(0, count).Select(i => Write($"in{i}.png", EditEndpointTests.Png(256, 192))).ToArray();
        var mask = Write("mask.png", EditEndpointTests.LeftHalfMask(256, 192));

        var outcome = await RunAsync(basePath, key, "edit", new { model = "builtin-preview", prompt = "a red kite", response_format = "b64_json" }, images, mask);

        var result = outcome.GetProperty("result");
        Assert.Empty(OpenAiSpec.Errors(result.GetRawText(), "ImagesResponse"));
        var png = Convert.FromBase64String(result.GetProperty("data")[0].GetProperty("b64_json").GetString()!);
        Assert.Equal((256, 192), Api.PngSize(png));
        Assert.Equal(100m - 1.2m, await Gateway.CreditsAsync(key));
        Assert.Single(outcome.GetProperty("exchanges").EnumerateArray(), e => e.GetProperty("url").GetString()!.EndsWith("/images/edits"));
    }

    [SkippableTheory]
    [InlineData("builtin-preview")]
    [InlineData("gpt-image-2")]
    public async Task A_streamed_generation_yields_the_partials_in_order_then_completed(string model)
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 1000m);

        object request = model == "builtin-preview"
            ? new { model, prompt = "a red kite", size = "1024x1024", partial_images = 2, response_format = "b64_json" }
            : new { model, prompt = "a red kite", size = "1024x1024", quality = "low", partial_images = 2 };
        var outcome = await RunAsync("/v1", key, "stream-generate", request);

        var events = outcome.GetProperty("events").EnumerateArray().ToArray();
        Assert.Equal(["image_generation.partial_image", "image_generation.partial_image", "image_generation.completed"],
            events.Select(e => e.GetProperty("type").GetString()).ToArray());
        Assert.Equal([0, 1], events[..2].Select(e => e.GetProperty("partial_image_index").GetInt32()).ToArray());
        foreach (var e in events)
        {
            var json = JsonSerializer.Serialize(e.EnumerateObject().Where(p => p.Name != "receivedMs").ToDictionary(p => p.Name, p => p.Value));
            Assert.Empty(OpenAiSpec.Errors(json, e.GetProperty("type").GetString()!.EndsWith("completed") ? "ImageGenCompletedEvent" : "ImageGenPartialImageEvent"));
            Assert.Equal((1024, 1024), Api.PngSize(Convert.FromBase64String(e.GetProperty("b64_json").GetString()!)));
        }
        var charged = events[2].GetProperty("_metadata").GetProperty("cost_incurred").GetDecimal();
        Assert.Equal(1000m - charged, await Gateway.CreditsAsync(key));
    }

    [SkippableTheory]
    [InlineData("builtin-preview")]
    [InlineData("gpt-image-2")]
    public async Task A_streamed_edit_yields_image_edit_events(string model)
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 1000m);
        var image = Write("edit.png", EditEndpointTests.Png(1024, 1024));

        var outcome = await RunAsync("/v1", key, "stream-edit", new { model, prompt = "a red kite", partial_images = 1, size = "1024x1024" }, [image]);

        var events = outcome.GetProperty("events").EnumerateArray().ToArray();
        Assert.Equal(["image_edit.partial_image", "image_edit.completed"], events.Select(e => e.GetProperty("type").GetString()).ToArray());
        var completed = JsonSerializer.Serialize(events[1].EnumerateObject().Where(p => p.Name != "receivedMs").ToDictionary(p => p.Name, p => p.Value));
        Assert.Empty(OpenAiSpec.Errors(completed, "ImageEditCompletedEvent"));
        var charged = events[1].GetProperty("_metadata").GetProperty("cost_incurred").GetDecimal();
        Assert.Equal(1000m - charged, await Gateway.CreditsAsync(key));
        if (model == "gpt-image-2") Assert.True(events[1].GetProperty("usage").GetProperty("input_tokens_details").GetProperty("image_tokens").GetInt64() > 0);
    }
}
