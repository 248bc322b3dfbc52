using System.Globalization;
using System.Text.Json;
using ImageGateway.Http;
using ImageGateway.Providers;
using Microsoft.AspNetCore.Http.Features;
using SkiaSharp;

namespace ImageGateway.Generation;

/// <summary>The images of an edit or a variation, checked: each decodes whole, and a mask is a PNG the first image's size.</summary>
public sealed record ImageUploads(IReadOnlyList<InputImage> Images, InputImage? Mask);

/// <summary>
/// Reads <c>POST /images/edits</c> and <c>/images/variations</c>: <c>multipart/form-data</c> as the
/// SDKs send it (files in <c>image</c> or <c>image[]</c>, the rest as text fields), or for edits
/// the JSON body of OpenAI's <c>EditImageBodyJsonParam</c> with images as <c>data:</c> URLs.
/// Every problem is a 400 naming its field, before anything is priced.
/// </summary>
public static class EditRequestReader
{
    public const int MaxImages = 16;
    public const long MaxImageBytes = 50L * 1024 * 1024;

    public static async Task<(GenerateRequest? Request, ImageUploads? Uploads, ApiError? Error)> ReadAsync(
        HttpRequest request, long limit, bool variation, ImageUrlFetcher fetcher, CancellationToken ct)
    {
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size) size.MaxRequestBodySize = limit;
        if (request.ContentLength > limit) return (null, null, ApiError.TooLarge(limit));
        try
        {
            if (request.HasFormContentType) return await ReadFormAsync(request, limit, variation, ct);
            if (!variation && request.HasJsonContentType()) return await ReadJsonAsync(request, limit, fetcher, ct);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, null, ApiError.TooLarge(limit));
        }
        catch (InvalidDataException e) // a multipart body over the limit or malformed
        {
            return (null, null, e.Message.Contains("limit", StringComparison.OrdinalIgnoreCase)
                ? ApiError.TooLarge(limit)
                : ApiError.BadJson($"The multipart body could not be read: {e.Message}"));
        }
        return (null, null, new ApiError(415, "invalid_request_error", "unsupported_media_type",
            variation ? "Send the variation as multipart/form-data with the image in 'image'."
                      : "Send the edit as multipart/form-data (files in 'image' or 'image[]'), or as JSON with images as data: URLs."));
    }

    private static async Task<(GenerateRequest?, ImageUploads?, ApiError?)> ReadFormAsync(HttpRequest request, long limit, bool variation, CancellationToken ct)
    {
        var form = await request.ReadFormAsync(new FormOptions { MultipartBodyLengthLimit = limit, ValueLengthLimit = 1024 * 1024 }, ct);
        var files = form.Files.Where(f => f.Name is "image" or "image[]").ToArray();
        if (files.Length == 0) return Fail(ApiError.Missing("image", "'image' is required: attach the image file(s) to edit."));
        if (files.Length > (variation ? 1 : MaxImages))
            return Fail(ApiError.Invalid("image", variation ? "A variation takes one image." : $"At most {MaxImages} images can be edited together; got {files.Length}."));
        var images = new List<InputImage>();
        for (var i = 0; i < files.Length; i++)
        {
            var (image, error) = await ReadFileAsync(files[i], files.Length == 1 ? "image" : $"image[{i}]", ct);
            if (error is not null) return Fail(error);
            images.Add(image!);
        }
        InputImage? mask = null;
        if (form.Files.GetFile("mask") is { } maskFile)
        {
            if (variation) return Fail(ApiError.Invalid("mask", "A variation takes no mask."));
            var (read, error) = await ReadFileAsync(maskFile, "mask", ct);
            if ((error ?? MaskError(read!, images[0])) is { } maskError) return Fail(maskError);
            mask = read;
        }

        var (fields, fieldError) = Fields(name => form.TryGetValue(name, out var v) ? v.ToString() : null);
        return fieldError is not null ? Fail(fieldError) : (fields, new ImageUploads(images, mask), null);
    }

    /// <summary>The text fields of a multipart body, typed as the JSON reader types them.</summary>
    private static (GenerateRequest?, ApiError?) Fields(Func<string, string?> field)
    {
        int? Integer(string name, out ApiError? error)
        {
            error = null;
            if (field(name) is not { } text) return null;
            if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)) return value;
            error = ApiError.WrongType(name, $"'{name}' must be an integer.");
            return null;
        }
        var n = Integer("n", out var nError);
        var compression = Integer("output_compression", out var compressionError);
        var partials = Integer("partial_images", out var partialsError);
        if ((nError ?? compressionError ?? partialsError) is { } error) return (null, error);
        bool? stream = field("stream") switch
        {
            null => null,
            "true" or "True" or "1" => true,
            "false" or "False" or "0" => false,
            _ => null,
        };
        if (field("stream") is { } s && stream is null) return (null, ApiError.WrongType("stream", "'stream' must be true or false."));
        return (new GenerateRequest(Prompt: field("prompt"), Model: field("model"), N: n, Size: field("size"), Quality: field("quality"),
            Style: field("style"), ResponseFormat: field("response_format"), User: field("user"), OutputFormat: field("output_format"),
            OutputCompression: compression, Background: field("background"), Moderation: field("moderation"), Stream: stream)
        {
            PartialImages = partials,
            InputFidelity = field("input_fidelity"),
        }, null);
    }

    /// <summary>EditImageBodyJsonParam: <c>images: [{image_url}]</c>, <c>mask: {image_url}</c>, and the generation fields.</summary>
    private static async Task<(GenerateRequest?, ImageUploads?, ApiError?)> ReadJsonAsync(HttpRequest request, long limit, ImageUrlFetcher fetcher,
        CancellationToken ct)
    {
        JsonDocument doc;
        try
        {
            doc = await JsonDocument.ParseAsync(request.Body, new JsonDocumentOptions { MaxDepth = 64 }, ct);
        }
        catch (JsonException e)
        {
            return Fail(ApiError.BadJson($"Request body is not valid JSON: {e.Message}"));
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return Fail(ApiError.BadJson("Request body must be a JSON object."));
            if (!root.TryGetProperty("images", out var list) || list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
                return Fail(ApiError.Missing("images", "'images' is required: a list of {\"image_url\": \"data:image/png;base64,…\"}."));
            if (list.GetArrayLength() > MaxImages) return Fail(ApiError.Invalid("images", $"At most {MaxImages} images can be edited together; got {list.GetArrayLength()}."));
            var images = new List<InputImage>();
            var index = 0;
            foreach (var item in list.EnumerateArray())
            {
                var (image, error) = await FromReferenceAsync(item, $"images[{index++}]", fetcher, ct);
                if (error is not null) return Fail(error);
                images.Add(image!);
            }
            InputImage? mask = null;
            if (root.TryGetProperty("mask", out var maskRef) && maskRef.ValueKind != JsonValueKind.Null)
            {
                var (read, error) = await FromReferenceAsync(maskRef, "mask", fetcher, ct);
                if ((error ?? MaskError(read!, images[0])) is { } maskError) return Fail(maskError);
                mask = read;
            }

            // The other fields are the generation body's: read them with its reader, minus the image references.
            var rest = new Dictionary<string, JsonElement>();
            foreach (var p in root.EnumerateObject())
                if (p.Name is not ("images" or "mask")) rest[p.Name] = p.Value;
            var (fields, fieldError) = GenerateRequestReader.Parse(JsonSerializer.SerializeToUtf8Bytes(rest));
            return fieldError is not null ? Fail(fieldError) : (fields, new ImageUploads(images, mask), null);
        }
    }

    /// <summary>
    /// An <c>ImageRefParam</c>: a <c>data:</c> URL, or an http(s) URL fetched safely
    /// (<see cref="ImageUrlFetcher"/>). <c>file_id</c> is refused: this gateway keeps no files.
    /// </summary>
    private static async Task<(InputImage?, ApiError?)> FromReferenceAsync(JsonElement reference, string field, ImageUrlFetcher fetcher, CancellationToken ct)
    {
        if (reference.ValueKind != JsonValueKind.Object) return (null, ApiError.WrongType(field, $"'{field}' must be an object with 'image_url'."));
        if (reference.TryGetProperty("file_id", out _))
            return (null, ApiError.Invalid(field, $"'{field}.file_id' is not supported here: this gateway keeps no files. Send the image as a data: URL, or as multipart."));
        if (!reference.TryGetProperty("image_url", out var url) || url.ValueKind != JsonValueKind.String)
            return (null, ApiError.Missing(field, $"'{field}.image_url' is required."));
        var text = url.GetString()!;
        if (!text.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            var (fetched, refusal) = await fetcher.FetchAsync(text, MaxImageBytes, ct);
            return fetched is null ? (null, ApiError.Invalid(field, $"'{field}.image_url' {refusal}.")) : Decode(fetched, field, null);
        }
        var comma = text.IndexOf(',');
        if (comma < 0 || !text[..comma].EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
            return (null, ApiError.Invalid(field, $"'{field}.image_url' must be a base64 data: URL (data:image/png;base64,…)."));
        byte[] bytes;
        try { bytes = Convert.FromBase64String(text[(comma + 1)..]); }
        catch (FormatException) { return (null, ApiError.Invalid(field, $"'{field}.image_url' is not valid base64.")); }
        return Decode(bytes, field, null);
    }

    private static async Task<(InputImage?, ApiError?)> ReadFileAsync(IFormFile file, string field, CancellationToken ct)
    {
        if (file.Length == 0) return (null, ApiError.Invalid(field, $"'{field}' is an empty file."));
        if (file.Length > MaxImageBytes) return (null, ApiError.Invalid(field, $"'{field}' is larger than {MaxImageBytes / (1024 * 1024)} MB."));
        using var buffer = new MemoryStream((int)file.Length);
        await file.CopyToAsync(buffer, ct);
        return Decode(buffer.ToArray(), field, file.FileName);
    }

    /// <summary>A PNG, JPEG or WebP that decodes completely (a truncated file is refused, not half used).</summary>
    private static (InputImage?, ApiError?) Decode(byte[] bytes, string field, string? fileName)
    {
        if (bytes.Length == 0) return (null, ApiError.Invalid(field, $"'{field}' is an empty file."));
        if (UpstreamText.SniffImage(bytes) is not { } mediaType)
            return (null, ApiError.Invalid(field, $"'{field}' is not a PNG, JPEG or WebP image."));
        using var codec = SKCodec.Create(new SKMemoryStream(bytes));
        if (codec is null) return (null, ApiError.Invalid(field, $"'{field}' could not be read as an image."));
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(info);
        if (codec.GetPixels(info, bitmap.GetPixels()) != SKCodecResult.Success)
            return (null, ApiError.Invalid(field, $"'{field}' is a damaged or truncated image."));
        return (new InputImage(bytes, mediaType, info.Width, info.Height, fileName), null);
    }

    private static ApiError? MaskError(InputImage mask, InputImage first) =>
        mask.MediaType != "image/png" ? ApiError.Invalid("mask", "'mask' must be a PNG (its transparent pixels mark what to edit).")
        : (mask.Width, mask.Height) != (first.Width, first.Height)
            ? ApiError.Invalid("mask", $"'mask' is {mask.Width}x{mask.Height}; it must be the first image's size, {first.Width}x{first.Height}.")
            : null;

    private static (GenerateRequest?, ImageUploads?, ApiError?) Fail(ApiError error) => (null, null, error);

    /// <summary>The request's fingerprint for Idempotency-Key: its fields and every file's bytes, in order.</summary>
    public static string Hash(GenerateRequest fields, ImageUploads uploads)
    {
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        hash.AppendData(System.Text.Encoding.UTF8.GetBytes(fields.ToString()));
        foreach (var image in uploads.Images.Append(uploads.Mask).OfType<InputImage>())
        {
            hash.AppendData(BitConverter.GetBytes(image.Bytes.Length));
            hash.AppendData(image.Bytes);
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
