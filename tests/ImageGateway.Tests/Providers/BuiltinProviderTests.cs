using System.Net.Http.Json;
using System.Text.Json;
using ImageGateway.Tests.Support;
using SkiaSharp;

namespace ImageGateway.Tests.Providers;

/// <summary>
/// The builtin provider through the whole gateway: Skia's native library loads on this platform,
/// and the answer holds decodable PNGs of the requested size that repeat for the same seed.
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
}
