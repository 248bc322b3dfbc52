namespace ImageGateway.Providers;

/// <summary>
/// One generated image. It holds either its bytes or the base64 text an upstream sent for it, and
/// makes the other form only when something asks for it: an image that arrives as base64 and
/// leaves as <c>b64_json</c> is validated but never decoded and re-encoded.
/// </summary>
public sealed class GeneratedImage
{
    private static readonly System.Buffers.SearchValues<byte> s_alphabet =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"u8);
    private byte[]? _bytes;
    // The base64 text as a JSON string token, quotes included: it is written into answers as is.
    private ReadOnlyMemory<byte> _quoted;

    public GeneratedImage(byte[] bytes, string mediaType, string? revisedPrompt)
    {
        _bytes = bytes;
        MediaType = mediaType;
        RevisedPrompt = revisedPrompt;
    }

    private GeneratedImage(string mediaType, string? revisedPrompt, ReadOnlyMemory<byte> quoted)
    {
        _quoted = quoted;
        MediaType = mediaType;
        RevisedPrompt = revisedPrompt;
    }

    public string MediaType { get; }
    public string? RevisedPrompt { get; }

    /// <summary>The image file itself (decoded on first use when the image came as base64).</summary>
    public byte[] Bytes => _bytes ??= DecodeBase64(Base64Utf8());

    /// <summary>The file's bytes when the image holds them already (it came as a file, or was decoded); null when it holds only base64.</summary>
    public byte[]? BytesIfDecoded => _bytes;

    /// <summary>The image as plain base64 in UTF-8 (encoded on first use when the image came as bytes).</summary>
    public ReadOnlySpan<byte> Base64Utf8() => QuotedBase64Utf8()[1..^1];

    /// <summary>The same base64 where it lies, to be written out later (after an await).</summary>
    public ReadOnlyMemory<byte> Base64Memory()
    {
        QuotedBase64Utf8();
        return _quoted[1..^1];
    }

    /// <summary>The same base64 as a JSON string token, <c>"…"</c>: base64 needs no escaping.</summary>
    public ReadOnlySpan<byte> QuotedBase64Utf8()
    {
        if (_quoted.IsEmpty) _quoted = EncodeQuotedBase64(_bytes!);
        return _quoted.Span;
    }

    public string Extension => MediaType switch
    {
        "image/jpeg" => "jpeg",
        "image/webp" => "webp",
        _ => "png",
    };

    /// <summary>
    /// Takes base64 text when it is strict base64 (padded, no whitespace, no escapes) of a PNG,
    /// JPEG or WebP file; null otherwise, so the caller can fall back to a lenient decode.
    /// Every character is checked, and the file type from the first decoded bytes.
    /// </summary>
    public static GeneratedImage? FromStrictBase64(ReadOnlySpan<byte> base64, string? revisedPrompt)
    {
        if (StrictImageType(base64) is not { } mediaType) return null;
        var quoted = new byte[base64.Length + 2];
        quoted[0] = quoted[^1] = (byte)'"';
        base64.CopyTo(quoted.AsSpan(1));
        return new GeneratedImage(mediaType, revisedPrompt, quoted);
    }

    /// <summary>
    /// The same check on a JSON string token (quotes included) that lives in a buffer the caller
    /// no longer changes, such as the upstream's answer: the image keeps that slice, no copy.
    /// </summary>
    public static GeneratedImage? FromStrictBase64Token(ReadOnlyMemory<byte> token, string? revisedPrompt) =>
        token.Span is [(byte)'"', .. var inner, (byte)'"'] && StrictImageType(inner) is { } mediaType
            ? new GeneratedImage(mediaType, revisedPrompt, token)
            : null;

    /// <summary>The type of a strict base64 image that is whole (its last bytes decoded too: a cut-off file is refused).</summary>
    private static string? StrictImageType(ReadOnlySpan<byte> base64)
    {
        if (base64.Length < 24 || base64.Length % 4 != 0) return null;
        var padding = base64.EndsWith("=="u8) ? 2 : base64.EndsWith("="u8) ? 1 : 0;
        // One pass over the 2.6 MB of a 2 MB image (Base64.IsValid would let whitespace through, and a second pass find it).
        if (base64[..^padding].ContainsAnyExcept(s_alphabet)) return null;
        Span<byte> head = stackalloc byte[12];
        System.Buffers.Text.Base64.DecodeFromUtf8(base64[..16], head, out _, out var written, isFinalBlock: false);
        if (written != head.Length || UpstreamText.SniffImage(head) is not { } mediaType) return null;
        Span<byte> tail = stackalloc byte[18];
        System.Buffers.Text.Base64.DecodeFromUtf8(base64[^24..], tail, out _, out var tailLength);
        return UpstreamText.IsWhole(mediaType, head, tail[..tailLength], base64.Length / 4 * 3 - padding) ? mediaType : null;
    }

    /// <summary>
    /// The file's bytes for writing once (to a store): decoded into an array rented from the
    /// request's <see cref="BodyBuffers"/> when there is one, and not kept on the image, so a 2 MB
    /// image stored for a <c>url</c> answer costs no fresh large array; otherwise <see cref="Bytes"/>.
    /// </summary>
    public ReadOnlyMemory<byte> BytesForWriting()
    {
        if (_bytes is not null || BodyBuffers.Current is not { } scope) return Bytes;
        var base64 = Base64Utf8();
        var padding = base64.EndsWith("=="u8) ? 2 : base64.EndsWith("="u8) ? 1 : 0;
        var length = base64.Length / 4 * 3 - padding;
        if (length < BufferedBody.PooledFrom) return Bytes;
        var array = scope.Rent(length);
        System.Buffers.Text.Base64.DecodeFromUtf8(base64, array, out _, out var written);
        return array.AsMemory(0, written);
    }

    /// <summary>The file's size in bytes, without decoding it.</summary>
    public int Length
    {
        get
        {
            if (_bytes is not null) return _bytes.Length;
            var base64 = Base64Utf8();
            return base64.Length / 4 * 3 - (base64.EndsWith("=="u8) ? 2 : base64.EndsWith("="u8) ? 1 : 0);
        }
    }

    /// <summary>Decodes text <see cref="StrictImageType"/> accepted: padded, so its length gives the exact size.</summary>
    private static byte[] DecodeBase64(ReadOnlySpan<byte> base64)
    {
        var padding = base64.EndsWith("=="u8) ? 2 : base64.EndsWith("="u8) ? 1 : 0;
        var bytes = new byte[base64.Length / 4 * 3 - padding];
        System.Buffers.Text.Base64.DecodeFromUtf8(base64, bytes, out _, out _);
        return bytes;
    }

    private static byte[] EncodeQuotedBase64(byte[] bytes)
    {
        var quoted = new byte[System.Buffers.Text.Base64.GetMaxEncodedToUtf8Length(bytes.Length) + 2];
        quoted[0] = quoted[^1] = (byte)'"';
        System.Buffers.Text.Base64.EncodeToUtf8(bytes, quoted.AsSpan(1, quoted.Length - 2), out _, out _);
        return quoted;
    }
}
