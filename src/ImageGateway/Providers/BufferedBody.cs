using System.Net;

namespace ImageGateway.Providers;

/// <summary>
/// An upstream answer's body, read once into one array that the adapters parse in place.
/// HttpClient's own buffering (<c>ResponseContentRead</c>) would first fill a pooled buffer of its
/// own (the next power of two up: 64 KB for a 55 KB dall-e-3 answer, 1 MB for a 550 KB gpt-image
/// n=10 one, kept by the pool) and then be copied again by whoever wants the bytes; this reads
/// straight into an array of the announced length.
/// </summary>
public sealed class BufferedBody : HttpContent
{
    private BufferedBody(byte[] array, int length)
    {
        Array = array;
        Length = length;
    }

    /// <summary>The array holding the body; only its first <see cref="Length"/> bytes are the body.</summary>
    public byte[] Array { get; }

    public int Length { get; }

    public ReadOnlyMemory<byte> Memory => Array.AsMemory(0, Length);

    /// <summary>
    /// Replaces <paramref name="response"/>'s streamed content with the whole body, read now
    /// (cancelled with <paramref name="ct"/>, so a timeout covers a stalled body). A body that is
    /// cut off or longer than <paramref name="maxBytes"/> (counted as read, after decompression: a
    /// decompressed body has no Content-Length) fails as HttpClient's buffering does,
    /// with an <see cref="HttpRequestException"/>, so it is handled (and retried) as a failed call.
    /// </summary>
    /// <summary>Bodies this large or larger (images, not error messages) are read into pooled arrays within a request's scope.</summary>
    public const int PooledFrom = 64 * 1024;

    public static async Task LoadAsync(HttpResponseMessage response, long maxBytes, CancellationToken ct)
    {
        var streamed = response.Content;
        var announced = streamed.Headers.ContentLength;
        if (announced > maxBytes) throw TooLarge(maxBytes);
        byte[] array;
        int length;
        try
        {
            await using var stream = await streamed.ReadAsStreamAsync(ct);
            if (announced is { } exact)
            {
                // Not zeroed first: every byte is overwritten by the read or the read fails. Within a
                // request's scope the array is a pooled one, held until the request is done, and taken
                // from the process's body budget (which may make it wait, the body left in the socket).
                length = checked((int)exact);
                array = BodyBuffers.Current is { } scope && length >= PooledFrom ? await scope.RentAsync(length) : GC.AllocateUninitializedArray<byte>(length);
                await stream.ReadExactlyAsync(array.AsMemory(0, length), ct);
            }
            else (array, length) = await ReadToEndAsync(stream, maxBytes, ct);
        }
        catch (IOException e)
        {
            throw new HttpRequestException(e is HttpIOException http ? http.HttpRequestError : HttpRequestError.ResponseEnded,
                "Error while copying content to a stream.", e);
        }
        var buffered = new BufferedBody(array, length);
        foreach (var (name, values) in streamed.Headers) buffered.Headers.TryAddWithoutValidation(name, values);
        buffered.Headers.ContentLength = length;
        response.Content = buffered;
        streamed.Dispose();
    }

    /// <summary>
    /// A body without Content-Length (chunked, or decompressed): read in growing steps, up to the
    /// limit. Past <see cref="PooledFrom"/>, within a request's scope, each step is a pooled array
    /// taken from the budget (the first may wait), and the one it outgrew goes back at once.
    /// </summary>
    private static async Task<(byte[] Array, int Length)> ReadToEndAsync(Stream stream, long maxBytes, CancellationToken ct)
    {
        var scope = BodyBuffers.Current;
        var array = GC.AllocateUninitializedArray<byte>(16 * 1024);
        var capacity = array.Length; // a pooled array may be larger than asked for; all of it is used (and counted)
        var pooled = false;
        var length = 0;
        while (true)
        {
            if (length == capacity)
            {
                // Grows to at most maxBytes + 1, so a body of exactly maxBytes still reads to its end.
                var size = (int)Math.Min(Math.Min(maxBytes + 1, System.Array.MaxLength), (long)capacity * 2);
                var pool = scope is not null && size >= PooledFrom;
                var grown = pool ? await scope!.RentAsync(size) : GC.AllocateUninitializedArray<byte>(size);
                array.AsSpan(0, length).CopyTo(grown);
                if (pooled) scope!.Return(array);
                (array, capacity, pooled) = (grown, size, pool);
            }
            var read = await stream.ReadAsync(array.AsMemory(length, capacity - length), ct);
            if (read == 0) return (array, length);
            length += read;
            if (length > maxBytes) throw TooLarge(maxBytes);
        }
    }

    private static HttpRequestException TooLarge(long maxBytes) => CappedStream.TooLarge(maxBytes);

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        stream.WriteAsync(Array, 0, Length);

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken ct) =>
        stream.WriteAsync(Array.AsMemory(0, Length), ct).AsTask();

    protected override Task<Stream> CreateContentReadStreamAsync() =>
        Task.FromResult<Stream>(new MemoryStream(Array, 0, Length, writable: false));

    protected override bool TryComputeLength(out long length)
    {
        length = Length;
        return true;
    }
}
