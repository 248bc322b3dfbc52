using System.Security.Cryptography;
using System.Text;

namespace ImageGateway.Providers.Builtin;

/// <summary>
/// The offline renderer as a provider, so a fresh install answers without any upstream key.
/// Image i of a request uses seed + i, so n images differ while the same prompt and seed always
/// give the same bytes.
/// </summary>
public sealed class BuiltinProvider : IImageProvider
{
    public string Kind => "builtin";

    public bool IsConfigured(ProviderCredential credential) => true;

    public string HowToEnable(string providerName) => $"Gateway__Providers__{providerName}__Kind=builtin";

    public Task<ProviderResult> GenerateAsync(ImageJob job, ProviderCredential credential, CancellationToken ct)
    {
        var baseSeed = job.Seed ?? SeedFromPrompt(job.Prompt);
        // output_compression is the encoder quality as is: 100, OpenAI's default, is the best and largest.
        var quality = job.OutputCompression ?? 100;
        var mediaType = ImageCodec.MediaType(job.Format);
        var images = new GeneratedImage[job.N];
        for (var i = 0; i < job.N; i++)
        {
            ct.ThrowIfCancellationRequested();
            var bytes = BuiltinRenderer.Render(job.Prompt, job.Width, job.Height, baseSeed + i, job.Format, quality, job.Transparent);
            images[i] = new GeneratedImage(bytes, mediaType, revisedPrompt: null);
        }
        return Task.FromResult(ProviderResult.Success(images) with { Produced = Produced(job) });
    }

    /// <summary>What was rendered: the planned size when the job asked for <c>auto</c>.</summary>
    private static ProducedAs Produced(ImageJob job) => new(
        job.Transparent ? "transparent" : "opaque",
        job.Format,
        $"{job.Width}x{job.Height}",
        job.Quality is "low" or "medium" or "high" ? job.Quality : null);

    private static long SeedFromPrompt(string prompt)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(prompt), hash);
        return BitConverter.ToUInt32(hash);
    }
}
