using System.Security.Cryptography;

namespace ImageGateway.Data;

/// <summary>Opaque, unguessable identifiers with a readable type prefix (<c>usr_</c>, <c>txn_</c>, ...).</summary>
public static class Ids
{
    public const string Base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    public static string New(string prefix, int length = 24) =>
        string.Create(prefix.Length + 1 + length, (prefix, length), static (span, state) =>
        {
            state.prefix.AsSpan().CopyTo(span);
            span[state.prefix.Length] = '_';
            PooledRandomBase62(span[(state.prefix.Length + 1)..]);
        });

    /// <summary>Characters of an <see cref="Ordered"/> id that encode the time; the other 16 are random (95 bits).</summary>
    private const int TimeChars = 8;

    /// <summary>
    /// A 24-character id whose first 8 characters are the creation time in milliseconds (base62,
    /// fixed width, so ids sort by time as plain text) and whose last 16 are random. For the
    /// high-volume tables (ledger entries, reservations, usage events): new rows land at the end
    /// of the primary-key index instead of on a random page, so inserting stays as cheap with ten
    /// million rows as with ten.
    /// </summary>
    public static string Ordered(string prefix, DateTimeOffset now) =>
        string.Create(prefix.Length + 1 + TimeChars + 16, (prefix, ms: (ulong)Math.Max(0, now.ToUnixTimeMilliseconds())), static (span, state) =>
        {
            state.prefix.AsSpan().CopyTo(span);
            span[state.prefix.Length] = '_';
            var time = span.Slice(state.prefix.Length + 1, TimeChars);
            var ms = state.ms;
            for (var i = TimeChars - 1; i >= 0; i--)
            {
                time[i] = Base62[(int)(ms % 62)];
                ms /= 62;
            }
            PooledRandomBase62(span[(state.prefix.Length + 1 + TimeChars)..]);
        });

    /// <summary>Straight from the OS's cryptographic generator: for secrets (API keys).</summary>
    public static void RandomBase62(Span<char> destination)
    {
        // GetItems picks uniformly from the alphabet (no modulo bias).
        RandomNumberGenerator.GetItems(Base62, destination);
    }

    private const int PoolBytes = 512;
    [ThreadStatic] private static byte[]? t_pool;
    [ThreadStatic] private static int t_next;

    /// <summary>
    /// The same cryptographic randomness, taken from a per-thread buffer of it filled 512 bytes at a
    /// time. Each call into the generator costs ~2 µs here whatever it returns, and a generate
    /// request makes five ids (request, hold, two ledger entries, usage event).
    /// </summary>
    private static void PooledRandomBase62(Span<char> destination)
    {
        var (pool, next) = (t_pool, t_next);
        if (pool is null) (pool, next) = (t_pool = new byte[PoolBytes], PoolBytes);
        for (var i = 0; i < destination.Length;)
        {
            if (next == PoolBytes)
            {
                RandomNumberGenerator.Fill(pool);
                next = 0;
            }
            // The low six bits are uniform over 0–63; dropping 62 and 63 leaves 0–61 uniform.
            var value = pool[next++] & 63;
            if (value < Base62.Length) destination[i++] = Base62[value];
        }
        t_next = next;
    }
}
