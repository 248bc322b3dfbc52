using System.Net;

namespace ImageGateway.Providers;

/// <summary>
/// A read-only view of a body that fails once more than <see cref="Limit"/> bytes have been read.
/// It counts what the reader gets, after decoding, so a small compressed (or chunked) body is
/// measured by what it really holds: an upstream answer that inflates without end stops at the
/// cap instead of filling memory. Subclasses choose the limit and the failure.
/// </summary>
public class CappedStream(Stream inner, long maxBytes) : Stream
{
    private long _read;

    /// <summary>The bytes read so far.</summary>
    protected long BytesRead => _read;

    /// <summary>The most bytes that may be read; null for no limit.</summary>
    protected virtual long? Limit => maxBytes;

    protected virtual Exception TooLarge() => TooLarge(maxBytes);

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
        if (_read > Limit) throw TooLarge();
        return read;
    }

    public static HttpRequestException TooLarge(long maxBytes) =>
        new(HttpRequestError.ConfigurationLimitExceeded, $"The upstream answer is larger than {maxBytes} bytes (MaxAnswerBytes).");

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}
