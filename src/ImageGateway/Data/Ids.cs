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
            RandomBase62(span[(state.prefix.Length + 1)..]);
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
            RandomBase62(span[(state.prefix.Length + 1 + TimeChars)..]);
        });

    /// <summary>Every id's random part, and API keys': straight from the OS's cryptographic generator, uniform over the alphabet.</summary>
    public static void RandomBase62(Span<char> destination) => RandomNumberGenerator.GetItems(Base62, destination);
}
