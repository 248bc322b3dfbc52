using ImageGateway.Hosting;
using System.Security.Cryptography;
using System.Text;

namespace ImageGateway.Byok;

public sealed class KeyDecryptionException(string message) : Exception(message);

/// <summary>
/// AES-256-GCM for BYOK secrets. Each value gets a fresh random nonce, and the owner's account id
/// and provider are bound in as associated data, so a ciphertext copied to another row or
/// account fails to decrypt instead of lending someone else's key.
/// Stored form: base64(nonce ‖ ciphertext ‖ tag).
/// </summary>
public sealed class KeyVault(byte[] key)
{
    public KeyVault(Secrets secrets) : this(secrets.EncryptionKey) { }

    private const int NonceSize = 12;
    private const int TagSize = 16;

    public string Encrypt(string plaintext, string accountId, string provider)
    {
        var plain = Encoding.UTF8.GetBytes(plaintext);
        var sealedValue = new byte[NonceSize + plain.Length + TagSize];
        var nonce = sealedValue.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(key, TagSize);
        aes.Encrypt(nonce, plain, sealedValue.AsSpan(NonceSize, plain.Length), sealedValue.AsSpan(NonceSize + plain.Length), Aad(accountId, provider));
        CryptographicOperations.ZeroMemory(plain);
        return Convert.ToBase64String(sealedValue);
    }

    /// <summary>Throws <see cref="KeyDecryptionException"/> on any tampering, wrong owner or wrong key.</summary>
    public string Decrypt(string stored, string accountId, string provider)
    {
        byte[] sealedValue;
        try { sealedValue = Convert.FromBase64String(stored); }
        catch (FormatException) { throw new KeyDecryptionException("The stored key is corrupt."); }
        if (sealedValue.Length < NonceSize + TagSize) throw new KeyDecryptionException("The stored key is corrupt.");

        var cipherLength = sealedValue.Length - NonceSize - TagSize;
        var plain = new byte[cipherLength];
        try
        {
            using var aes = new AesGcm(key, TagSize);
            aes.Decrypt(sealedValue.AsSpan(0, NonceSize), sealedValue.AsSpan(NonceSize, cipherLength),
                sealedValue.AsSpan(NonceSize + cipherLength), plain, Aad(accountId, provider));
        }
        catch (CryptographicException)
        {
            throw new KeyDecryptionException("The stored key cannot be decrypted (wrong encryption key or tampered value).");
        }
        return Encoding.UTF8.GetString(plain);
    }

    private static byte[] Aad(string accountId, string provider) => Encoding.UTF8.GetBytes($"byok|{accountId}|{provider}");
}
