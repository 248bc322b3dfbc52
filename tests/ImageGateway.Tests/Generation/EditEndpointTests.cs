using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using ImageGateway.Billing;
using ImageGateway.Tests.Providers;
using ImageGateway.Tests.Support;
using SkiaSharp;

namespace ImageGateway.Tests.Generation;

/// <summary>
/// POST /images/edits and /images/variations through the whole gateway, offline on builtin-preview:
/// multipart and JSON bodies, the mask, several inputs, and every bad input as a 400 naming its
/// field with nothing charged and nothing stored.
/// </summary>
public sealed class EditEndpointTests : IDisposable
{
    private readonly GatewayFactory _gateway = new GatewayFactory().WithoutUpstreamKeys();

    public void Dispose() => _gateway.Dispose();

    /// <summary>A real PNG of the given size: a two-colour picture, opaque.</summary>
    internal static byte[] Png(int width, int height, SKColor? colour = null)
    {
        using var bitmap = new SKBitmap(width, height);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(colour ?? new SKColor(30, 90, 200));
            using var paint = new SKPaint { Color = SKColors.Orange };
            canvas.DrawRect(0, 0, width / 2f, height / 2f, paint);
        }
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>A mask the image's size: transparent (edit here) in the left half, opaque elsewhere.</summary>
    internal static byte[] LeftHalfMask(int width, int height)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        bitmap.Erase(SKColors.White);
        for (var y = 0; y < height; y++)
            for (var x = 0; x < width / 2; x++)
                bitmap.SetPixel(x, y, SKColors.Transparent);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    internal static MultipartFormDataContent Form(IEnumerable<(string Name, byte[] File)> files, params (string Name, string Value)[] fields)
    {
        var form = new MultipartFormDataContent();
        var i = 0;
        foreach (var (name, file) in files)
        {
            var part = new ByteArrayContent(file);
            part.Headers.ContentType = new MediaTypeHeaderValue("image/png");
            form.Add(part, name, $"file{i++}.png");
        }
        foreach (var (name, value) in fields) form.Add(new StringContent(value), name);
        return form;
    }

    private async Task<(HttpClient Client, string UserId)> UserAsync(decimal credits = 100m)
    {
        var (userId, key) = await _gateway.CreateUserAsync("managed", credits);
        return (_gateway.ClientWithKey(key), userId);
    }

    private async Task AssertNothingHappenedAsync(HttpClient client, string userId)
    {
        Assert.Equal(["grant"], (await client.HistoryAsync()).Transactions().Select(t => t.Str("type")!).ToArray());
        Assert.Empty(_gateway.StoredImageFiles());
        Assert.Empty(await _gateway.Service<CreditLedger>().VerifyAsync(userId));
    }

    [Theory]
    [InlineData("/v1/images/edits")]
    [InlineData("/api/v1/llm/images/edits")]
    public async Task A_builtin_edit_with_a_mask_keeps_the_unmasked_pixels_and_the_inputs_size(string path)
    {
        var (client, userId) = await UserAsync();
        var source = Png(320, 192);

        var response = await client.PostAsync(path, Form([("image", source), ("mask", LeftHalfMask(320, 192))],
            ("model", "builtin-preview"), ("prompt", "a red kite"), ("response_format", "b64_json")));

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.Empty(OpenAiSpec.Errors(text, "ImagesResponse"));
        var json = JsonDocument.Parse(text).RootElement;
        var edited = ImageFile.Decode(Convert.FromBase64String(json.GetProperty("data")[0].Str("b64_json")!));
        var before = ImageFile.Decode(source);
        Assert.Equal((320, 192), (edited.Width, edited.Height));
        var keptRight = 0;
        var changedLeft = 0;
        for (var y = 0; y < 192; y++)
            for (var x = 0; x < 320; x++)
            {
                var same = edited.Pixels[y * 320 + x] == before.Pixels[y * 320 + x];
                if (x >= 160 && same) keptRight++;
                if (x < 160 && !same) changedLeft++;
            }
        Assert.Equal(160 * 192, keptRight);                  // the opaque half of the mask is untouched
        Assert.True(changedLeft > 160 * 192 / 2, $"only {changedLeft} of the masked pixels changed");
        Assert.Equal(1.2m, json.GetProperty("_metadata").Dec("cost_incurred"));
        Assert.Empty(await _gateway.Service<CreditLedger>().VerifyAsync(userId));
    }

    [Fact]
    public async Task Three_inputs_in_image_brackets_are_all_taken_and_the_answer_has_the_first_ones_size()
    {
        var (client, _) = await UserAsync();

        var response = await client.PostAsync("/v1/images/edits", Form(
            [("image[]", Png(128, 128)), ("image[]", Png(64, 64, SKColors.Green)), ("image[]", Png(96, 32, SKColors.Purple))],
            ("model", "builtin-preview"), ("prompt", "combine them"), ("response_format", "b64_json"), ("n", "2")));

        var json = await response.OkJsonAsync();
        Assert.Equal(2, json.GetProperty("data").GetArrayLength());
        foreach (var datum in json.GetProperty("data").EnumerateArray())
        {
            var image = ImageFile.Decode(Convert.FromBase64String(datum.Str("b64_json")!));
            Assert.Equal((128, 128), (image.Width, image.Height));
        }
        Assert.Equal(2.4m, json.GetProperty("_metadata").Dec("cost_incurred"));
    }

    [Fact]
    public async Task The_json_body_takes_images_as_data_urls()
    {
        var (client, _) = await UserAsync();
        var url = "data:image/png;base64," + Convert.ToBase64String(Png(64, 64));

        var response = await client.PostJsonAsync("/v1/images/edits",
            new { model = "builtin-preview", prompt = "a red kite", images = new[] { new { image_url = url } }, response_format = "b64_json" });

        var json = await response.OkJsonAsync();
        var image = ImageFile.Decode(Convert.FromBase64String(json.GetProperty("data")[0].Str("b64_json")!));
        Assert.Equal((64, 64), (image.Width, image.Height));
    }

    public static TheoryData<string, string> BadUploads => new()
    {
        { "not an image", "image" },
        { "empty file", "image" },
        { "truncated png", "image" },
        { "mask size", "mask" },
        { "mask jpeg", "mask" },
        { "17 images", "image" },
        { "no image", "image" },
        { "no prompt", "prompt" },
        { "n as text", "n" },
    };

    [Theory]
    [MemberData(nameof(BadUploads))]
    public async Task Bad_input_is_a_400_naming_the_field_and_nothing_is_charged_or_stored(string what, string param)
    {
        var (client, userId) = await UserAsync();
        var png = Png(64, 64);
        using var jpegBitmap = SKBitmap.Decode(png);
        var jpeg = jpegBitmap.Encode(SKEncodedImageFormat.Jpeg, 80).ToArray();
        (string, byte[])[] files = what switch
        {
            "not an image" => [("image", "plain text, not a picture"u8.ToArray())],
            "empty file" => [("image", [])],
            "truncated png" => [("image", png[..(png.Length / 2)])],
            "mask size" => [("image", png), ("mask", LeftHalfMask(32, 32))],
            "mask jpeg" => [("image", png), ("mask", jpeg)],
            "17 images" => Enumerable.Range(0, 17).Select(_ => ("image[]", png)).ToArray(),
            "no image" => [],
            _ => [("image", png)],
        };
        var fields = new List<(string, string)> { ("model", "builtin-preview") };
        if (what != "no prompt") fields.Add(("prompt", "a red kite"));
        if (what == "n as text") fields.Add(("n", "two"));

        var response = await client.PostAsync("/v1/images/edits", Form(files, fields.ToArray()));

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{what}: {(int)response.StatusCode} {text}");
        Assert.Equal(param, JsonDocument.Parse(text).RootElement.GetProperty("error").Str("param"));
        Assert.Empty(OpenAiSpec.Errors(text, "ErrorResponse"));
        await AssertNothingHappenedAsync(client, userId);
    }

    [Theory]
    [InlineData("""{"file_id":"file-abc"}""")]
    [InlineData("""{"image_url":"https://example.com/a.png"}""")]
    [InlineData("""{"image_url":"http://127.0.0.1/a.png"}""")]
    [InlineData("""{"image_url":"data:image/png;base64,@@@"}""")]
    public async Task An_image_reference_the_gateway_will_not_fetch_is_a_400_naming_it(string reference)
    {
        var (client, userId) = await UserAsync();

        var response = await client.PostAsync("/v1/images/edits", Api.Raw($$"""{"model":"builtin-preview","prompt":"x","images":[{{reference}}]}"""));

        await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "invalid_value", "images[0]");
        await AssertNothingHappenedAsync(client, userId);
    }

    [Fact]
    public async Task A_body_over_the_edit_limit_is_a_413_json_error()
    {
        _gateway.Settings["Gateway:MaxEditRequestBodyBytes"] = "4096";
        var (client, userId) = await UserAsync();

        var response = await client.PostAsync("/v1/images/edits", Form([("image", new byte[8000])], ("prompt", "x")));

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.RequestEntityTooLarge, text);
        Assert.Empty(OpenAiSpec.Errors(text, "ErrorResponse"));
        await AssertNothingHappenedAsync(client, userId);
    }

    [Theory]
    [InlineData("dall-e-3")]
    [InlineData("stable-diffusion-xl")]
    public async Task A_model_that_does_not_edit_is_a_400_naming_the_models_that_do(string model)
    {
        var (client, userId) = await UserAsync();

        var response = await client.PostAsync("/v1/images/edits", Form([("image", Png(64, 64))], ("model", model), ("prompt", "x")));

        var error = await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "invalid_value", "model");
        Assert.Contains("models that do: builtin-preview", error.Str("message"));
        Assert.Contains("gpt-image-2", error.Str("message"));
        await AssertNothingHappenedAsync(client, userId);
    }

    [Fact]
    public async Task A_builtin_variation_repaints_and_n_variations_differ()
    {
        var (client, _) = await UserAsync();

        var response = await client.PostAsync("/v1/images/variations", Form([("image", Png(96, 96))],
            ("model", "builtin-preview"), ("n", "2"), ("size", "256x256"), ("response_format", "b64_json")));

        var json = await response.OkJsonAsync();
        var images = json.GetProperty("data").EnumerateArray().Select(d => d.Str("b64_json")!).ToArray();
        Assert.Equal(2, images.Length);
        Assert.NotEqual(images[0], images[1]);
        var first = ImageFile.Decode(Convert.FromBase64String(images[0]));
        Assert.Equal((256, 256), (first.Width, first.Height));
        Assert.Equal(2.4m, json.GetProperty("_metadata").Dec("cost_incurred"));
    }

    [Fact]
    public async Task A_variation_of_a_model_without_them_is_a_400_not_a_404()
    {
        var (client, userId) = await UserAsync();

        var response = await client.PostAsync("/v1/images/variations", Form([("image", Png(64, 64))], ("model", "dall-e-2")));

        var error = await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "invalid_value", "model");
        Assert.Contains("models that do: builtin-preview", error.Str("message"));
        await AssertNothingHappenedAsync(client, userId);
    }
}
