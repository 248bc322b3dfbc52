using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace ImageGateway.Providers;

/// <summary>
/// A <c>multipart/form-data</c> body written the way browsers' and undici's FormData write it (what
/// the npm <c>openai</c> client sends): text parts with no Content-Type, file parts with a filename
/// and their media type, <c>"</c>, CR and LF in names percent-encoded. Built once into one array,
/// so it is sent with a Content-Length and can be resent as is by a retry.
/// </summary>
public sealed class MultipartForm
{
    private readonly List<(string Name, string? FileName, string? ContentType, byte[] Value)> _parts = [];

    public MultipartForm(string? boundary = null) =>
        Boundary = boundary ?? "----ImageGatewayFormBoundary" + Convert.ToHexString(RandomNumberGenerator.GetBytes(12));

    public string Boundary { get; }

    public string ContentType => $"multipart/form-data; boundary={Boundary}";

    public MultipartForm Add(string name, string value)
    {
        _parts.Add((name, null, null, Encoding.UTF8.GetBytes(value)));
        return this;
    }

    public MultipartForm Add(string name, long value) => Add(name, value.ToString(CultureInfo.InvariantCulture));

    public MultipartForm Add(string name, bool value) => Add(name, value ? "true" : "false");

    public MultipartForm AddFile(string name, string fileName, string contentType, byte[] bytes)
    {
        _parts.Add((name, fileName, contentType, bytes));
        return this;
    }

    public byte[] ToArray()
    {
        using var body = new MemoryStream();
        foreach (var (name, fileName, contentType, value) in _parts)
        {
            var head = new StringBuilder($"--{Boundary}\r\nContent-Disposition: form-data; name=\"{Escape(name)}\"");
            if (fileName is not null) head.Append($"; filename=\"{Escape(fileName)}\"");
            head.Append("\r\n");
            if (contentType is not null) head.Append($"Content-Type: {contentType}\r\n");
            head.Append("\r\n");
            body.Write(Encoding.UTF8.GetBytes(head.ToString()));
            body.Write(value);
            body.Write("\r\n"u8);
        }
        body.Write(Encoding.UTF8.GetBytes($"--{Boundary}--\r\n"));
        return body.ToArray();
    }

    private static string Escape(string name) => name.Replace("\"", "%22").Replace("\r", "%0D").Replace("\n", "%0A");
}
