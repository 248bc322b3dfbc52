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

    public static void RandomBase62(Span<char> destination)
    {
        // GetItems picks uniformly from the alphabet (no modulo bias).
        RandomNumberGenerator.GetItems(Base62, destination);
    }
}
