using System.Net.Http.Json;
using System.Text.Json;
using ImageGateway.Providers;
using ImageGateway.Providers.Builtin;
using ImageGateway.Tests.Support;
using SkiaSharp;

namespace ImageGateway.Tests.Providers;

/// <summary>
/// The builtin provider through the whole gateway (Skia's native library loads on this platform,
/// and the answer holds decodable PNGs of the requested size that repeat for the same seed), and
/// on its own for the GPT-image fields of a job.
/// </summary>
public sealed class BuiltinProviderTests : IDisposable
{
    private readonly GatewayFactory _gateway = new();

    public void Dispose() => _gateway.Dispose();

    private async Task<string[]> GenerateAsync(HttpClient client, long seed)
    {
        var response = await client.PostAsJsonAsync(OpenAiKit.GeneratePath,
            new { prompt = "a kite over a green hill", model = "builtin-preview", n = 2, size = "512x512", seed, response_format = "b64_json" });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("data").EnumerateArray()
            .Select(d => d.GetProperty("b64_json").GetString()!).ToArray();
    }

    [Fact]
    public async Task Generate_with_the_builtin_model_answers_png_images_of_the_requested_size_and_repeats_for_a_seed()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 100m);
        using var client = _gateway.ClientWithKey(key);

        var first = await GenerateAsync(client, seed: 7);
        var again = await GenerateAsync(client, seed: 7);

        Assert.Equal(2, first.Length);
        foreach (var b64 in first)
        {
            using var bitmap = SKBitmap.Decode(Convert.FromBase64String(b64));
            Assert.NotNull(bitmap);
            Assert.Equal(512, bitmap.Width);
            Assert.Equal(512, bitmap.Height);
        }
        Assert.NotEqual(first[0], first[1]); // image i uses seed + i
        Assert.Equal(first, again);
    }

    private static ImageJob Job(string? format = null, int? compression = null, string? background = null,
        string size = "512x512", string quality = "standard") =>
        new("builtin-preview", "a kite over a green hill", N: 1, Width: 512, Height: 512, size, quality, Style: null,
            Seed: 3, User: null, OutputFormat: format, OutputCompression: compression, Background: background);

    private static async Task<ProviderResult> RenderAsync(ImageJob job)
    {
        var result = await new BuiltinProvider().GenerateAsync(job, new ProviderCredential(null, null), CancellationToken.None);
        Assert.Null(result.Failure);
        return result;
    }

    [Theory]
    [InlineData(null, "png", "image/png")]
    [InlineData("png", "png", "image/png")]
    [InlineData("jpeg", "jpeg", "image/jpeg")]
    [InlineData("webp", "webp", "image/webp")]
    public async Task Output_format_chooses_the_file_type_and_its_media_type(string? asked, string written, string mediaType)
    {
        var image = Assert.Single((await RenderAsync(Job(asked))).Images);

        Assert.Equal(mediaType, image.MediaType);
        ImageFile.AssertFormat(written, image.Bytes);
        var decoded = ImageFile.Decode(image.Bytes);
        Assert.Equal((512, 512), (decoded.Width, decoded.Height));
    }

    [Theory]
    [InlineData("jpeg")]
    [InlineData("webp")]
    public async Task Output_compression_is_the_encoder_quality_and_100_is_the_default(string format)
    {
        var byDefault = (await RenderAsync(Job(format))).Images[0].Bytes;
        var full = (await RenderAsync(Job(format, compression: 100))).Images[0].Bytes;
        var low = (await RenderAsync(Job(format, compression: 10))).Images[0].Bytes;

        Assert.Equal(full, byDefault);
        Assert.True(low.Length * 3 < full.Length, $"compression 10: {low.Length} bytes, 100: {full.Length}");
    }

    [Theory]
    [InlineData("png")]
    [InlineData("webp")]
    public async Task A_transparent_background_gives_an_image_with_clear_corners(string format)
    {
        var image = ImageFile.Decode((await RenderAsync(Job(format, background: "transparent"))).Images[0].Bytes);

        Assert.Equal(0, image.Alpha(0, 0));
        Assert.Equal(0, image.Alpha(511, 0));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("opaque")]
    [InlineData("auto")]
    public async Task Other_backgrounds_give_the_same_opaque_png_as_before(string? background)
    {
        var image = (await RenderAsync(Job(background: background))).Images[0];

        Assert.Equal(BuiltinRenderer.RenderPng("a kite over a green hill", 512, 512, seed: 3), image.Bytes);
    }

    [Theory]
    [InlineData("transparent", "webp", "512x512", "high", "transparent", "webp", "512x512", "high")]
    [InlineData(null, null, "auto", "standard", "opaque", "png", "1024x1024", null)]
    [InlineData("auto", "jpeg", "512x512", "medium", "opaque", "jpeg", "512x512", "medium")]
    [InlineData("opaque", "png", "512x512", "hd", "opaque", "png", "512x512", null)]
    [InlineData("transparent", "png", "512x512", "low", "transparent", "png", "512x512", "low")]
    public async Task Produced_says_what_was_rendered(string? background, string? format, string size, string quality,
        string producedBackground, string producedFormat, string producedSize, string? producedQuality)
    {
        var job = Job(format, background: background, size: size, quality: quality);
        if (size == "auto") job = job with { Width = 1024, Height = 1024 };

        var result = await RenderAsync(job);

        Assert.Equal(new ProducedAs(producedBackground, producedFormat, producedSize, producedQuality), result.Produced);
        var decoded = ImageFile.Decode(result.Images[0].Bytes);
        Assert.Equal(producedSize, $"{decoded.Width}x{decoded.Height}");
    }
}
