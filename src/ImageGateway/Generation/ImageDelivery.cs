using ImageGateway.Hosting;
using ImageGateway.Observability;
using ImageGateway.Providers;
using ImageGateway.Storage;
using Microsoft.Extensions.Options;

namespace ImageGateway.Generation;

/// <summary>The store step: images become <c>b64_json</c> data, or files behind signed, expiring URLs.</summary>
public sealed class ImageDelivery(IImageStore store, SignedUrls urls, GatewayMetrics metrics, TimeProvider time,
    IOptions<StorageOptions> storage, IOptions<GatewayOptions> gateway, ILogger<ImageDelivery> logger)
{
    /// <param name="Files">The stored images' file names (url mode), for the request's history entry.</param>
    public sealed record Delivered(ImageDatum[] Data, long? ExpiresAt, IReadOnlyList<string>? Files = null);

    /// <summary>
    /// The images at the size asked for (dall-e-2's 256 and 512 are made at 1024 by its successor); a
    /// failure when an upstream image cannot be decoded to scale it.
    /// </summary>
    public ProviderResult FitToSize(GenerationSpec spec, ProviderResult result)
    {
        try
        {
            return result with { Images = result.Images.Select(image => ImageCodec.Resize(image, spec.Width, spec.Height)).ToArray() };
        }
        catch (InvalidDataException e)
        {
            logger.LogWarning(e, "An upstream image could not be decoded to scale it to {Size}", spec.Size);
            return ProviderResult.Failed(new ProviderFailure(FailureKind.InvalidResponse, $"The upstream's image could not be read to scale it to {spec.Size}."));
        }
    }

    /// <summary>Null when the images could not be stored; nothing is charged then.</summary>
    public async Task<Delivered?> DeliverAsync(HttpRequest request, GenerationSpec spec, IReadOnlyList<GeneratedImage> images)
    {
        var data = new ImageDatum[images.Count];
        if (spec.ResponseFormat == GenerationSpec.B64Json)
        {
            for (var i = 0; i < images.Count; i++) data[i] = new ImageDatum(null, images[i], images[i].RevisedPrompt);
            return new Delivered(data, null);
        }

        var expiresAt = time.GetUtcNow().AddSeconds(storage.Value.UrlTtlSeconds);
        var origin = SignedUrls.Origin(request, gateway.Value.PublicBaseUrl);
        string[] files;
        try
        {
            var names = images.Select(image => StoredImageName.New(expiresAt, image.Extension)).ToArray();
            files = names.Select(n => n.FileName).ToArray();
            using (GatewayMetrics.Activities.StartActivity("generate.store"))
                await Task.WhenAll(images.Select((image, i) => store.SaveAsync(names[i], image, CancellationToken.None)));
            metrics.StorageWritten(images.Sum(image => (long)image.Length));
            for (var i = 0; i < images.Count; i++)
                data[i] = new ImageDatum(origin + urls.PathAndQuery(names[i]), null, images[i].RevisedPrompt);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogError(e, "Storing generated images failed");
            return null;
        }
        return new Delivered(data, expiresAt.ToUnixTimeSeconds(), files);
    }
}
