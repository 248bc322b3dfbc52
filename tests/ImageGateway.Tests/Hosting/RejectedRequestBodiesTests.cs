using System.Text;
using ImageGateway.Hosting;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Hosting;

/// <summary>
/// Which header blocks the connection middleware rewrites: only Kestrel's own empty, closing 4xx
/// rejections. Anything the app wrote (it always writes a body) goes out byte for byte.
/// </summary>
public sealed class RejectedRequestBodiesTests
{
    private const string Date = "Date: Thu, 03 Dec 2026 05:37:23 GMT\r\nServer: Kestrel\r\n\r\n";

    private static byte[]? Rewrite(string head) => RejectedRequestBodies.Rewrite(Encoding.ASCII.GetBytes(head));

    [Fact]
    public void Kestrels_empty_400_gets_a_json_body_and_its_length()
    {
        var rewritten = Rewrite("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n" + Date);

        var text = Encoding.UTF8.GetString(rewritten!);
        var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var body = text[(split + 4)..];
        Assert.StartsWith("HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: " + body.Length + "\r\nConnection: close\r\n", text);
        Assert.Empty(OpenAiSpec.Errors(body, "ErrorResponse"));
        Assert.Contains("\"code\":\"malformed_request\"", body);
    }

    [Theory]
    [InlineData("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n" + Date)]                       // keeps the connection: not Kestrel's rejection
    [InlineData("HTTP/1.1 401 Unauthorized\r\nContent-Length: 120\r\nConnection: close\r\n" + Date)] // the app's error, with its body
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n" + Date)]
    [InlineData("HTTP/1.1 304 Not Modified\r\nContent-Length: 0\r\nConnection: close\r\n" + Date)]
    [InlineData("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n" + Date + "HTTP/1.1 400 ")] // more than one header block
    public void Anything_else_is_left_alone(string head) => Assert.Null(Rewrite(head));
}
