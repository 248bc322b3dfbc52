using System.Buffers;
using System.Numerics;

namespace ImageGateway.Providers;

/// <summary>
/// The arrays one generation request reads its upstream answers into, rented from the shared
/// pool and returned when the request is done (after its answer was written), instead of a fresh
/// large-object-heap array per answer that the GC must find and collect: a 2 MB image arrives as a
/// 2.6 MB JSON body, and at hundreds of answers a second those arrays were most of the gateway's
/// memory. Their bytes count against the process's <see cref="BodyBudget"/> until then.
/// <see cref="Current"/> is the scope of the request on whose behalf code runs (it flows with the
/// async calls of that request); without one, bodies get arrays of their own, as before.
/// </summary>
public sealed class BodyBuffers : IDisposable
{
    private static readonly AsyncLocal<BodyBuffers?> s_current = new();
    private readonly List<byte[]> _rented = [];
    private readonly BodyBudget? _budget;
    private readonly CancellationToken _requestAborted;
    private readonly BodyBudget.Holder _share = new();
    private bool _disposed;

    private BodyBuffers(BodyBudget? budget, CancellationToken requestAborted)
    {
        _budget = budget;
        _requestAborted = requestAborted;
    }

    public static BodyBuffers? Current => s_current.Value;

    /// <summary>
    /// Starts the scope of the request running now; dispose it once nothing of its answer is needed
    /// any more. A wait for the budget ends only when the caller goes away (<paramref name="requestAborted"/>).
    /// </summary>
    public static BodyBuffers Begin(BodyBudget? budget = null, CancellationToken requestAborted = default) =>
        s_current.Value = new BodyBuffers(budget, requestAborted);

    /// <summary>
    /// An array of at least <paramref name="length"/> bytes, held until the scope ends, once the budget
    /// has room for it (the first array of a request may wait; see <see cref="BodyBudget"/>). Not zeroed.
    /// </summary>
    public async ValueTask<byte[]> RentAsync(int length)
    {
        if (_budget is not null) await _budget.TakeAsync(_share, PooledLength(length), _requestAborted);
        return Keep(length);
    }

    /// <summary>The same without waiting: for a request that already holds its answer (the budget is overdrawn if need be).</summary>
    public byte[] Rent(int length)
    {
        _budget?.Overdraw(_share, PooledLength(length));
        return Keep(length);
    }

    private byte[] Keep(int length)
    {
        var array = ArrayPool<byte>.Shared.Rent(length);
        lock (_rented)
        {
            if (_disposed)
            {
                // Something of this request outlived it: it gets an array of its own, never a returned one.
                ArrayPool<byte>.Shared.Return(array);
                _budget?.GiveBack(_share);
                return GC.AllocateUninitializedArray<byte>(length);
            }
            _rented.Add(array);
        }
        return array;
    }

    /// <summary>Returns one array before the scope ends (a smaller one that a growing body has outgrown).</summary>
    public void Return(byte[] array)
    {
        lock (_rented)
        {
            if (_disposed || !_rented.Remove(array)) return;
        }
        ArrayPool<byte>.Shared.Return(array);
        _budget?.GiveBack(_share, array.Length);
    }

    /// <summary>
    /// The length of the array the shared pool hands out for <paramref name="length"/> bytes: its
    /// buckets are powers of two, so a 2.6 MB answer gets a 4 MB array, and the budget counts that
    /// (counting the 2.6 MB let 512 MiB of budget hold some 800 MB of arrays).
    /// </summary>
    public static long PooledLength(int length) => length <= 16 ? 16 : (long)BitOperations.RoundUpToPowerOf2((uint)length);

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
        _budget?.GiveBack(_share);
    }
}
