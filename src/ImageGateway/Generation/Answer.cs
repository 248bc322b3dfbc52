using System.Text;
using System.Text.Json;
using ImageGateway.Billing;
using ImageGateway.Http;
using ImageGateway.Providers;
using Microsoft.AspNetCore.Http.HttpResults;

namespace ImageGateway.Generation;

/// <summary>
/// A closed hold, or the balance when there was none; <see cref="WrittenOff"/> is what the
/// balance could not cover, <see cref="Charged"/> what was really taken.
/// </summary>
public sealed record Settled(string? TransactionId, Millicredits Remaining, Millicredits WrittenOff, Millicredits Charged);

/// <summary>
/// The answer as it will be sent: the body, or a stream's completed events. <see cref="Kept"/>
/// is its exact text, for an Idempotency-Key, so a replay is byte-identical.
/// </summary>
public sealed record Answer(ImagesResponse Body, IReadOnlyList<ImageStreamEvent>? Events, string? Kept)
{
    /// <summary>The OpenAI answer with its <c>_metadata</c>, made from the settle.</summary>
    public static Answer Make(GenerationTrace trace, RouteStep servedBy, ProviderResult result, ImageDelivery.Delivered delivered,
        Settled settlement, ImageStream? stream, bool keep, TimeProvider time)
    {
        var (spec, byok, provider) = (trace.Spec!, trace.Byok, servedBy.Provider.Name);
        var metadata = new GenerationMetadata(provider, servedBy.UpstreamModel, trace.Charged, settlement.Remaining, settlement.TransactionId,
            trace.Tier!.Name, UsingByok: byok, ByokProvider: byok ? provider : null, trace.Images, spec.Size, spec.Quality,
            delivered.ExpiresAt, ByokFallback: trace.ByokFellBack ? true : null)
        {
            Pricing = spec.Model.Pricing,
            Ignored = spec.Ignored.Count > 0 ? spec.Ignored : null,
            UpstreamCostUsd = result.UpstreamCostUsd,
        };
        var body = new ImagesResponse(time.GetUtcNow().ToUnixTimeSeconds(), delivered.Data, metadata).WithGptImageFacts(spec, result);
        if (stream is not null)
        {
            // One completed event per image, each with the request's usage and _metadata.
            var events = StreamEvents.Completed(stream.Prefix, spec, result, body).ToArray();
            return new Answer(body, events, keep ? ImageStream.Text(events) : null);
        }
        return new Answer(body, null, keep ? JsonSerializer.Serialize(body, GatewayJson.Context.ImagesResponse) : null);
    }

    /// <summary>Sends the answer, settled and (with an Idempotency-Key) already kept.</summary>
    public async Task<Results<ImagesOk, ContentHttpResult, ApiError, EmptyHttpResult>?> SendAsync(ImageStream? stream)
    {
        if (stream is not null)
        {
            foreach (var completed in Events!) await stream.WriteAsync(completed, CancellationToken.None);
            return null;
        }
        return Kept is null ? new ImagesOk(Body)
            : TypedResults.Text(Kept, "application/json", Encoding.UTF8);
    }
}
