using ImageGateway.Hosting;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace ImageGateway.Storage;

public enum UrlCheck { Valid, BadSignature, Expired }

/// <summary>HMAC-SHA256 signatures over <c>{file name}|{exp}</c> for image URLs.</summary>
public sealed class SignedUrls(byte[] key, TimeProvider time)
{
    public SignedUrls(Secrets secrets, TimeProvider time) : this(secrets.UrlSigningKey, time) { }

    public const string FilesPath = "/api/v1/llm/image/files/";

    public string PathAndQuery(StoredImageName name) =>
        $"{FilesPath}{name.FileName}?exp={name.ExpiresAt.ToString(CultureInfo.InvariantCulture)}&sig={Sign(name.FileName, name.ExpiresAt)}";

    /// <summary>Where image URLs point: <c>Gateway:PublicBaseUrl</c> when set, else the request's own scheme and host.</summary>
    public static string Origin(HttpRequest request, string? publicBaseUrl) =>
        !string.IsNullOrEmpty(publicBaseUrl) ? publicBaseUrl.TrimEnd('/') : $"{request.Scheme}://{request.Host.Value}";

    public string Sign(string fileName, long exp)
    {
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{fileName}|{exp.ToString(CultureInfo.InvariantCulture)}"), mac);
        return Base64Url(mac);
    }

    /// <summary>The signature is checked first, so a forged expiry can never turn a 403 into a 410.</summary>
    public UrlCheck Verify(StoredImageName name, string? exp, string? sig)
    {
        if (exp is null || sig is null || !long.TryParse(exp, NumberStyles.None, CultureInfo.InvariantCulture, out var expValue)
            || expValue != name.ExpiresAt)
            return UrlCheck.BadSignature;
        var expected = Encoding.ASCII.GetBytes(Sign(name.FileName, expValue));
        var given = Encoding.UTF8.GetBytes(sig);
        if (!CryptographicOperations.FixedTimeEquals(expected, given)) return UrlCheck.BadSignature;
        return time.GetUtcNow().ToUnixTimeSeconds() >= expValue ? UrlCheck.Expired : UrlCheck.Valid;
    }

    private static string Base64Url(ReadOnlySpan<byte> bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
