using System.Text;
using System.Text.Json;
using ImageGateway.Billing;
using ImageGateway.Generation;
using ImageGateway.Http;
using ImageGateway.Providers;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Providers;

/// <summary>
/// An upstream's base64 image is kept as the text it came as when that text is strict base64 of an
/// image, and decoded the lenient way otherwise; either way the caller gets exactly the image.
/// </summary>
public sealed class GeneratedImageTests
{
    private static readonly byte[] Png = FakeUpstream.Png(64, seed: 7);

    private static JsonElement B64Json(string jsonString) =>
        JsonDocument.Parse($$"""{"b64_json":{{jsonString}}}""").RootElement.GetProperty("b64_json");

    private static string ResponseB64(GeneratedImage image)
    {
        var response = new ImagesResponse(1, [new ImageDatum(null, image, null)],
            new GenerationMetadata("openai", "dall-e-3", Millicredits.Zero, Millicredits.Zero, null, "managed", false, null, 1,
                "1024x1024", "standard", null));
        var json = JsonSerializer.Serialize(response, GatewayJson.Context.ImagesResponse);
        return JsonDocument.Parse(json).RootElement.GetProperty("data")[0].GetProperty("b64_json").GetString()!;
    }

    [Fact]
    public void Strict_base64_of_a_png_is_kept_as_sent_and_decodes_to_the_same_bytes()
    {
        var base64 = Convert.ToBase64String(Png);

        var image = UpstreamText.DecodeImage(B64Json($"\"{base64}\""), "revised")!;

        Assert.Equal("image/png", image.MediaType);
        Assert.Equal("revised", image.RevisedPrompt);
        Assert.Equal(base64, Encoding.ASCII.GetString(image.Base64Utf8()));
        Assert.Equal(Png, image.Bytes);
        Assert.Equal(base64, ResponseB64(image));
    }

    [Fact]
    public void Strict_base64_parsed_from_an_answer_buffer_is_kept_as_a_slice_of_it_not_copied()
    {
        var base64 = Convert.ToBase64String(Png);
        var body = Encoding.UTF8.GetBytes($$"""{"data":[{"b64_json":"{{base64}}"}]}""");
        using var json = JsonDocument.Parse(body);
        var element = json.RootElement.GetProperty("data")[0].GetProperty("b64_json");

        var image = UpstreamText.DecodeImage(element, null, body)!;

        Assert.Equal(base64, Encoding.ASCII.GetString(image.Base64Utf8()));
        Assert.Equal(base64, ResponseB64(image));
        // The same memory: a change to the buffer shows through (the adapter never changes it).
        var at = body.AsSpan().IndexOf(Encoding.ASCII.GetBytes(base64)) + 30;
        body[at] = body[at] == (byte)'A' ? (byte)'B' : (byte)'A';
        Assert.NotEqual(base64, Encoding.ASCII.GetString(image.Base64Utf8()));
        // Without the buffer the text is copied.
        var copied = UpstreamText.DecodeImage(B64Json($"\"{base64}\""), null)!;
        Assert.Equal(base64, ResponseB64(copied));
    }

    [Fact]
    public void Escaped_slashes_and_a_data_url_prefix_are_decoded_the_lenient_way()
    {
        // Some JSON encoders write "/" as "\/": the raw text is then not base64, the value is.
        var base64 = Convert.ToBase64String(Png);
        Assert.Contains('/', base64);
        var escaped = UpstreamText.DecodeImage(B64Json($"\"{base64.Replace("/", "\\/")}\""), null)!;
        Assert.Equal(Png, escaped.Bytes);
        Assert.Equal(base64, ResponseB64(escaped));

        var dataUrl = UpstreamText.DecodeImage(B64Json($"\"data:image/png;base64,{base64}\""), null)!;
        Assert.Equal(Png, dataUrl.Bytes);
        Assert.Equal(base64, ResponseB64(dataUrl));
    }

    [Theory]
    [InlineData("text, not an image")]
    [InlineData("one bad character")]
    [InlineData("missing padding")]
    public void Text_that_is_not_strict_base64_of_an_image_is_refused(string what)
    {
        var base64 = Convert.ToBase64String(Png);
        var text = what switch
        {
            "text, not an image" => Convert.ToBase64String(Encoding.UTF8.GetBytes("definitely not a PNG, just some text")),
            "one bad character" => base64[..40] + "%" + base64[41..],
            _ => WithoutPadding(Png),
        };
        Assert.Null(GeneratedImage.FromStrictBase64(Encoding.ASCII.GetBytes(text), null));
        if (what != "missing padding") Assert.Null(UpstreamText.DecodeImage(B64Json($"\"{text}\""), null));
    }

    /// <summary>
    /// Base64 of the image less its last byte (or two, so that the count is not a multiple of three
    /// and the text needs padding), with the padding cut off.
    /// </summary>
    private static string WithoutPadding(byte[] image)
    {
        var length = (image.Length - 1) % 3 == 0 ? image.Length - 2 : image.Length - 1;
        var base64 = Convert.ToBase64String(image[..length]);
        Assert.EndsWith("=", base64);
        return base64.TrimEnd('=');
    }

    [Fact]
    public void Base64_with_whitespace_is_not_passed_on_as_is_but_decoded_and_written_clean()
    {
        var base64 = Convert.ToBase64String(Png);
        var spaced = base64[..40] + " " + base64[40..];
        Assert.Null(GeneratedImage.FromStrictBase64(Encoding.ASCII.GetBytes(spaced), null));

        var image = UpstreamText.DecodeImage(B64Json($"\"{spaced}\""), null)!;

        Assert.Equal(Png, image.Bytes);
        Assert.Equal(base64, ResponseB64(image));
    }

    [Fact]
    public void An_image_made_from_bytes_is_written_as_standard_base64()
    {
        var image = new GeneratedImage(Png, "image/png", null);

        Assert.Equal(Convert.ToBase64String(Png), ResponseB64(image));
        Assert.Same(Png, image.Bytes);
    }

    [Fact]
    public void Bytes_for_writing_a_large_image_come_from_the_requests_pool_and_equal_the_file()
    {
        var large = FakeUpstream.Png(512, seed: 3); // noisy enough to be over the 64 KB pooling threshold
        Assert.True(large.Length >= BufferedBody.PooledFrom, $"{large.Length} bytes");
        var image = GeneratedImage.FromStrictBase64(Encoding.ASCII.GetBytes(Convert.ToBase64String(large)), null)!;
        using var scope = BodyBuffers.Begin();

        var written = image.BytesForWriting();

        Assert.Equal(large, written.ToArray());
        Assert.Equal(large.Length, image.Length);
        Assert.Equal(1, scope.Rented);
        Assert.Equal(large, image.Bytes); // the image itself is unchanged and still decodes on its own
    }
}
