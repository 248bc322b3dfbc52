using ImageGateway.Providers;
using ImageGateway.Providers.Builtin;
using ImageGateway.Tests.Support;
using SkiaSharp;

namespace ImageGateway.Tests.Providers;

/// <summary>The builtin provider's edits, variations and streamed partial images, on the provider itself.</summary>
public sealed class BuiltinEditTests
{
    private const string Prompt = "a purple star over the sea";
    private const int Width = 320, Height = 192;

    // An opaque, non-square "photo": another prompt's render, so it has gradients and edges.
    private static readonly byte[] Photo = BuiltinRenderer.RenderPng("a red barn in a yellow field", Width, Height, seed: 11);

    private static readonly BuiltinProvider Provider = new();

    private static InputImage Input(byte[] file, int width = Width, int height = Height) => new(file, "image/png", width, height, "in.png");

    // Clear in the upper-left rectangle (to repaint), half clear on one column, opaque elsewhere (to keep).
    private static byte MaskAlpha(int x, int y) => x < 160 && y < 96 ? (byte)0 : x == 240 ? (byte)128 : (byte)255;

    private static InputImage Mask()
    {
        using var bitmap = new SKBitmap(new SKImageInfo(Width, Height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (var y = 0; y < Height; y++)
            for (var x = 0; x < Width; x++)
                bitmap.SetPixel(x, y, new SKColor(255, 255, 255, MaskAlpha(x, y)));
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return Input(data.ToArray());
    }

    // The gateway plans 1024x1024 for "auto": an edit must ignore it and keep the input's size.
    private static ImageJob Edit(int n = 1, string? format = null, string? background = null, long seed = 3) =>
        new("builtin-preview", Prompt, n, Width: 1024, Height: 1024, Size: "auto", Quality: "auto", Style: null,
            Seed: seed, User: null, OutputFormat: format, Background: background) { Inputs = [Input(Photo)] };

    private static ImageJob Variation(int n, long seed) =>
        new("builtin-preview", "", n, Width: 256, Height: 256, Size: "256x256", Quality: "standard", Style: null, Seed: seed, User: null)
        {
            Inputs = [Input(Photo)],
            Variation = true,
        };

    private static async Task<ProviderResult> RunAsync(ImageJob job, CancellationToken ct = default)
    {
        var result = await Provider.GenerateAsync(job, new ProviderCredential(null, null), ct);
        Assert.Null(result.Failure);
        Assert.Equal(job.N, result.Images.Count);
        return result;
    }

    private static async Task<ImageFile> OneAsync(ImageJob job) => ImageFile.Decode((await RunAsync(job)).Images[0].Bytes);

    private static double MeanAbsoluteDifference(ImageFile a, ImageFile b)
    {
        Assert.Equal((a.Width, a.Height), (b.Width, b.Height));
        long sum = 0;
        for (var i = 0; i < a.Pixels.Length; i++)
            for (var shift = 0; shift < 24; shift += 8)
                sum += Math.Abs((int)(a.Pixels[i] >> shift & 0xFF) - (int)(b.Pixels[i] >> shift & 0xFF));
        return sum / (a.Pixels.Length * 3.0);
    }

    [Fact]
    public void The_builtin_provider_can_edit_vary_and_stream()
    {
        Assert.True(Provider.CanEdit("builtin-preview"));
        Assert.True(Provider.CanVary("builtin-preview"));
        Assert.True(Provider.CanStream("builtin-preview"));
    }

    [Fact]
    public async Task A_masked_edit_keeps_opaque_mask_pixels_exactly_and_repaints_clear_ones()
    {
        var input = ImageFile.Decode(Photo);
        var result = await RunAsync(Edit() with { Mask = Mask() });
        var output = ImageFile.Decode(result.Images[0].Bytes);

        Assert.Equal((Width, Height), (output.Width, output.Height));
        Assert.Equal(new ProducedAs("opaque", "png", "320x192", null), result.Produced);
        int kept = 0, keptSame = 0, repainted = 0, repaintedChanged = 0;
        for (var y = 0; y < Height; y++)
            for (var x = 0; x < Width; x++)
            {
                var i = y * Width + x;
                var same = output.Pixels[i] == input.Pixels[i];
                switch (MaskAlpha(x, y))
                {
                    case 255: kept++; if (same) keptSame++; break;
                    case 0: repainted++; if (!same) repaintedChanged++; break;
                }
            }
        Assert.Equal(kept, keptSame);
        Assert.True(repaintedChanged > repainted * 0.9, $"{repaintedChanged} of {repainted} clear-mask pixels changed");
    }

    [Theory]
    [InlineData("png")]
    [InlineData("jpeg")]
    [InlineData("webp")]
    public async Task An_edit_honours_the_output_format_at_the_input_size(string format)
    {
        var result = await RunAsync(Edit(format: format) with { Mask = Mask() });
        var image = result.Images[0];

        Assert.Equal(ImageCodec.MediaType(format), image.MediaType);
        ImageFile.AssertFormat(format, image.Bytes);
        var decoded = ImageFile.Decode(image.Bytes);
        Assert.Equal((Width, Height), (decoded.Width, decoded.Height));
        Assert.Equal(format, result.Produced.OutputFormat);
    }

    [Fact]
    public async Task An_edit_without_a_mask_is_the_render_laid_at_40_percent_over_the_input()
    {
        var input = ImageFile.Decode(Photo);
        var render = ImageFile.Decode(BuiltinRenderer.RenderPng(Prompt, Width, Height, seed: 3));
        var output = await OneAsync(Edit());

        // out = 0.6 in + 0.4 render, so |out - in| is 0.4 |render - in| per channel (give or take rounding).
        var apart = MeanAbsoluteDifference(render, input);
        var moved = MeanAbsoluteDifference(output, input);
        Assert.True(apart > 20, $"the render and the input should differ: {apart}");
        Assert.InRange(moved, 0.35 * apart, 0.45 * apart);
        Assert.InRange(MeanAbsoluteDifference(output, render), 0.55 * apart, 0.65 * apart);
    }

    [Fact]
    public async Task An_edit_repeats_for_a_seed_and_n_images_differ()
    {
        var first = (await RunAsync(Edit(n: 2))).Images;
        var again = (await RunAsync(Edit(n: 2))).Images;

        Assert.Equal(first[0].Bytes, again[0].Bytes);
        Assert.Equal(first[1].Bytes, again[1].Bytes);
        Assert.NotEqual(first[0].Bytes, first[1].Bytes);
    }

    [Fact]
    public async Task Further_inputs_change_what_is_repainted_but_not_what_the_mask_keeps()
    {
        var other = BuiltinRenderer.RenderPng("a green forest at night", 200, 300, seed: 5);
        var third = BuiltinRenderer.RenderPng("white snow", Width, Height, seed: 6);
        var single = await OneAsync(Edit() with { Mask = Mask() });
        var several = await OneAsync(Edit() with { Mask = Mask(), Inputs = [Input(Photo), Input(other, 200, 300), Input(third)] });
        var unmaskedSingle = (await RunAsync(Edit())).Images[0].Bytes;
        var unmaskedSeveral = (await RunAsync(Edit() with { Inputs = [Input(Photo), Input(other, 200, 300)] })).Images[0].Bytes;

        Assert.True(MeanAbsoluteDifference(single, several) > 1);
        Assert.NotEqual(unmaskedSingle, unmaskedSeveral);
        var input = ImageFile.Decode(Photo);
        for (var i = 0; i < input.Pixels.Length; i++)
            if (MaskAlpha(i % Width, i / Width) == 255) Assert.Equal(input.Pixels[i], several.Pixels[i]);
    }

    [Fact]
    public async Task A_transparent_masked_edit_clears_the_repainted_area_and_keeps_the_rest()
    {
        var input = ImageFile.Decode(Photo);
        var result = await RunAsync(Edit(background: "transparent") with { Mask = Mask() });
        var output = ImageFile.Decode(result.Images[0].Bytes);

        Assert.Equal("transparent", result.Produced.Background);
        Assert.Equal(0, output.Alpha(0, 0));
        Assert.Equal(input.Pixels[^1], output.Pixels[^1]);
    }

    [Fact]
    public async Task An_input_larger_than_the_renderer_takes_is_rejected()
    {
        var job = Edit() with { Inputs = [Input(Photo, width: 5000, height: 100)] };

        var result = await Provider.GenerateAsync(job, new ProviderCredential(null, null), CancellationToken.None);

        Assert.Equal(FailureKind.Rejected, result.Failure?.Kind);
    }

    [Fact]
    public async Task Variations_are_recoloured_inputs_at_the_asked_size_that_differ_and_repeat_for_a_seed()
    {
        var result = await RunAsync(Variation(n: 2, seed: 9));
        var again = await RunAsync(Variation(n: 2, seed: 9));
        var first = ImageFile.Decode(result.Images[0].Bytes);
        var second = ImageFile.Decode(result.Images[1].Bytes);

        Assert.Equal((256, 256), (first.Width, first.Height));
        Assert.Equal("256x256", result.Produced.Size);
        var input = ImageFile.Decode(ImageCodec.Resize(new GeneratedImage(Photo, "image/png", null), 256, 256).Bytes);
        Assert.True(MeanAbsoluteDifference(first, input) > 10);
        Assert.True(MeanAbsoluteDifference(second, input) > 10);
        Assert.True(MeanAbsoluteDifference(first, second) > 10);
        Assert.Equal(result.Images.Select(i => i.Bytes), again.Images.Select(i => i.Bytes));
    }

    [Fact]
    public async Task A_variation_asked_at_auto_keeps_the_input_size()
    {
        var output = await OneAsync(Variation(n: 1, seed: 9) with { Size = "auto", Width = 1024, Height = 1024 });

        Assert.Equal((Width, Height), (output.Width, output.Height));
    }

    private static ImageJob Generation(int n = 1) =>
        new("builtin-preview", Prompt, n, Width: 256, Height: 192, Size: "256x192", Quality: "low", Style: null, Seed: 4, User: null,
            OutputFormat: "webp");

    public static TheoryData<string> StreamedKinds => ["generation", "edit", "masked edit", "variation"];

    private static ImageJob Streamed(string kind) => kind switch
    {
        "generation" => Generation(),
        "edit" => Edit(format: "webp"),
        "masked edit" => Edit(format: "webp") with { Mask = Mask() },
        _ => Variation(n: 1, seed: 9),
    };

    [Theory]
    [MemberData(nameof(StreamedKinds))]
    public async Task Two_partial_images_come_in_order_at_the_final_size_and_differ_from_each_other_and_the_final(string kind)
    {
        var partials = new List<PartialImage>();
        var job = Streamed(kind) with
        {
            PartialImages = 2,
            OnPartial = (partial, _) => { partials.Add(partial); return ValueTask.CompletedTask; },
        };

        var result = await RunAsync(job);

        Assert.Equal([0, 1], partials.Select(p => p.Index));
        var final = ImageFile.Decode(result.Images[0].Bytes);
        var decoded = partials.Select(p => ImageFile.Decode(p.Image.Bytes)).ToArray();
        foreach (var (partial, image) in partials.Zip(decoded))
        {
            Assert.Equal(result.Images[0].MediaType, partial.Image.MediaType);
            Assert.Equal((final.Width, final.Height), (image.Width, image.Height));
            Assert.True(MeanAbsoluteDifference(image, final) > 0.1, $"partial {partial.Index} is the final");
        }
        Assert.True(MeanAbsoluteDifference(decoded[0], decoded[1]) > 0.1);
        // Coarse to fine: the second pass is closer to the final than the first.
        Assert.True(MeanAbsoluteDifference(decoded[1], final) < MeanAbsoluteDifference(decoded[0], final));
    }

    [Fact]
    public async Task Partials_are_of_image_0_only_and_the_finals_are_those_of_an_unstreamed_call()
    {
        var partials = new List<PartialImage>();
        var streamed = await RunAsync(Generation(n: 2) with
        {
            PartialImages = 3,
            OnPartial = (partial, _) => { partials.Add(partial); return ValueTask.CompletedTask; },
        });
        var plain = await RunAsync(Generation(n: 2));

        Assert.Equal([0, 1, 2], partials.Select(p => p.Index));
        Assert.Equal(plain.Images.Select(i => i.Bytes), streamed.Images.Select(i => i.Bytes));
    }

    [Fact]
    public async Task No_partial_is_made_when_none_is_asked_for_or_nothing_listens()
    {
        var calls = 0;
        var none = await RunAsync(Generation() with
        {
            PartialImages = 0,
            OnPartial = (_, _) => { calls++; return ValueTask.CompletedTask; },
        });
        var unheard = await RunAsync(Generation() with { PartialImages = 2 });
        var plain = await RunAsync(Generation());

        Assert.Equal(0, calls);
        Assert.Equal(plain.Images[0].Bytes, none.Images[0].Bytes);
        Assert.Equal(plain.Images[0].Bytes, unheard.Images[0].Bytes);
    }

    [Fact]
    public async Task Cancelling_after_a_partial_stops_before_the_next_pass()
    {
        using var cts = new CancellationTokenSource();
        var calls = 0;
        var job = Edit() with
        {
            PartialImages = 3,
            OnPartial = (_, _) => { calls++; cts.Cancel(); return ValueTask.CompletedTask; },
        };

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            Provider.GenerateAsync(job, new ProviderCredential(null, null), cts.Token));
        Assert.Equal(1, calls);
    }
}
