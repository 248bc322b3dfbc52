using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace ImageGateway.Hosting;

/// <summary>
/// Gives Kestrel's own rejections the gateway's JSON error body. A request Kestrel cannot parse
/// (a <c>%00</c> in the path, a 0xFF byte in a header, a header block too large) never reaches the
/// app: Kestrel answers it itself with an empty 4xx and closes the connection, and offers no hook
/// to change that answer. This connection middleware watches what Kestrel writes: a 4xx header
/// block with <c>Content-Length: 0</c> and <c>Connection: close</c> that is the whole write (the
/// shape of those answers; the app's own errors always carry a body) is rewritten with the OpenAI
/// error body. Everything else passes through untouched, at the cost of one prefix compare per write.
/// </summary>
public static class RejectedRequestBodies
{
    public static void UseJsonRejections(this ListenOptions listen) => listen.Use(next => async connection =>
    {
        var transport = connection.Transport;
        connection.Transport = new Pipe(transport.Input, new RewritingWriter(transport.Output));
        try
        {
            await next(connection);
        }
        finally
        {
            connection.Transport = transport;
        }
    });

    /// <summary>The answer for <paramref name="head"/> (one whole header block), or null to leave it alone.</summary>
    public static byte[]? Rewrite(ReadOnlySpan<byte> head)
    {
        if (head.Length < 16 || !head.StartsWith("HTTP/1.1 4"u8) || !head.EndsWith("\r\n\r\n"u8)) return null;
        if (head[..^2].IndexOf("\r\n\r\n"u8) >= 0) return null; // a body follows the header block
        var text = Encoding.ASCII.GetString(head);
        const string empty = "\r\nContent-Length: 0\r\n";
        if (!text.Contains(empty, StringComparison.Ordinal) || !text.Contains("\r\nConnection: close\r\n", StringComparison.OrdinalIgnoreCase))
            return null;
        var status = text.AsSpan(9, 3);
        var body = Encoding.UTF8.GetBytes(status switch
        {
            "431" => Error("The request's headers are too large.", "request_headers_too_large"),
            "414" => Error("The request's URL is too long.", "request_url_too_long"),
            "413" => Error("The request body is too large.", "request_too_large"),
            "411" => Error("The request needs a Content-Length or chunked transfer encoding.", "length_required"),
            _ => Error("The request is malformed: its request line or a header is not valid HTTP (for example a %00 in the path or a non-ASCII byte in a header).", "malformed_request"),
        });
        var headers = text.Replace(empty, $"\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n", StringComparison.Ordinal);
        return [.. Encoding.ASCII.GetBytes(headers), .. body];
    }

    private static string Error(string message, string code) =>
        "{\"error\":{\"message\":\"" + message + "\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"" + code + "\"}}";

    private sealed class Pipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }

    /// <summary>Passes writes through; holds back only a write that is a whole rejected-request header block.</summary>
    private sealed class RewritingWriter(PipeWriter inner) : PipeWriter
    {
        private Memory<byte> _handedOut;

        public override Memory<byte> GetMemory(int sizeHint = 0) => _handedOut = inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => (_handedOut = inner.GetMemory(sizeHint)).Span;

        public override void Advance(int bytes)
        {
            var written = _handedOut.Span[..Math.Min(bytes, _handedOut.Length)];
            var rewritten = written.StartsWith("HTTP/1.1 4"u8) ? Rewrite(written) : null;
            _handedOut = default;
            if (rewritten is null) inner.Advance(bytes);
            else inner.Write(rewritten); // over the same uncommitted bytes, now with the body
        }

        public override ValueTask<FlushResult> FlushAsync(CancellationToken ct = default) => inner.FlushAsync(ct);
        public override void CancelPendingFlush() => inner.CancelPendingFlush();
        public override void Complete(Exception? exception = null) => inner.Complete(exception);
        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);
        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;
        public override long UnflushedBytes => inner.UnflushedBytes;
    }
}
