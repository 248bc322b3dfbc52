using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using ImageGateway.Http;

namespace ImageGateway.Generation;

/// <summary>The generate body as sent, before any rule is applied. Null means absent (or JSON null).</summary>
public sealed record GenerateRequest(
    string? Prompt = null,
    string? Model = null,
    int? N = null,
    string? Size = null,
    string? Quality = null,
    string? Style = null,
    string? ResponseFormat = null,
    string? User = null,
    long? Seed = null,
    string? OutputFormat = null,
    int? OutputCompression = null,
    string? Background = null,
    string? Moderation = null,
    bool? Stream = null)
{
    /// <summary>Partial images to stream (0–3), with <see cref="Stream"/>.</summary>
    public int? PartialImages { get; init; }

    /// <summary>An edit's <c>input_fidelity</c>: <c>high</c> or <c>low</c>.</summary>
    public string? InputFidelity { get; init; }
}

/// <summary>
/// Reads the generate body in one forward pass over the request pipe. Hand-written rather than
/// bound by the serializer so that every wrong type gets a 400 naming its field, unknown fields
/// (the SDKs send extras) are skipped, and the body limit is enforced while reading.
/// </summary>
public static class GenerateRequestReader
{
    public static async Task<(GenerateRequest? Request, ApiError? Error)> ReadAsync(HttpRequest request, long limit, CancellationToken ct)
    {
        var (parsed, error, _) = await ReadAsync(request, limit, hashBody: false, ct);
        return (parsed, error);
    }

    /// <summary>Reads and parses the body; with <paramref name="hashBody"/>, also its SHA-256 (for Idempotency-Key).</summary>
    public static async Task<(GenerateRequest? Request, ApiError? Error, string? BodyHash)> ReadAsync(
        HttpRequest request, long limit, bool hashBody, CancellationToken ct)
    {
        if (request.ContentLength > limit) return (null, ApiError.TooLarge(limit), null);
        var reader = request.BodyReader;
        while (true)
        {
            ReadResult read;
            try
            {
                read = await reader.ReadAsync(ct);
            }
            catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                return (null, ApiError.TooLarge(limit), null);
            }
            var buffer = read.Buffer;
            if (buffer.Length > limit)
            {
                reader.AdvanceTo(buffer.End);
                return (null, ApiError.TooLarge(limit), null);
            }
            if (read.IsCompleted || read.IsCanceled)
            {
                try
                {
                    var (parsed, error) = Parse(buffer);
                    return (parsed, error, hashBody ? Sha256(buffer) : null);
                }
                finally
                {
                    reader.AdvanceTo(buffer.End);
                }
            }
            // Keep everything buffered until the body is complete.
            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static string Sha256(ReadOnlySequence<byte> body)
    {
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        foreach (var segment in body) hash.AppendData(segment.Span);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    public static (GenerateRequest? Request, ApiError? Error) Parse(ReadOnlySequence<byte> body)
    {
        if (body.IsEmpty) return (null, ApiError.BadJson("Request body is empty; send a JSON object with at least 'prompt'."));
        // Utf8JsonReader only checks UTF-8 in strings it decodes, so bad bytes inside a skipped
        // (unknown) field would otherwise pass: JSON must be UTF-8 (RFC 8259 §8.1).
        if (!System.Text.Unicode.Utf8.IsValid(body.IsSingleSegment ? body.FirstSpan : body.ToArray()))
            return (null, ApiError.BadJson("Request body is not valid UTF-8."));
        try
        {
            return ParseObject(body);
        }
        catch (JsonException e)
        {
            return (null, ApiError.BadJson($"Request body is not valid JSON: {FirstSentence(e.Message)}"));
        }
        catch (InvalidOperationException e)
        {
            return (null, ApiError.BadJson($"Request body is not valid JSON: {FirstSentence(e.Message)}"));
        }
    }

    public static (GenerateRequest? Request, ApiError? Error) Parse(ReadOnlySpan<byte> body) =>
        Parse(new ReadOnlySequence<byte>(body.ToArray()));

    private static (GenerateRequest?, ApiError?) ParseObject(ReadOnlySequence<byte> body)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 64 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            return (null, ApiError.BadJson("Request body must be a JSON object."));

        var r = new GenerateRequest();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var name = reader.GetString()!;
            reader.Read();
            ApiError? error = null;
            switch (name)
            {
                case "prompt": r = r with { Prompt = ReadString(ref reader, name, ref error) }; break;
                case "model": r = r with { Model = ReadString(ref reader, name, ref error) }; break;
                case "size": r = r with { Size = ReadString(ref reader, name, ref error) }; break;
                case "quality": r = r with { Quality = ReadString(ref reader, name, ref error) }; break;
                case "style": r = r with { Style = ReadString(ref reader, name, ref error) }; break;
                case "response_format": r = r with { ResponseFormat = ReadString(ref reader, name, ref error) }; break;
                case "user": r = r with { User = ReadString(ref reader, name, ref error) }; break;
                case "output_format": r = r with { OutputFormat = ReadString(ref reader, name, ref error) }; break;
                case "background": r = r with { Background = ReadString(ref reader, name, ref error) }; break;
                case "moderation": r = r with { Moderation = ReadString(ref reader, name, ref error) }; break;
                case "input_fidelity": r = r with { InputFidelity = ReadString(ref reader, name, ref error) }; break;
                case "partial_images":
                    var partials = ReadInteger(ref reader, name, "between 0 and 3", ref error);
                    if (partials is > int.MaxValue or < int.MinValue) error = ApiError.Invalid(name, $"'{name}' must be an integer between 0 and 3.");
                    else r = r with { PartialImages = (int?)partials };
                    break;
                case "stream":
                    if (reader.TokenType is JsonTokenType.True or JsonTokenType.False) r = r with { Stream = reader.GetBoolean() };
                    else if (reader.TokenType != JsonTokenType.Null) error = ApiError.WrongType(name, $"'{name}' must be a boolean.");
                    break;
                case "output_compression":
                    var compression = ReadInteger(ref reader, name, "between 0 and 100", ref error);
                    if (compression is > int.MaxValue or < int.MinValue) error = ApiError.Invalid(name, $"'{name}' must be an integer between 0 and 100.");
                    else r = r with { OutputCompression = (int?)compression };
                    break;
                case "n":
                    var n = ReadInteger(ref reader, name, "between 1 and 10", ref error);
                    if (n is > int.MaxValue or < int.MinValue) error = ApiError.Invalid(name, "'n' must be an integer between 1 and 10.");
                    else r = r with { N = (int?)n };
                    break;
                case "seed": r = r with { Seed = ReadInteger(ref reader, name, "between 0 and 4294967295", ref error) }; break;
                default:
                    reader.Skip();
                    break;
            }
            if (error is not null) return (null, error);
        }
        if (reader.TokenType != JsonTokenType.EndObject)
            return (null, ApiError.BadJson("Request body is not valid JSON: the object is not closed."));
        if (reader.Read())
            return (null, ApiError.BadJson("Request body must be a single JSON object."));
        return (r, null);
    }

    /// <summary>A JSON integer, null for <c>null</c>; any other token, or a number that is not a whole 64-bit one, sets <paramref name="error"/>.</summary>
    private static long? ReadInteger(ref Utf8JsonReader reader, string name, string range, ref ApiError? error)
    {
        if (reader.TokenType == JsonTokenType.Null) return null;
        if (reader.TokenType != JsonTokenType.Number) error = ApiError.WrongType(name, $"'{name}' must be an integer.");
        else if (reader.TryGetInt64(out var value)) return value;
        else error = ApiError.Invalid(name, $"'{name}' must be an integer {range}.");
        return null;
    }

    private static string? ReadString(ref Utf8JsonReader reader, string name, ref ApiError? error)
    {
        if (reader.TokenType == JsonTokenType.Null) return null;
        if (reader.TokenType == JsonTokenType.String) return reader.GetString();
        error = ApiError.WrongType(name, $"'{name}' must be a string.");
        reader.Skip();
        return null;
    }

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }
}

/// <summary>
/// The generate body as documented in the OpenAPI reference (the handler reads it with
/// <see cref="GenerateRequestReader"/>). Defaults depend on the model: GPT-image models take size
/// <c>auto</c> and answer <c>b64_json</c>; the others 1024x1024 and <c>url</c>.
/// </summary>
/// <param name="Prompt">What to draw (required; each model has its longest length).</param>
/// <param name="Model">The model id (see <c>/image/models</c>); default <c>dall-e-3</c>.</param>
/// <param name="N">How many images, 1 to the model's <c>max_n</c>; default 1.</param>
/// <param name="Size">WIDTHxHEIGHT from the model's sizes (or a custom size where allowed), or <c>auto</c> for GPT-image models.</param>
/// <param name="Quality">One of the model's qualities; default its <c>default_quality</c>.</param>
/// <param name="Style">One of the model's styles (e.g. <c>vivid</c>, <c>natural</c>).</param>
/// <param name="ResponseFormat"><c>url</c> (a signed URL on this gateway) or <c>b64_json</c> (the image inline).</param>
/// <param name="User">Your own end-user id, passed on to the upstream for abuse tracking.</param>
/// <param name="Seed">A seed, for the models that take one.</param>
/// <param name="OutputFormat">GPT-image models: <c>png</c>, <c>jpeg</c> or <c>webp</c>.</param>
/// <param name="OutputCompression">GPT-image models, jpeg and webp: 0-100.</param>
/// <param name="Background">GPT-image models: <c>transparent</c>, <c>opaque</c> or <c>auto</c>.</param>
/// <param name="Moderation">GPT-image models: <c>auto</c> or <c>low</c>.</param>
public sealed record GenerateRequestBody(
    string Prompt,
    string? Model = GenerationSpec.DefaultModel,
    int? N = 1,
    string? Size = null,
    string? Quality = null,
    string? Style = null,
    string? ResponseFormat = null,
    string? User = null,
    long? Seed = null,
    string? OutputFormat = null,
    int? OutputCompression = null,
    string? Background = null,
    string? Moderation = null);
