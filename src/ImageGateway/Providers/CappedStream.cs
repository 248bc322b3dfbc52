using System.Net;

namespace ImageGateway.Providers;

/// <summary>
/// A read-only view of an upstream body that fails once more than <paramref name="maxBytes"/> have
/// been read. It counts what the reader gets, after decompression, so a small compressed body that
/// inflates without end stops at the cap instead of filling memory.
/// </summary>
public sealed class CappedStream(Stream inner, long maxBytes) : Stream
{
    private long _read;

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
        if (_read > maxBytes) throw TooLarge(maxBytes);
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
