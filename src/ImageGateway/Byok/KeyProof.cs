using System.Security.Cryptography;
using ImageGateway.Providers;

namespace ImageGateway.Byok;

/// <summary>What a key test found: <see cref="Unverifiable"/> when the upstream accepted a made-up key too.</summary>
public sealed record KeyProofResult(bool Ok, int Status, string Message, bool Unverifiable = false);

/// <summary>
/// A key test that proves the upstream checks keys: the caller's key must be accepted, and a
/// made-up key of the same shape must be refused. An upstream that takes both (an OpenAI-compatible
/// server without auth, or a proxy that adds its own key) cannot tell the caller's key from any
/// other, so the caller's key proves nothing there.
/// </summary>
public static class KeyProof
{
    public static async Task<KeyProofResult> CheckAsync(ProviderRegistry providers, ProviderEndpoint endpoint, string apiKey, CancellationToken ct)
    {
        var own = await endpoint.Adapter.CheckKeyAsync(providers.WithCallerKey(endpoint, apiKey).Credential, ct);
        if (!own.Ok) return new KeyProofResult(false, own.Status, own.Message);
        var madeUp = await endpoint.Adapter.CheckKeyAsync(providers.WithCallerKey(endpoint, MadeUpKey(apiKey)).Credential, ct);
        if (madeUp.Ok)
            return new KeyProofResult(false, own.Status,
                $"The {endpoint.Name} provider also accepted a made-up key, so it does not check keys and yours could not be verified. "
                + "The key was switched off; ask the operator about this provider.", Unverifiable: true);
        if (!madeUp.KeyRejected)
            return new KeyProofResult(false, own.Status,
                $"Your key was accepted, but the check with a made-up key was inconclusive ({madeUp.Message}). Try again shortly.");
        return new KeyProofResult(true, own.Status, own.Message);
    }

    /// <summary>A key with the caller's prefix (so it passes the same shape checks upstream) and random letters after it.</summary>
    private static string MadeUpKey(string apiKey)
    {
        var prefix = new[] { "sk-or-", "sk-", "r8_", "AIza" }.FirstOrDefault(p => apiKey.StartsWith(p, StringComparison.Ordinal)) ?? "";
        return prefix + "igw-check-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20));
    }
}
