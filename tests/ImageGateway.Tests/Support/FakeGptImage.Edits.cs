using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using SkiaSharp;

namespace ImageGateway.Tests.Support;

/// <summary>
/// <c>POST /v1/images/edits</c> (and <c>/images/edits</c>): multipart/form-data as OpenAI takes it.
/// The images come as <c>image</c> (one file) or repeated <c>image[]</c>; the other fields are text
/// parts, checked by the same rules as a generation's JSON body. Wire facts: docs/PROVIDERS.md.
/// <para>Usage: as a generation's, plus image_tokens = Σ over the inputs of
/// <see cref="InputImageTokens"/> (the mask is not counted). See <see cref="UsageForEdit"/>.</para>
/// </summary>
public sealed partial class FakeGptImage
{
    public const int MaxInputImages = 16;
    public const long MaxInputImageBytes = 50L * 1024 * 1024;

    /// <summary>One uploaded file as the fake received it.</summary>
    public sealed record UploadedFile(string Field, string? FileName, string? ContentType, byte[] Bytes);

    /// <summary>One edits call: its text fields (numbers and booleans parsed as the fake reads them) and its files, in arrival order.</summary>
    public sealed record EditCall(JsonObject Fields, IReadOnlyList<UploadedFile> Images, UploadedFile? Mask, IReadOnlyList<string> PartNames);

    /// <summary>Every edits call that was a readable form, in arrival order.</summary>
    public ConcurrentQueue<EditCall> EditCalls { get; } = new();

    public static bool IsEditsPath(HttpContext http) =>
        FakeUpstream.IsPost(http, "/v1/images/edits") || FakeUpstream.IsPost(http, "/images/edits");

    /// <summary>
    /// Tokens of one input image: the GPT-4o vision rule (fit in 2048x2048, shortest side at most 768,
    /// 170 per 512-pixel tile plus 85), doubled for <c>input_fidelity: high</c>. OpenAI documents no
    /// gpt-image rule; this is a deterministic stand-in (docs/PROVIDERS.md).
    /// </summary>
    public static long InputImageTokens(int width, int height, string? inputFidelity = null)
    {
        double w = width, h = height;
        var fit = Math.Min(1, 2048 / Math.Max(w, h));
        (w, h) = (w * fit, h * fit);
        var shortest = Math.Min(1, 768 / Math.Min(w, h));
        (w, h) = (w * shortest, h * shortest);
        var tiles = (long)Math.Ceiling(Math.Round(w, 6) / 512) * (long)Math.Ceiling(Math.Round(h, 6) / 512);
        var tokens = 170 * tiles + 85;
        return inputFidelity == "high" ? 2 * tokens : tokens;
    }

    /// <summary>The documented usage of an edit: a generation's, plus the input images' tokens.</summary>
    public static ImageUsage UsageForEdit(string prompt, int n, string quality, int width, int height,
        IEnumerable<(int Width, int Height)> inputs, string? inputFidelity = null)
    {
        var generation = UsageFor(prompt, n, quality, width, height);
        return generation with { ImageTokens = inputs.Sum(i => InputImageTokens(i.Width, i.Height, inputFidelity)) };
    }

    /// <summary><c>size: auto</c> for an edit: the first image's size with both sides rounded to a multiple of 16 when that is a valid size, else 1024x1024.</summary>
    public static (int Width, int Height) AutoEditSize(int width, int height)
    {
        var (w, h) = (Round16(width), Round16(height));
        return ParseSize($"{w}x{h}").Error is null ? (w, h) : (1024, 1024);

        static int Round16(int side) => Math.Max(16, (side + 8) / 16 * 16);
    }

    private async Task AnswerEditAsync(HttpContext http, RecordedRequest request)
    {
        if (ApiKey is not null && request.Authorization != "Bearer " + ApiKey)
        {
            await Error(http, 401, "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
                "invalid_request_error", null, "invalid_api_key");
            return;
        }
        var (call, formError) = await ReadFormAsync(request);
        if (formError is not null)
        {
            await Error(http, 400, formError, "invalid_request_error", null, null);
            return;
        }
        EditCalls.Enqueue(call!);

        if (TakeFailure() is { } failure)
        {
            await AnswerFailure(http, failure);
            return;
        }

        var (inputs, rejection) = CheckFiles(call!);
        if (rejection is null)
        {
            var parsed = Check(call!.Fields, edit: true, inputs.Count > 0 ? AutoEditSize(inputs[0].Width, inputs[0].Height) : null);
            if (parsed.Request is { } ok)
            {
                await AnswerAsync(http, ok with { Inputs = inputs });
                return;
            }
            rejection = parsed.Error;
        }
        await Error(http, rejection!.Status, rejection.Message, "invalid_request_error", rejection.Param, rejection.Code);
    }

    /// <summary>The form's parts: text fields into a JSON object, files kept as sent. An error when the body is not a multipart form.</summary>
    private static async Task<(EditCall? Call, string? Error)> ReadFormAsync(RecordedRequest request)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type) || !type.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase)
            || HeaderUtilities.RemoveQuotes(type.Boundary).Value is not { Length: > 0 } boundary)
            return (null, $"Invalid Content-Type header ({request.ContentType}), expected multipart/form-data. (HINT: If you're using curl, you can pass -H 'Content-Type: multipart/form-data')");

        var fields = new JsonObject();
        var images = new List<UploadedFile>();
        UploadedFile? mask = null;
        var names = new List<string>();
        var reader = new MultipartReader(boundary, new MemoryStream(request.Body));
        try
        {
            while (await reader.ReadNextSectionAsync() is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
                    || !disposition.DispositionType.Equals("form-data", StringComparison.OrdinalIgnoreCase))
                    return (null, "Could not parse multipart form");
                var name = HeaderUtilities.RemoveQuotes(disposition.Name).Value ?? "";
                names.Add(name);
                using var buffer = new MemoryStream();
                await section.Body.CopyToAsync(buffer);
                if (disposition.IsFileDisposition())
                {
                    var file = new UploadedFile(name, HeaderUtilities.RemoveQuotes(disposition.FileName).Value, section.ContentType, buffer.ToArray());
                    if (name is "image" or "image[]") images.Add(file);
                    else if (name == "mask") mask = file;
                    else fields[name] = "(a file)";
                }
                else fields[name] = FormValue(name, Encoding.UTF8.GetString(buffer.ToArray()));
            }
        }
        catch (IOException)
        {
            return (null, "Could not parse multipart form");
        }
        return (new EditCall(fields, images, mask, names), null);
    }

    /// <summary>A text part as the JSON value it stands for: integer fields and <c>stream</c> parse when they can (else stay strings and fail the type check).</summary>
    private static JsonNode FormValue(string name, string text) => name switch
    {
        "n" or "output_compression" or "partial_images" when int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) => number,
        "stream" when text is "true" or "false" => text == "true",
        _ => text,
    };

    /// <summary>The image and mask rules: 1–16 png/webp/jpeg files under 50 MB; a PNG mask with alpha, the first image's size.</summary>
    private static (IReadOnlyList<(int Width, int Height)> Inputs, Rejection? Error) CheckFiles(EditCall call)
    {
        static (IReadOnlyList<(int, int)>, Rejection?) Reject(string message, string param, string code) =>
            ([], new Rejection(400, message, param, code));

        if (call.Fields["image"] is not null || call.Fields["image[]"] is not null)
            return Reject("Invalid type for 'image': expected one of an array of files or file, but got a string instead.", "image", "invalid_type");
        if (call.Images.Count == 0)
            return Reject("Missing required parameter: 'image'.", "image", "missing_required_parameter");
        if (call.Images.Count > MaxInputImages)
            return Reject($"Invalid 'image': array too long. Expected an array with maximum length {MaxInputImages}, but got an array with length {call.Images.Count} instead.",
                "image", "array_above_max_length");

        var inputs = new List<(int Width, int Height)>();
        for (var i = 0; i < call.Images.Count; i++)
        {
            var file = call.Images[i];
            // A single `image` part is named image; repeated `image[]` parts image[0], image[1], ...
            var param = file.Field == "image[]" ? $"image[{i}]" : "image";
            if (string.IsNullOrEmpty(file.ContentType))
                return Reject($"Invalid file '{param}': failed to determine mimetype. Ensure you are providing the file's mimetype as part of the 'Content-Type' header.",
                    param, "missing_file_mimetype");
            if (file.ContentType is not ("image/png" or "image/jpeg" or "image/webp"))
                return Reject($"Invalid file '{param}': unsupported mimetype ('{file.ContentType}'). Supported file formats are 'image/jpeg', 'image/png', and 'image/webp'.",
                    param, "unsupported_file_mimetype");
            if (file.Bytes.Length >= MaxInputImageBytes)
                return Reject($"Invalid file '{param}': the file is too large. Expected a file smaller than 50 MB.", param, "file_too_large");
            if (Probe(file.Bytes) is not { } info)
                return Reject($"Invalid file '{param}': the file is not a valid image.", param, "invalid_image_file");
            inputs.Add((info.Width, info.Height));
        }

        if (call.Mask is { } mask)
        {
            if (mask.ContentType != "image/png" || Probe(mask.Bytes) is not { Format: SKEncodedImageFormat.Png } maskInfo)
                return Reject("Invalid file 'mask': the mask must be a valid PNG file.", "mask", "invalid_image_file");
            if (maskInfo.Opaque)
                return Reject("Invalid file 'mask': the mask must have an alpha channel.", "mask", "invalid_image_file");
            if ((maskInfo.Width, maskInfo.Height) != inputs[0])
                return Reject($"Invalid file 'mask': the mask ({maskInfo.Width}x{maskInfo.Height}) must have the same dimensions as the first image ({inputs[0].Width}x{inputs[0].Height}).",
                    "mask", "invalid_image_file");
        }
        return (inputs, null);
    }

    private static (SKEncodedImageFormat Format, int Width, int Height, bool Opaque)? Probe(byte[] bytes)
    {
        using var codec = SKCodec.Create(new SKMemoryStream(bytes));
        if (codec is null || codec.EncodedFormat is not (SKEncodedImageFormat.Png or SKEncodedImageFormat.Jpeg or SKEncodedImageFormat.Webp)) return null;
        return (codec.EncodedFormat, codec.Info.Width, codec.Info.Height, codec.Info.AlphaType == SKAlphaType.Opaque);
    }
}
