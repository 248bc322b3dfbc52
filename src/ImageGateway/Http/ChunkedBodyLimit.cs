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

    private sealed class CountedBody(Stream inner, long limit) : Stream, IHttpMaxRequestBodySizeFeature
    {
        private long _read;

        public bool IsReadOnly => _read > 0;
        public long? MaxRequestBodySize { get; set; } = limit;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _read; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) =>
            Count(await inner.ReadAsync(buffer, ct));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
            ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();

        private int Count(int read)
        {
            _read += read;
            if (_read > MaxRequestBodySize)
                throw new BadHttpRequestException("Request body too large.", StatusCodes.Status413PayloadTooLarge);
            return read;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
