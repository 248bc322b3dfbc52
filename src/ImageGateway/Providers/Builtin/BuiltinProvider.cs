using System.Security.Cryptography;
using System.Text;
using SkiaSharp;

namespace ImageGateway.Providers.Builtin;

/// <summary>
/// The offline renderer as a provider, so a fresh install answers without any upstream key.
/// Image i of a request uses seed + i, so n images differ while the same prompt, inputs and seed
/// always give the same bytes. Edits and variations mix the prompt's render into the caller's image
/// (see <see cref="Repaint"/>).
/// </summary>
public sealed class BuiltinProvider : IImageProvider
{
    // Partial k paints the prompt's render at 1/PartialScales[k] of the size and scales it up: coarse to fine.
    private static readonly int[] PartialScales = [8, 4, 2];

    public string Kind => "builtin";

    public bool IsConfigured(ProviderCredential credential) => true;

    public string HowToEnable(string providerName) => $"Gateway__Providers__{providerName}__Kind=builtin";

    public bool CanEdit(string upstreamModel) => true;

    public bool CanVary(string upstreamModel) => true;

    public bool CanStream(string upstreamModel) => true;

    public async Task<ProviderResult> GenerateAsync(ImageJob job, ProviderCredential credential, CancellationToken ct)
    {
        if (job.Inputs is [var first, ..] && Math.Max(first.Width, first.Height) > BuiltinRenderer.MaxDimension)
            return ProviderResult.Failed(new ProviderFailure(FailureKind.Rejected,
                $"The builtin renderer takes images of at most {BuiltinRenderer.MaxDimension} pixels a side."));

        var baseSeed = job.Seed ?? SeedFromPrompt(job.Prompt);
        using var repaint = job.Inputs.Count > 0 ? Repaint.From(job) : null;
        var (width, height) = repaint is null ? (job.Width, job.Height) : (repaint.Width, repaint.Height);

        // Partials are of image 0 only, numbered from 0; the n finals all come with the result.
        var partials = job.OnPartial is null ? 0 : Math.Clamp(job.PartialImages, 0, PartialScales.Length);
        for (var p = 0; p < partials; p++)
        {
            ct.ThrowIfCancellationRequested();
            await job.OnPartial!(new PartialImage(p, Image(job, repaint, width, height, baseSeed, PartialScales[p])) { Produced = Produced(job, width, height) }, ct);
        }

        var images = new GeneratedImage[job.N];
        for (var i = 0; i < job.N; i++)
        {
            ct.ThrowIfCancellationRequested();
            images[i] = Image(job, repaint, width, height, baseSeed + i, scale: 1);
        }
        return ProviderResult.Success(images) with { Produced = Produced(job, width, height) };
    }

    private static GeneratedImage Image(ImageJob job, Repaint? repaint, int width, int height, long seed, int scale)
    {
        // output_compression is the encoder quality as is: 100, OpenAI's default, is the best and largest.
        var quality = job.OutputCompression ?? 100;
        using var render = Render(job, width, height, seed, scale);
        var bytes = repaint is null
            ? BuiltinRenderer.Encode(render, job.Format, quality)
            : repaint.Encode(render, seed, job.Format, quality);
        return new GeneratedImage(bytes, ImageCodec.MediaType(job.Format), revisedPrompt: null);
    }

    private static SKBitmap Render(ImageJob job, int width, int height, long seed, int scale)
    {
        var render = BuiltinRenderer.Paint(job.Prompt, Math.Max(1, width / scale), Math.Max(1, height / scale), seed, job.Transparent);
        if (scale == 1) return render;
        using (render) return ImageCodec.Scale(render, width, height);
    }

    /// <summary>What was made: the planned size when a generation asked for <c>auto</c>, the input's for an edit.</summary>
    private static ProducedAs Produced(ImageJob job, int width, int height) => new(
        job.Transparent ? "transparent" : "opaque",
        job.Format,
        $"{width}x{height}",
        job.Quality is "low" or "medium" or "high" ? job.Quality : null);

    private static long SeedFromPrompt(string prompt)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(prompt), hash);
        return BitConverter.ToUInt32(hash);
    }
}
