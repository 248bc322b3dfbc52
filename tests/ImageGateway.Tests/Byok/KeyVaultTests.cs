using System.Security.Cryptography;
using ImageGateway.Byok;

namespace ImageGateway.Tests.Byok;

public sealed class KeyVaultTests
{
    private readonly KeyVault _vault = new(RandomNumberGenerator.GetBytes(32));

    [Fact]
    public void Round_trips_for_the_same_owner_and_provider()
    {
        var sealedValue = _vault.Encrypt("sk-secret-value-0123456789abcdef", "usr_a", "openai");
        Assert.Equal("sk-secret-value-0123456789abcdef", _vault.Decrypt(sealedValue, "usr_a", "openai"));
        Assert.DoesNotContain("secret-value", sealedValue);
    }

    [Fact]
    public void Each_encryption_uses_a_fresh_nonce()
    {
        Assert.NotEqual(_vault.Encrypt("sk-same", "usr_a", "openai"), _vault.Encrypt("sk-same", "usr_a", "openai"));
    }

    [Theory]
    [InlineData("usr_b", "openai")]
    [InlineData("usr_a", "openrouter")]
    public void Ciphertext_moved_to_another_owner_or_provider_does_not_decrypt(string account, string provider)
    {
        var sealedValue = _vault.Encrypt("sk-secret", "usr_a", "openai");
        Assert.Throws<KeyDecryptionException>(() => _vault.Decrypt(sealedValue, account, provider));
    }

    [Fact]
    public void Tampered_or_foreign_ciphertext_is_an_explicit_error()
    {
        var sealedValue = Convert.FromBase64String(_vault.Encrypt("sk-secret", "usr_a", "openai"));
        sealedValue[^1] ^= 1;
        Assert.Throws<KeyDecryptionException>(() => _vault.Decrypt(Convert.ToBase64String(sealedValue), "usr_a", "openai"));
        Assert.Throws<KeyDecryptionException>(() => _vault.Decrypt("not base64!", "usr_a", "openai"));
        var other = new KeyVault(RandomNumberGenerator.GetBytes(32));
        Assert.Throws<KeyDecryptionException>(() => other.Decrypt(_vault.Encrypt("sk-x", "usr_a", "openai"), "usr_a", "openai"));
    }

    [Theory]
    [InlineData("sk-proj-abcdefghijklmnopqrstuvwxyz1234", "sk-…1234")]
    [InlineData("sk-or-v1-abcdefghijklmnopqrstuvwxyz9876", "sk-or-…9876")]
    public void Mask_shows_only_the_type_prefix_and_last_four(string key, string mask) =>
        Assert.Equal(mask, ByokStore.Mask(key));
}
