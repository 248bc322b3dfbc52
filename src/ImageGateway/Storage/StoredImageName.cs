using System.Text.RegularExpressions;
using ImageGateway.Data;

namespace ImageGateway.Storage;

/// <summary>
/// The name of a stored image: <c>{expiry unix seconds}-{24 random base62}.{ext}</c>. The expiry
/// is part of the name so the sweeper needs no index, and the strict pattern means a name taken
/// from a URL can never walk the file system.
/// </summary>
public sealed partial record StoredImageName(long ExpiresAt, string Random, string Extension)
{
    public string Id => $"{ExpiresAt}-{Random}";
    public string FileName => $"{Id}.{Extension}";

    public string MediaType => Extension switch
    {
        "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        _ => "image/png",
    };

    public static StoredImageName New(DateTimeOffset expiresAt, string extension) =>
        new(expiresAt.ToUnixTimeSeconds(), Ids.New("x")[2..], extension);

    public static bool TryParse(string? fileName, out StoredImageName name)
    {
        name = null!;
        if (fileName is null) return false;
        var match = Pattern().Match(fileName);
        if (!match.Success || !long.TryParse(match.Groups[1].ValueSpan, out var exp)) return false;
        name = new StoredImageName(exp, match.Groups[2].Value, match.Groups[3].Value);
        return true;
    }

    [GeneratedRegex(@"^([0-9]{1,12})-([0-9A-Za-z]{24})\.(png|jpeg|webp)$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
