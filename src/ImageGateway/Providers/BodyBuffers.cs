using System.Buffers;

namespace ImageGateway.Providers;

/// <summary>
/// The arrays one generation request reads its upstream answers into, rented from the shared
/// pool and returned when the request is done (after its answer was written), instead of a fresh
/// large-object-heap array per answer that the GC must find and collect: a 2 MB image arrives as a
/// 2.6 MB JSON body, and at hundreds of answers a second those arrays were most of the gateway's
/// memory. <see cref="Current"/> is the scope of the request on whose behalf code runs (it flows with
/// the async calls of that request); without one, bodies get arrays of their own, as before.
/// </summary>
public sealed class BodyBuffers : IDisposable
{
    private static readonly AsyncLocal<BodyBuffers?> s_current = new();
    private readonly List<byte[]> _rented = [];
    private bool _disposed;

    private BodyBuffers() { }

    public static BodyBuffers? Current => s_current.Value;

    /// <summary>Starts the scope of the request running now; dispose it once nothing of its answer is needed any more.</summary>
    public static BodyBuffers Begin() => s_current.Value = new BodyBuffers();

    /// <summary>An array of at least <paramref name="length"/> bytes, held until the scope ends. Not zeroed.</summary>
    public byte[] Rent(int length)
    {
        var array = ArrayPool<byte>.Shared.Rent(length);
        lock (_rented)
        {
            if (_disposed)
            {
                // Something of this request outlived it: it gets an array of its own, never a returned one.
                ArrayPool<byte>.Shared.Return(array);
                return GC.AllocateUninitializedArray<byte>(length);
            }
            _rented.Add(array);
        }
        return array;
    }

    public int Rented
    {
        get { lock (_rented) return _rented.Count; }
    }

    public void Dispose()
    {
        byte[][] rented;
        lock (_rented)
        {
            if (_disposed) return;
            _disposed = true;
            rented = [.. _rented];
            _rented.Clear();
        }
        foreach (var array in rented) ArrayPool<byte>.Shared.Return(array);
    }
}
