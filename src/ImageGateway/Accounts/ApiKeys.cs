using System.Security.Cryptography;
using System.Text;
using ImageGateway.Data;

namespace ImageGateway.Accounts;

public static class KeyScope
{
    public const string User = "user";
    public const string Admin = "admin";
}

/// <summary>
/// Gateway API keys: <c>uc_</c> + 43 random base62 characters (≈256 bits). Only the SHA-256 hash
/// is stored; a fast hash is right here because the key is random, not a guessable password.
/// </summary>
public static class ApiKeys
{
    public const string Prefix = "uc_";
    private const int RandomLength = 43;
    private const int DisplayLength = 11;

    public static string Generate() => string.Create(Prefix.Length + RandomLength, 0, static (span, _) =>
    {
        Prefix.AsSpan().CopyTo(span);
        Ids.RandomBase62(span[Prefix.Length..]);
    });

    /// <summary>Shape check before any hashing or database work: <c>uc_</c> then at least 40 base62 characters.</summary>
    public static bool HasValidShape(ReadOnlySpan<char> key)
    {
        if (key.Length < Prefix.Length + 40 || key.Length > 128 || !key.StartsWith(Prefix, StringComparison.Ordinal)) return false;
        foreach (var c in key[Prefix.Length..])
            if (!char.IsAsciiLetterOrDigit(c)) return false;
        return true;
    }

    public static string Hash(ReadOnlySpan<char> key)
    {
        Span<byte> utf8 = stackalloc byte[key.Length];
        Encoding.ASCII.GetBytes(key, utf8);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(utf8, hash);
        return Convert.ToHexStringLower(hash);
    }

    public static string Display(string key) => key[..DisplayLength] + "…";
}
