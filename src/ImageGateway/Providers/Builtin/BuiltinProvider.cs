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
        var images = new GeneratedImage[job.N];
        for (var i = 0; i < job.N; i++)
        {
            ct.ThrowIfCancellationRequested();
            images[i] = new GeneratedImage(
                BuiltinRenderer.RenderPng(job.Prompt, job.Width, job.Height, baseSeed + i), "image/png", revisedPrompt: null);
        }
        return Task.FromResult(ProviderResult.Success(images));
    }

    private static long SeedFromPrompt(string prompt)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(prompt), hash);
        return BitConverter.ToUInt32(hash) ;
    }
}
