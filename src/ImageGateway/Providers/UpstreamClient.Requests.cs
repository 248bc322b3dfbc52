using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ImageGateway.Providers;

/// <summary>The request builders of <see cref="UpstreamClient"/>: bodies are built once and sent with their length.</summary>
public sealed partial class UpstreamClient
{
    /// <summary>
    /// POSTs a JSON body asking for a JSON answer. The body is serialized once and sent with its
    /// Content-Length: HttpClient sends content of unknown length (such as <c>JsonContent</c>)
    /// chunked, which costs both ends a framing pass and which some OpenAI-compatible servers and
    /// proxies refuse.
    /// </summary>
    public Task<(HttpResponseMessage? Response, ProviderFailure? Failure)> PostJsonAsync(string url, JsonObject body,
        AuthenticationHeaderValue? authorization, CancellationToken ct, Func<HttpResponseMessage, ValueTask<bool>>? isPermanent = null) =>
        PostAsync(url, JsonBody(body), authorization, ct, isPermanent);

    /// <summary>POSTs a multipart form, built once and sent with its Content-Length (never chunked), asking for a JSON answer.</summary>
    public Task<(HttpResponseMessage? Response, ProviderFailure? Failure)> PostFormAsync(string url, MultipartForm form,
        AuthenticationHeaderValue? authorization, CancellationToken ct, Func<HttpResponseMessage, ValueTask<bool>>? isPermanent = null) =>
        PostAsync(url, FormBody(form), authorization, ct, isPermanent);

    /// <summary>A JSON body serialized once; each call of the result wraps the same bytes for one attempt.</summary>
    public static Func<HttpContent> JsonBody(JsonObject body)
    {
        var utf8Json = JsonSerializer.SerializeToUtf8Bytes(body, ProviderJson.Default.JsonObject);
        return () =>
        {
            var content = new ByteArrayContent(utf8Json);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
            return content;
        };
    }

    /// <summary>A multipart body written once; each call of the result wraps the same bytes for one attempt.</summary>
    public static Func<HttpContent> FormBody(MultipartForm form)
    {
        var bytes = form.ToArray();
        var type = MediaTypeHeaderValue.Parse(form.ContentType);
        return () =>
        {
            var content = new ByteArrayContent(bytes);
            content.Headers.ContentType = type;
            return content;
        };
    }

    /// <summary>POSTs a body built anew for each attempt, asking for a JSON answer.</summary>
    public Task<(HttpResponseMessage? Response, ProviderFailure? Failure)> PostAsync(string url, Func<HttpContent> content,
        AuthenticationHeaderValue? authorization, CancellationToken ct, Func<HttpResponseMessage, ValueTask<bool>>? isPermanent = null) =>
        SendAsync(() => Post(url, content, authorization), ct, isPermanent);

    /// <summary>POSTs a body that asks for a stream: an event-stream answer goes to <paramref name="readStream"/> as it arrives (see SendAsync&lt;T&gt;).</summary>
    public Task<(HttpResponseMessage? Response, T? Streamed, ProviderFailure? Failure)> PostStreamingAsync<T>(string url, Func<HttpContent> content,
        AuthenticationHeaderValue? authorization, Func<Stream, CancellationToken, Task<T>> readStream, CancellationToken ct,
        Func<HttpResponseMessage, ValueTask<bool>>? isPermanent = null) where T : class =>
        SendAsync(() => Post(url, content, authorization), readStream, ct, isPermanent);

    private static HttpRequestMessage Post(string url, Func<HttpContent> content, AuthenticationHeaderValue? authorization)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = content() };
        request.Headers.Authorization = authorization;
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return request;
    }
}
