using Microsoft.Extensions.Options;
using System.Security.Cryptography;

namespace ImageGateway.Hosting;

/// <summary>
/// Keys the gateway needs across restarts. Taken from configuration when given (scale-out: every
/// process must share them); otherwise generated once into the data folder with owner-only access.
/// </summary>
public sealed class Secrets
{
    public Secrets(IOptions<GatewayOptions> options)
    {
        var dir = options.Value.ResolveDataDirectory();
        UrlSigningKey = FromConfigOrFile(options.Value.Secrets.UrlSigningKey, Path.Combine(dir, "url-signing.key"), "Gateway:Secrets:UrlSigningKey");
        EncryptionKey = FromConfigOrFile(options.Value.Secrets.EncryptionKey, Path.Combine(dir, "encryption.key"), "Gateway:Secrets:EncryptionKey");
    }

    public byte[] UrlSigningKey { get; }
    public byte[] EncryptionKey { get; }

    private static byte[] FromConfigOrFile(string? configured, string path, string settingName)
    {
        if (!string.IsNullOrWhiteSpace(configured))
            return Decode(configured, settingName);
        if (File.Exists(path))
            return Decode(File.ReadAllText(path).Trim(), path);

        var key = RandomNumberGenerator.GetBytes(32);
        OwnerOnlyFile.WriteAllText(path, Convert.ToBase64String(key));
        return key;
    }

    public static bool IsKey(string base64) => Convert.TryFromBase64String(base64.Trim(), new byte[48], out var length) && length == 32;

    private static byte[] Decode(string base64, string source)
    {
        try
        {
            var key = Convert.FromBase64String(base64);
            if (key.Length != 32) throw new FormatException();
            return key;
        }
        catch (FormatException)
        {
            throw new InvalidOperationException($"{source} must be 32 bytes encoded as base64.");
        }
    }
}

public static class OwnerOnlyFile
{
    /// <summary>Creates the file with mode 0600 before any content is written, so the secret is never world-readable.</summary>
    public static void WriteAllText(string path, string content)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var stream = new FileStream(path, options);
        using var writer = new StreamWriter(stream);
        writer.Write(content);
    }
}
