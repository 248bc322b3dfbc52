using System.Text.Json;
using ImageGateway.IntegrationTests.Support;

namespace ImageGateway.IntegrationTests.Compat;

/// <summary>
/// OpenAI's documentation code for gpt-image-2 with npm <c>openai</c> 6.x (tests/node/openai-doc-example.mjs),
/// pointed at the gateway through <c>OPENAI_BASE_URL</c>: <c>Buffer.from(img.data[0].b64_json, "base64")</c>
/// must be an image in the format asked for.
/// </summary>
public sealed class OpenAiDocExampleTests(CompatGateway fixture) : IClassFixture<CompatGateway>
{
    private GatewayProcess Gateway => fixture.Gateway;

    [SkippableTheory]
    [InlineData("/v1")]
    [InlineData("/api/v1/llm")]
    public async Task The_doc_example_saves_a_png_by_default(string basePath)
    {
        var (outcome, image) = await RunAsync(basePath, new { });

        Assert.True(ImageBytes.IsPng(image), $"not a PNG: {ImageBytes.Hex(image)}");
        using var bitmap = ImageBytes.Decode(image);
        Assert.Equal(image.Length, outcome.GetProperty("length").GetInt32());
        Assert.Equal("png", outcome.GetProperty("top").GetProperty("output_format").GetString());
    }

    [SkippableTheory]
    [InlineData("/v1")]
    [InlineData("/api/v1/llm")]
    public async Task Without_response_format_the_answer_has_b64_json_and_no_url(string basePath)
    {
        var (outcome, _) = await RunAsync(basePath, new { });

        var item = Assert.Single(outcome.GetProperty("items").EnumerateArray());
        Assert.False(item.GetProperty("hasUrl").GetBoolean(), item.ToString());
        Assert.Contains("b64_json", item.GetProperty("keys").EnumerateArray().Select(k => k.GetString()));
        Assert.True(item.GetProperty("b64Length").GetInt32() > 0);
    }

    [SkippableTheory]
    [InlineData("/v1")]
    [InlineData("/api/v1/llm")]
    public async Task Output_format_jpeg_saves_jpeg_bytes(string basePath)
    {
        var (outcome, image) = await RunAsync(basePath, new { output_format = "jpeg" });

        Assert.True(ImageBytes.IsJpeg(image), $"not a JPEG: {ImageBytes.Hex(image)}");
        using var bitmap = ImageBytes.Decode(image);
        Assert.Equal("jpeg", outcome.GetProperty("top").GetProperty("output_format").GetString());
    }

    [SkippableTheory]
    [InlineData("/v1")]
    [InlineData("/api/v1/llm")]
    public async Task Output_format_webp_saves_webp_bytes(string basePath)
    {
        var (outcome, image) = await RunAsync(basePath, new { output_format = "webp" });

        Assert.True(ImageBytes.IsWebp(image), $"not a WebP: {ImageBytes.Hex(image)}");
        using var bitmap = ImageBytes.Decode(image);
        Assert.Equal("webp", outcome.GetProperty("top").GetProperty("output_format").GetString());
    }

    [SkippableTheory]
    [InlineData("/v1")]
    [InlineData("/api/v1/llm")]
    public async Task Background_transparent_saves_a_png_with_alpha(string basePath)
    {
        var (outcome, image) = await RunAsync(basePath, new { output_format = "png", background = "transparent" });

        Assert.True(ImageBytes.IsPng(image), $"not a PNG: {ImageBytes.Hex(image)}");
        using var bitmap = ImageBytes.Decode(image);
        Assert.True(ImageBytes.HasTranslucentPixel(bitmap), $"every pixel of the {bitmap.Width}x{bitmap.Height} image is opaque");
        Assert.Equal("transparent", outcome.GetProperty("top").GetProperty("background").GetString());
    }

    /// <summary>Runs the doc example with these extra body fields; returns what it printed and the file it saved.</summary>
    private async Task<(JsonElement Outcome, byte[] Image)> RunAsync(string basePath, object extra)
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 1000m);
        var file = Path.Combine(Path.GetTempPath(), $"igw-doc-{Guid.NewGuid():N}.img");
        try
        {
            var run = await NodeScript.RunAsync("openai-doc-example.mjs", new Dictionary<string, string>
            {
                ["OPENAI_API_KEY"] = key,
                ["OPENAI_BASE_URL"] = new Uri(Gateway.BaseUrl, basePath).ToString(),
                ["IGW_DOC"] = JsonSerializer.Serialize(new { @params = extra, @out = file }),
            }, TimeSpan.FromSeconds(90));
            Assert.True(run.ExitCode == 0, $"node exited {run.ExitCode}: {run.Stderr}");
            var outcome = run.Json;
            Assert.True(outcome.GetProperty("ok").GetBoolean(), outcome.ToString());
            var image = await File.ReadAllBytesAsync(file);
            Assert.Equal(outcome.GetProperty("magic").GetString(), Convert.ToHexStringLower(image.AsSpan(0, Math.Min(16, image.Length))));
            return (outcome, image);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
