using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;

namespace ImageGateway.Providers.OpenAi;

/// <summary>
/// Reads a GPT-image <c>stream: true</c> answer (server-sent events) as it arrives, the way the npm
/// client does (docs/PROVIDERS.md): each event's <c>data:</c> lines are one JSON object; an event
/// named <c>error</c>, or data with an <c>error</c> member, is a failure; <c>data: [DONE]</c> ends
/// the stream. A <c>*.partial_image</c> goes to <see cref="ImageJob.OnPartial"/> at once; each
/// <c>*.completed</c> is one final image, with its usage; the stream is done after the job's n.
/// </summary>
internal static class OpenAiStream
{
    /// <summary>One event's data: a final image in base64 is a few MB; far more is not an image answer.</summary>
    private const int MaxEventBytes = 128 * 1024 * 1024;

    public static async Task<ProviderResult> ReadAsync(Stream body, ImageJob job, CancellationToken ct)
    {
        var state = new State(job);
        var reader = PipeReader.Create(body, new StreamPipeReaderOptions(bufferSize: 64 * 1024, leaveOpen: true));
        try
        {
            while (true)
            {
                var read = await reader.ReadAsync(ct);
                var buffer = read.Buffer;
                while (TryReadLine(ref buffer, out var line))
                {
                    if (await state.TakeLineAsync(line, ct) is { } done) return done;
                }
                reader.AdvanceTo(buffer.Start, buffer.End);
                if (read.IsCompleted) break;
            }
            // A last event without its blank line still counts, as in the SDK's decoder.
            if (await state.TakeLineAsync(ReadOnlySequence<byte>.Empty, ct) is { } last) return last;
            return state.Ended();
        }
        catch (Exception e) when (e is IOException or HttpRequestException && !ct.IsCancellationRequested)
        {
            return state.Images.Count > 0 && state.Images.Count >= job.N
                ? state.Success()
                : ProviderResult.Failed(new ProviderFailure(FailureKind.Unavailable, "The connection to the openai provider was lost in the middle of the stream."));
        }
        finally
        {
            await reader.CompleteAsync();
        }
    }

    private static bool TryReadLine(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> line)
    {
        if (buffer.PositionOf((byte)'\n') is not { } end)
        {
            line = default;
            return false;
        }
        line = buffer.Slice(0, end);
        buffer = buffer.Slice(buffer.GetPosition(1, end));
        return true;
    }

    private sealed class State(ImageJob job)
    {
        private readonly ArrayBufferWriter<byte> _data = new();
        private bool _hasData;
        private string? _event;
        private int _partials;
        private readonly List<TokenUsage?> _usages = [];
        private ProducedAs _produced = ProducedAs.Unknown;

        public List<GeneratedImage> Images { get; } = [];

        /// <summary>Takes one line (without its LF); a blank line dispatches the event. A result ends the stream.</summary>
        public ValueTask<ProviderResult?> TakeLineAsync(ReadOnlySequence<byte> line, CancellationToken ct)
        {
            var text = line.IsSingleSegment ? line.FirstSpan : line.ToArray();
            if (text.EndsWith("\r"u8)) text = text[..^1];
            if (text.IsEmpty) return DispatchAsync(ct);
            return ValueTask.FromResult(TakeField(text));
        }

        private ProviderResult? TakeField(ReadOnlySpan<byte> text)
        {
            if (text[0] == (byte)':') return null; // a comment (keep-alive)
            var colon = text.IndexOf((byte)':');
            var field = colon < 0 ? text : text[..colon];
            var value = colon < 0 ? [] : text[(colon + 1)..];
            if (value.StartsWith(" "u8)) value = value[1..];
            if (field.SequenceEqual("event"u8)) _event = System.Text.Encoding.UTF8.GetString(value);
            else if (field.SequenceEqual("data"u8))
            {
                if (_hasData) _data.Write("\n"u8);
                if (_data.WrittenCount + value.Length > MaxEventBytes)
                    return ProviderResult.Failed(UpstreamText.NotImages("openai", "a stream event larger than any image"));
                _data.Write(value);
                _hasData = true;
            }
            return null;
        }

        private async ValueTask<ProviderResult?> DispatchAsync(CancellationToken ct)
        {
            if (!_hasData)
            {
                _event = null;
                return null;
            }
            // The event's own array: images decoded from it keep their slice of it.
            var data = _data.WrittenSpan.ToArray();
            var name = _event;
            _data.ResetWrittenCount();
            _hasData = false;
            _event = null;
            if (data.AsSpan().SequenceEqual("[DONE]"u8)) return Ended();

            JsonDocument json;
            try { json = JsonDocument.Parse(data); }
            catch (JsonException) { return ProviderResult.Failed(UpstreamText.NotImages("openai", "a stream event that is not JSON")); }
            using (json)
            {
                var root = json.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                    return ProviderResult.Failed(UpstreamText.NotImages("openai", "a stream event that is not a JSON object"));
                if (name == "error" || root.TryGetProperty("error", out _))
                    return ProviderResult.Failed(StreamError(root));
                var type = root.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
                if (type is null || !(type.EndsWith(".partial_image", StringComparison.Ordinal) || type.EndsWith(".completed", StringComparison.Ordinal)))
                    return null; // an event this reader does not know: skipped, as the SDK passes it on
                var image = root.TryGetProperty("b64_json", out var b64) ? UpstreamText.DecodeImage(b64, null, data) : null;
                if (image is null) return ProviderResult.Failed(UpstreamText.NotImages("openai", "a stream event without a valid base64 image"));
                if (type.EndsWith(".partial_image", StringComparison.Ordinal))
                {
                    // Numbered in arrival order over the whole answer (with n > 1 each image restarts its own index).
                    await job.OnPartial!(new PartialImage(_partials++, image), ct);
                    return null;
                }
                Images.Add(image);
                _usages.Add(OpenAiProvider.ReadUsage(root));
                if (Images.Count == 1) _produced = OpenAiProvider.ReadProduced(root);
                return Images.Count >= job.N ? Success() : null;
            }
        }

        public ProviderResult Success() =>
            ProviderResult.Success(Images) with { Usage = TokenUsage.Sum(_usages), Produced = _produced };

        /// <summary>The stream ended: fine once a final image came (fewer than n is accepted as from a JSON answer).</summary>
        public ProviderResult Ended() => Images.Count > 0
            ? Success()
            : ProviderResult.Failed(new ProviderFailure(FailureKind.Unavailable, "The openai provider's stream ended before the final image."));

        private static ProviderFailure StreamError(JsonElement root)
        {
            var error = root.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.Object ? e : root;
            var message = error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            var code = error.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
            return OpenAiProvider.ContentPolicyFailure(code, message, 200)
                ?? new ProviderFailure(FailureKind.Unavailable, $"The openai provider failed in the middle of the stream: {UpstreamText.Sanitize(message)}");
        }
    }
}
