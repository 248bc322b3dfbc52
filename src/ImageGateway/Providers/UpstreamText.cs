using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace ImageGateway.Providers;

/// <summary>What adapters share when reading an upstream's answer.</summary>
public static partial class UpstreamText
{
    private const int MaxMessageLength = 300;

    /// <summary>
    /// Keeps an upstream's message useful but safe to show: anything shaped like a key or token is
    /// redacted and the length is bounded. Raw bodies are never passed on.
    /// </summary>
    public static string Sanitize(string? message)
    {
        if (string.IsNullOrWhiteSpace(message)) return "no message";
        var clean = SecretLike().Replace(message, "[redacted]");
        clean = new string(clean.Where(c => !char.IsControl(c) || c == ' ').ToArray()).Trim();
        return clean.Length <= MaxMessageLength ? clean : clean[..MaxMessageLength] + "…";
    }

    // Not "\x89PNG..."u8: that literal is UTF-8, so \x89 would become the two bytes C2 89.
    private static ReadOnlySpan<byte> PngSignature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>The media type from the file signature; null when the bytes are not a PNG, JPEG or WebP image.</summary>
    public static string? SniffImage(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length >= 8 && bytes[..8].SequenceEqual(PngSignature)) return "image/png";
        if (bytes.Length >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF) return "image/jpeg";
        if (bytes.Length >= 12 && bytes[..4].SequenceEqual("RIFF"u8) && bytes[8..12].SequenceEqual("WEBP"u8)) return "image/webp";
        return null;
    }

    private static ReadOnlySpan<byte> PngEnd => [0, 0, 0, 0, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82];

    /// <summary>
    /// Whether an image of <paramref name="length"/> bytes, whose first bytes are <paramref name="head"/>
    /// (12 or more) and last are <paramref name="tail"/> (12 or more), is whole: a PNG ends with its
    /// IEND chunk, a JPEG with its end-of-image marker, and a WebP is as long as its RIFF header says.
    /// An answer cut off in the middle passes the signature check but not this one.
    /// </summary>
    public static bool IsWhole(string mediaType, ReadOnlySpan<byte> head, ReadOnlySpan<byte> tail, long length) => mediaType switch
    {
        "image/png" => tail.EndsWith(PngEnd),
        "image/jpeg" => tail.EndsWith((ReadOnlySpan<byte>)[0xFF, 0xD9]),
        "image/webp" => head.Length >= 8 && System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(head[4..8]) + 8L == length,
        _ => false,
    };

    /// <summary><see cref="SniffImage"/> of a whole file, and null when it is cut off (<see cref="IsWhole"/>).</summary>
    public static string? SniffWholeImage(ReadOnlySpan<byte> bytes) =>
        SniffImage(bytes) is { } mediaType && bytes.Length >= 12 && IsWhole(mediaType, bytes, bytes[^12..], bytes.Length) ? mediaType : null;

    /// <summary>
    /// The image in a JSON string of base64 (a <c>data:</c> URL prefix is stripped); null when it is
    /// not a PNG, JPEG or WebP. Strict base64, what upstreams send, is kept as the text it came as.
    /// </summary>
    /// <paramref name="body"/>, when given, is the buffer the element was parsed from: a strict
    /// image then keeps its slice of it instead of a copy.
    public static GeneratedImage? DecodeImage(JsonElement base64, string? revisedPrompt, ReadOnlyMemory<byte> body = default)
    {
        if (base64.ValueKind != JsonValueKind.String) return null;
        // The raw token is the string as sent, quotes included; escapes inside it make it non-strict.
        var raw = System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(base64);
        var asSent = body.Span.Overlaps(raw, out var offset)
            ? GeneratedImage.FromStrictBase64Token(body.Slice(offset, raw.Length), revisedPrompt)
            : raw is [(byte)'"', .., (byte)'"'] ? GeneratedImage.FromStrictBase64(raw[1..^1], revisedPrompt) : null;
        if (asSent is not null) return asSent;
        byte[] bytes;
        if (!base64.TryGetBytesFromBase64(out bytes!))
        {
            var text = base64.GetString()!;
            var comma = text.StartsWith("data:", StringComparison.Ordinal) ? text.IndexOf(',') : -1;
            if (comma < 0) return null;
            try { bytes = Convert.FromBase64String(text[(comma + 1)..]); }
            catch (FormatException) { return null; }
        }
        var mediaType = SniffWholeImage(bytes);
        return mediaType is null ? null : new GeneratedImage(bytes, mediaType, revisedPrompt);
    }

    public static ProviderFailure NotImages(string provider, string what) =>
        new(FailureKind.InvalidResponse, $"The {provider} provider answered with {what} instead of images.");

    /// <summary>The generic mapping of an upstream HTTP status, for adapters to refine.</summary>
    public static ProviderFailure FromStatus(string provider, HttpStatusCode status, string? upstreamMessage, TimeSpan? retryAfter = null)
    {
        var code = (int)status;
        return code switch
        {
            401 or 403 => new(FailureKind.Unauthorized, $"The {provider} provider rejected the API key (HTTP {code}).", code),
            402 => new(FailureKind.Unauthorized, $"The {provider} account is out of credit (HTTP 402).", code),
            408 => new(FailureKind.Timeout, $"The {provider} provider timed out (HTTP 408).", code),
            429 => new(FailureKind.Unavailable, $"The {provider} provider is rate limiting: {Sanitize(upstreamMessage)}", code, retryAfter),
            >= 500 => new(FailureKind.Unavailable, $"The {provider} provider failed (HTTP {code}).", code),
            _ => new(FailureKind.Rejected, $"The {provider} provider rejected the request: {Sanitize(upstreamMessage)}", code),
        };
    }

    /// <summary>
    /// Reads the answer of <see cref="UpstreamClient.SendAsync"/> in the order every JSON adapter
    /// checks it: no answer, the upstream's error, JSON that does not parse, then the adapter's own
    /// reading of the images from the parsed root and the body it was parsed from.
    /// </summary>
    public static async Task<ProviderResult> ReadJsonAnswerAsync((HttpResponseMessage? Response, ProviderFailure? Failure) sent, string provider,
        Func<HttpResponseMessage, JsonDocument?, ProviderFailure> mapError, Func<JsonElement, ReadOnlyMemory<byte>, Task<ProviderResult>> readImages)
    {
        if (sent.Failure is not null) return ProviderResult.Failed(sent.Failure);
        using var response = sent.Response!;
        var (json, body) = ReadJson(response);
        using (json)
        {
            if (!response.IsSuccessStatusCode) return ProviderResult.Failed(mapError(response, json));
            if (json is null) return ProviderResult.Failed(NotImages(provider, "malformed JSON"));
            return await readImages(json.RootElement, body);
        }
    }

    public static JsonDocument? TryParseJson(HttpResponseMessage response) => ReadJson(response).Json;

    /// <summary>
    /// The body of an answer from <see cref="UpstreamClient.SendAsync"/> (already read into a
    /// <see cref="BufferedBody"/>) and the JSON parsed over it in place, null when it is not JSON.
    /// </summary>
    public static (JsonDocument? Json, ReadOnlyMemory<byte> Body) ReadJson(HttpResponseMessage response)
    {
        var body = ((BufferedBody)response.Content).Memory;
        try
        {
            return (JsonDocument.Parse(body), body);
        }
        catch (JsonException)
        {
            return (null, body);
        }
    }

    [GeneratedRegex(@"(sk|pk|rk|key|uc)[-_][A-Za-z0-9_\-\*]{6,}|Bearer\s+\S+|[A-Za-z0-9_\-]{32,}", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SecretLike();
}
