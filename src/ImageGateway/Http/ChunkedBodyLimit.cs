using Microsoft.AspNetCore.Http.Features;

namespace ImageGateway.Http;

/// <summary>
/// Kestrel counts a chunked body's framing (the size lines and CRLFs) toward
/// <c>MaxRequestBodySize</c>, so a chunked body a few hundred bytes under the limit was refused
/// (measured: 64 KiB chunks fail about 150 bytes below it, 1,000-byte chunks about 7 KB below).
/// For a chunked request this lifts Kestrel's limit and counts the decoded bytes instead, as a
/// stand-in for the size feature, so an endpoint that raises its own limit (edits) still can.
/// A body with Content-Length keeps Kestrel's own check, which is exact for it.
/// </summary>
public static class ChunkedBodyLimit
{
    public static IApplicationBuilder UseExactChunkedBodyLimit(this IApplicationBuilder app, long limit) =>
        app.Use((context, next) =>
        {
            var request = context.Request;
            if (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0
                && context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } kestrel)
            {
                kestrel.MaxRequestBodySize = null;
                var counted = new CountedBody(request.Body, limit);
                request.Body = counted;
                context.Features.Set<IHttpMaxRequestBodySizeFeature>(counted);
            }
            return next(context);
        });

    /// <summary>The request body counted as decoded; its limit is the size feature's, which an endpoint may raise before reading.</summary>
    private sealed class CountedBody(Stream inner, long limit) : Providers.CappedStream(inner, limit), IHttpMaxRequestBodySizeFeature
    {
        public bool IsReadOnly => BytesRead > 0;
        public long? MaxRequestBodySize { get; set; } = limit;

        protected override long? Limit => MaxRequestBodySize;

        protected override Exception TooLarge() => new BadHttpRequestException("Request body too large.", StatusCodes.Status413PayloadTooLarge);
    }
}
