using ImageGateway.Catalog;
using ImageGateway.Hosting;
using ImageGateway.Http;
using ImageGateway.Observability;
using Microsoft.Extensions.Options;

namespace ImageGateway.Generation;

/// <summary>
/// Step 1 of the pipeline: reads the request's body (JSON for generations; multipart or JSON with
/// images for edits and variations) and applies its model's rules, giving the spec to price.
/// </summary>
public sealed class GenerationRequests(ModelCatalog catalog, IOptions<GatewayOptions> gateway, ImageUrlFetcher imageUrls)
{
    /// <summary>The spec, or the 400/413/415 to answer; with an Idempotency-Key also the body's fingerprint.</summary>
    public async Task<(GenerationSpec? Spec, ApiError? Error, string? BodyHash)> ReadAsync(HttpRequest request, string? key,
        ImageOperation operation, CancellationToken ct)
    {
        using var _ = GatewayMetrics.Activities.StartActivity("generate.validate");
        GenerationSpec? spec;
        ApiError? invalid;
        string? bodyHash;
        if (operation == ImageOperation.Generate)
        {
            (var body, var readError, bodyHash) = await GenerateRequestReader.ReadAsync(request, gateway.Value.MaxRequestBodyBytes, hashBody: key is not null, ct);
            if (readError is not null) return (null, readError, null);
            (spec, invalid) = GenerationSpec.Validate(body!, catalog);
        }
        else
        {
            var (fields, uploads, readError) = await EditRequestReader.ReadAsync(request, gateway.Value.MaxEditRequestBodyBytes,
                variation: operation == ImageOperation.Variation, imageUrls, ct);
            if (readError is not null) return (null, readError, null);
            (spec, invalid) = GenerationSpec.Validate(fields!, catalog, operation, uploads!);
            bodyHash = key is null ? null : EditRequestReader.Hash(fields!, uploads!);
        }
        if (invalid is not null) return (null, invalid, null);
        return key is { Length: > IdempotencyStore.MaxKeyLength } ? (null, GenerationErrors.KeyTooLong(), null) : (spec, null, bodyHash);
    }
}
