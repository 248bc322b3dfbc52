using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using ImageGateway.IntegrationTests.Support;
using ImageGateway.Tests.Support;

namespace ImageGateway.IntegrationTests.Reliability;

/// <summary>
/// Issue 23, finding 4: requests Kestrel rejects before the app sees them (a <c>%00</c> in the path,
/// a 0xFF byte in a header, a header block over the limit) still get the gateway's JSON error body.
/// Raw bytes over a real socket to the real process: no HTTP client would send these.
/// </summary>
public sealed class MalformedHttpTests(GatewayProcessFixture fixture) : IClassFixture<GatewayProcessFixture>
{
    private async Task<string> SendRawAsync(byte[] request)
    {
        using var socket = new TcpClient();
        await socket.ConnectAsync(fixture.Gateway.BaseUrl.Host, fixture.Gateway.BaseUrl.Port);
        var stream = socket.GetStream();
        await stream.WriteAsync(request);
        using var answer = new MemoryStream();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await stream.CopyToAsync(answer, timeout.Token); // Kestrel closes the connection after a rejection
        return Encoding.UTF8.GetString(answer.ToArray());
    }

    private static byte[] Ascii(string text) => Encoding.Latin1.GetBytes(text);

    public static TheoryData<string, int, string> Rejected => new()
    {
        { "GET /v1/models%00 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "malformed_request" },
        { "GET /v1/mo\0dels HTTP/1.1\r\nHost: x\r\n\r\n", 400, "malformed_request" },
        { "GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Name: caf\u00ff\r\n\r\n", 400, "malformed_request" },
        { "GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: " + new string('a', 40_000) + "\r\n\r\n", 431, "request_headers_too_large" },
        // A valid request first on the same connection: the rejection is found after another answer too.
        { "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\nGET /v1/%00 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "malformed_request" },
    };

    [Theory]
    [MemberData(nameof(Rejected))]
    public async Task A_request_Kestrel_rejects_gets_the_json_error_body(string request, int status, string code)
    {
        var answer = await SendRawAsync(Ascii(request));

        var last = answer[answer.LastIndexOf("HTTP/1.1 ", StringComparison.Ordinal)..];
        Assert.StartsWith($"HTTP/1.1 {status} ", last);
        var split = last.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var head = last[..split];
        var body = last[(split + 4)..];
        Assert.Contains("\r\nContent-Type: application/json", head);
        Assert.Contains($"\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}", head);
        Assert.Empty(OpenAiSpec.Errors(body, "ErrorResponse"));
        var error = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(code, error.GetProperty("code").GetString());
    }

    /// <summary>
    /// Finding 9d: Kestrel counts a chunked body's framing toward the limit, so a body just under
    /// 1 MiB sent in chunks was a 413. The decoded bytes are what count now, in any chunk size.
    /// </summary>
    [Theory]
    [InlineData(65_536, -1, 200)]
    [InlineData(65_536, 0, 200)]
    [InlineData(65_536, 1, 413)]
    [InlineData(1_000, -1, 200)]
    [InlineData(1_000, 0, 200)]
    [InlineData(1_000, 1, 413)]
    public async Task A_chunked_body_is_measured_by_its_content_not_its_framing(int chunk, int offset, int status)
    {
        const int limit = 1024 * 1024; // the default Gateway:MaxRequestBodyBytes
        var json = Encoding.UTF8.GetBytes("""{"model":"builtin-preview","prompt":"a kite","size":"256x256"}""");
        var body = new byte[limit + offset];
        body.AsSpan().Fill((byte)' ');
        json.CopyTo(body, 0);
        using var request = new MemoryStream();
        request.Write(Ascii($"POST /api/v1/llm/image/estimate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {GatewayProcess.AdminKey}\r\n" +
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"));
        for (var at = 0; at < body.Length; at += chunk)
        {
            var length = Math.Min(chunk, body.Length - at);
            request.Write(Ascii($"{length:x}\r\n"));
            request.Write(body, at, length);
            request.Write("\r\n"u8);
        }
        request.Write("0\r\n\r\n"u8);

        var answer = await SendRawAsync(request.ToArray());

        Assert.StartsWith($"HTTP/1.1 {status} ", answer);
        if (status == 413) Assert.Contains("\"code\":\"request_too_large\"", answer);
    }

    [Fact]
    public async Task The_apps_own_answers_pass_through_untouched()
    {
        var answer = await SendRawAsync(Ascii("GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));

        Assert.StartsWith("HTTP/1.1 401 ", answer);
        Assert.Contains("invalid_api_key", answer);
        Assert.DoesNotContain("malformed_request", answer);
    }
}
