using System.Buffers.Binary;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using ImageGateway.Providers.Builtin;
using ImageGateway.Tests.Support;
using SkiaSharp;

namespace ImageGateway.Tests.Providers;

public class BuiltinRendererTests
{
    private const string Prompt = "a lighthouse on a cliff at dawn";

    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    [Theory]
    [InlineData(256, 256)]
    [InlineData(512, 512)]
    [InlineData(1024, 1024)]
    [InlineData(1792, 1024)]
    [InlineData(1024, 1792)]
    [InlineData(1536, 1536)]
    [InlineData(1536, 1024)]
    [InlineData(1024, 1536)]
    public void Renders_a_valid_png_of_the_requested_size(int width, int height)
    {
        byte[] png = BuiltinRenderer.RenderPng(Prompt, width, height, seed: 42);

        Assert.Equal(PngSignature, png[..8]);
        using var bitmap = SKBitmap.Decode(png);
        Assert.NotNull(bitmap);
        Assert.Equal(width, bitmap.Width);
        Assert.Equal(height, bitmap.Height);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 2)]
    [InlineData(333, 257)]
    [InlineData(4096, 1)]
    [InlineData(1, 4096)]
    public void Renders_odd_and_extreme_but_valid_sizes(int width, int height)
    {
        byte[] png = BuiltinRenderer.RenderPng(Prompt, width, height, seed: 7);

        using var bitmap = SKBitmap.Decode(png);
        Assert.NotNull(bitmap);
        Assert.Equal(width, bitmap.Width);
        Assert.Equal(height, bitmap.Height);
    }

    [Fact]
    public void Png_structure_is_well_formed_with_correct_crcs_and_image_data()
    {
        const int width = 300, height = 200;
        byte[] png = BuiltinRenderer.RenderPng(Prompt, width, height, seed: 3);

        Assert.Equal(PngSignature, png[..8]);
        var chunks = ReadChunks(png);
        Assert.Equal("IHDR", chunks[0].Type);
        Assert.Equal("IEND", chunks[^1].Type);
        Assert.Contains(chunks, c => c.Type == "IDAT");
        Assert.All(chunks, c => Assert.True(c.CrcOk, $"bad CRC on chunk {c.Type}"));

        byte[] ihdr = chunks[0].Data;
        Assert.Equal(width, BinaryPrimitives.ReadInt32BigEndian(ihdr));
        Assert.Equal(height, BinaryPrimitives.ReadInt32BigEndian(ihdr.AsSpan(4)));
        Assert.Equal(8, ihdr[8]); // bit depth
        Assert.Equal(2, ihdr[9]); // truecolour RGB

        // The zlib stream must inflate to exactly one filter byte + 3 bytes per pixel for every row.
        byte[] idat = chunks.Where(c => c.Type == "IDAT").SelectMany(c => c.Data).ToArray();
        using var inflater = new ZLibStream(new MemoryStream(idat), CompressionMode.Decompress);
        using var raw = new MemoryStream();
        inflater.CopyTo(raw);
        Assert.Equal(height * (1 + width * 3), raw.Length);
        byte[] scanlines = raw.ToArray();
        for (int y = 0; y < height; y++)
            Assert.InRange(scanlines[y * (1 + width * 3)], 0, 4); // valid filter type
    }

    [Fact]
    public void Same_prompt_and_seed_give_identical_bytes()
    {
        byte[] a = BuiltinRenderer.RenderPng(Prompt, 512, 512, seed: 1234);
        byte[] b = BuiltinRenderer.RenderPng(Prompt, 512, 512, seed: 1234);

        Assert.Equal(a, b);
    }

    [Fact]
    public void Same_prompt_with_different_seeds_gives_different_images()
    {
        byte[] a = BuiltinRenderer.RenderPng(Prompt, 512, 512, seed: 1);
        byte[] b = BuiltinRenderer.RenderPng(Prompt, 512, 512, seed: 2);
        byte[] c = BuiltinRenderer.RenderPng(Prompt, 512, 512, seed: -1);

        Assert.NotEqual(a, b);
        Assert.NotEqual(a, c);
        Assert.NotEqual(b, c);
        Assert.NotEqual(DecodePixels(a), DecodePixels(b)); // different pictures, not just different encodings
    }

    [Fact]
    public void Different_prompts_give_different_images()
    {
        byte[] a = BuiltinRenderer.RenderPng("a red fox in a snowy forest", 512, 512, seed: 99);
        byte[] b = BuiltinRenderer.RenderPng("a blue whale in a deep ocean", 512, 512, seed: 99);
        byte[] c = BuiltinRenderer.RenderPng("a red fox in a snowy forest", 512, 512);
        byte[] d = BuiltinRenderer.RenderPng("a blue whale in a deep ocean", 512, 512);

        Assert.NotEqual(a, b);
        Assert.NotEqual(c, d);
        Assert.NotEqual(DecodePixels(a), DecodePixels(b));
    }

    [Fact]
    public void Null_seed_is_deterministic_per_prompt_and_derived_from_sha256_of_the_prompt()
    {
        byte[] a = BuiltinRenderer.RenderPng(Prompt, 256, 256);
        byte[] b = BuiltinRenderer.RenderPng(Prompt, 256, 256, seed: null);
        byte[] other = BuiltinRenderer.RenderPng(Prompt + "!", 256, 256);

        Assert.Equal(a, b);
        Assert.NotEqual(a, other);

        long derived = BinaryPrimitives.ReadInt64LittleEndian(SHA256.HashData(Encoding.UTF8.GetBytes(Prompt)));
        Assert.Equal(a, BuiltinRenderer.RenderPng(Prompt, 256, 256, derived));
        Assert.NotEqual(a, BuiltinRenderer.RenderPng(Prompt, 256, 256, derived + 1));
    }

    [Fact]
    public void Size_changes_the_output()
    {
        byte[] a = BuiltinRenderer.RenderPng(Prompt, 512, 512, seed: 5);
        byte[] b = BuiltinRenderer.RenderPng(Prompt, 512, 256, seed: 5);

        Assert.NotEqual(a, b);
    }

    [Theory]
    [InlineData(Prompt)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("猫と桜 🌸 — ÆØÅ")]
    [InlineData("night")]
    [InlineData("bright pastel morning")]
    public void Image_is_not_a_solid_fill(string prompt)
    {
        byte[] png = BuiltinRenderer.RenderPng(prompt, 512, 512, seed: 11);
        uint[] pixels = DecodePixels(png);

        // Sample a 48x48 grid over the whole image.
        var counts = new Dictionary<uint, int>();
        const int grid = 48;
        for (int gy = 0; gy < grid; gy++)
        for (int gx = 0; gx < grid; gx++)
        {
            uint p = pixels[(gy * 512 / grid + 5) * 512 + gx * 512 / grid + 5];
            counts[p] = counts.GetValueOrDefault(p) + 1;
        }

        Assert.True(counts.Count > 50, $"only {counts.Count} distinct colours in {grid * grid} samples");
        int mostCommon = counts.Values.Max();
        Assert.True(mostCommon < grid * grid / 10, $"one colour covers {mostCommon} of {grid * grid} samples");
    }

    [Fact]
    public void Output_is_opaque()
    {
        uint[] pixels = DecodePixels(BuiltinRenderer.RenderPng(Prompt, 256, 256, seed: 8));

        Assert.All(pixels, p => Assert.Equal(0xFFu, p >> 24));
    }

    [Theory]
    [InlineData("png")]
    [InlineData("jpeg")]
    [InlineData("webp")]
    public void Renders_each_format_with_its_signature_and_the_requested_size(string format)
    {
        byte[] file = BuiltinRenderer.Render(Prompt, 320, 200, seed: 42, format);

        ImageFile.AssertFormat(format, file);
        var image = ImageFile.Decode(file);
        Assert.Equal((320, 200), (image.Width, image.Height));
    }

    [Theory]
    [InlineData("png", false)]
    [InlineData("jpeg", false)]
    [InlineData("webp", false)]
    [InlineData("png", true)]
    [InlineData("webp", true)]
    public void Each_format_gives_identical_bytes_for_the_same_prompt_and_seed(string format, bool transparent)
    {
        byte[] a = BuiltinRenderer.Render(Prompt, 256, 256, seed: 9, format, quality: 80, transparent);
        byte[] b = BuiltinRenderer.Render(Prompt, 256, 256, seed: 9, format, quality: 80, transparent);

        Assert.Equal(a, b);
    }

    [Fact]
    public void Png_ignores_the_quality_and_stays_the_opaque_render_of_before()
    {
        byte[] png = BuiltinRenderer.RenderPng(Prompt, 256, 256, seed: 4);

        Assert.Equal(png, BuiltinRenderer.Render(Prompt, 256, 256, seed: 4, "png", quality: 10));
        Assert.Equal(png, BuiltinRenderer.Render(Prompt, 256, 256, seed: 4, "png", transparent: false));
    }

    [Theory]
    [InlineData("png")]
    [InlineData("webp")]
    public void Transparent_render_has_clear_corners_and_visible_shapes(string format)
    {
        var image = ImageFile.Decode(BuiltinRenderer.Render(Prompt, 256, 256, seed: 8, format, transparent: true));

        Assert.Equal(0, image.Alpha(0, 0));
        Assert.Equal(0, image.Alpha(255, 255));
        var alphas = image.Pixels.Select(p => p >> 24).ToArray();
        Assert.True(alphas.Count(a => a == 0) > alphas.Length / 4, "most of a transparent image shows through");
        Assert.True(alphas.Count(a => a >= 120) > alphas.Length / 100, "the shapes are drawn with enough alpha to see");
    }

    [Theory]
    [InlineData("png")]
    [InlineData("webp")]
    public void Opaque_render_has_alpha_255_everywhere(string format)
    {
        var image = ImageFile.Decode(BuiltinRenderer.Render(Prompt, 256, 256, seed: 8, format));

        Assert.All(image.Pixels, p => Assert.Equal(0xFFu, p >> 24));
    }

    [Theory]
    [InlineData("jpeg")]
    [InlineData("webp")]
    public void Lower_quality_gives_smaller_files(string format)
    {
        int Size(int quality) => BuiltinRenderer.Render(Prompt, 512, 512, seed: 6, format, quality).Length;

        int best = Size(100), middle = Size(50), worst = Size(10);

        Assert.True(middle < best, $"quality 50: {middle} bytes, 100: {best}");
        Assert.True(worst < middle, $"quality 10: {worst} bytes, 50: {middle}");
        Assert.True(worst * 3 < best, $"quality 10: {worst} bytes is not clearly smaller than 100: {best}");
    }

    [Fact]
    public void Unknown_format_throws()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => BuiltinRenderer.Render(Prompt, 64, 64, seed: 1, "gif"));

        Assert.Equal("format", ex.ParamName);
    }

    [Fact]
    public void Concurrent_renders_are_identical_to_sequential_ones()
    {
        byte[][] expected = Enumerable.Range(0, 6)
            .Select(i => BuiltinRenderer.RenderPng(Prompt, 256, 256, seed: i)).ToArray();
        var actual = new byte[6][];

        Parallel.For(0, 6, i => actual[i] = BuiltinRenderer.RenderPng(Prompt, 256, 256, seed: i));

        for (int i = 0; i < 6; i++)
            Assert.Equal(expected[i], actual[i]);
    }

    [Theory]
    [InlineData(0, 256, "width")]
    [InlineData(-1, 256, "width")]
    [InlineData(4097, 256, "width")]
    [InlineData(int.MinValue, 256, "width")]
    [InlineData(int.MaxValue, 256, "width")]
    [InlineData(256, 0, "height")]
    [InlineData(256, -5, "height")]
    [InlineData(256, 4097, "height")]
    [InlineData(256, int.MaxValue, "height")]
    public void Invalid_sizes_throw(int width, int height, string parameter)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => BuiltinRenderer.RenderPng(Prompt, width, height));

        Assert.Equal(parameter, ex.ParamName);
    }

    [Fact]
    public void Null_prompt_throws()
    {
        Assert.Throws<ArgumentNullException>(() => BuiltinRenderer.RenderPng(null!, 256, 256));
    }

    private static uint[] DecodePixels(byte[] file) => ImageFile.Decode(file).Pixels;

    private sealed record Chunk(string Type, byte[] Data, bool CrcOk);

    private static List<Chunk> ReadChunks(byte[] png)
    {
        var chunks = new List<Chunk>();
        int offset = 8;
        while (offset < png.Length)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(offset));
            string type = Encoding.ASCII.GetString(png, offset + 4, 4);
            byte[] data = png.AsSpan(offset + 8, length).ToArray();
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(offset + 8 + length));
            bool crcOk = crc == Crc32(png.AsSpan(offset + 4, 4 + length));
            chunks.Add(new Chunk(type, data, crcOk));
            offset += 12 + length;
        }
        Assert.Equal(png.Length, offset);
        return chunks;
    }

    /// <summary>Bitwise CRC-32 (ISO-HDLC, as used by PNG), independent of the renderer's table version.</summary>
    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }
        return ~crc;
    }
}
