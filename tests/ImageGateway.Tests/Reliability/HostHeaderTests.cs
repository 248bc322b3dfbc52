using System.Net;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Reliability;

/// <summary>
/// Issue 23, finding 9b: with PublicBaseUrl unset, image URLs take their host from the request, so a
/// forged Host (or X-Forwarded-Host behind a trusted proxy) must not get into them once the
/// operator lists AllowedHosts; with neither set, the gateway says so at start.
/// </summary>
public sealed class HostHeaderTests : IDisposable
{
    private readonly GatewayFactory _gateway = new();

    public void Dispose() => _gateway.Dispose();

    private async Task<HttpResponseMessage> GenerateAsync(Action<HttpRequestMessage> headers)
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 100m);
        using var client = _gateway.ClientWithKey(key);
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/llm/images/generations")
        {
            Content = Api.Raw("""{"model":"builtin-preview","prompt":"a kite","size":"256x256","response_format":"url"}"""),
        };
        headers(request);
        return await client.SendAsync(request);
    }

    private static async Task<string> UrlAsync(HttpResponseMessage response) =>
        (await response.OkJsonAsync()).GetProperty("data")[0].GetProperty("url").GetString()!;

    [Fact]
    public async Task A_forged_Host_is_refused_when_AllowedHosts_lists_the_gateway()
    {
        _gateway.Settings["AllowedHosts"] = "gateway.example.com;localhost"; // localhost: the test clients' own host

        var listed = await GenerateAsync(r => r.Headers.Host = "gateway.example.com");
        var forged = await GenerateAsync(r => r.Headers.Host = "evil.example");

        Assert.StartsWith("http://gateway.example.com/", await UrlAsync(listed));
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        var body = await forged.Content.ReadAsStringAsync();
        Assert.DoesNotContain("evil.example", body);
        Assert.Empty(OpenAiSpec.Errors(body, "ErrorResponse"));
    }

    [Fact]
    public async Task A_forged_X_Forwarded_Host_never_reaches_an_image_url_behind_a_trusted_proxy()
    {
        _gateway.Settings["AllowedHosts"] = "gateway.example.com;localhost"; // localhost: the test clients' own host
        _gateway.Settings["Gateway:TrustForwardedHeaders"] = "true";

        var response = await GenerateAsync(r =>
        {
            r.Headers.Host = "gateway.example.com";
            r.Headers.Add("X-Forwarded-Host", "evil.example");
            r.Headers.Add("X-Forwarded-Proto", "https");
        });

        var url = await UrlAsync(response);
        Assert.DoesNotContain("evil.example", url);
        Assert.Contains("://gateway.example.com/", url); // the Host the proxy passed on, which is listed
    }

    [Fact]
    public void With_neither_PublicBaseUrl_nor_AllowedHosts_the_start_warns()
    {
        _gateway.CreateClient().Dispose();

        Assert.Contains("set Gateway__PublicBaseUrl", _gateway.Logs.All);
    }

    [Fact]
    public async Task With_PublicBaseUrl_set_there_is_no_warning_and_the_Host_is_ignored()
    {
        _gateway.Settings["Gateway:PublicBaseUrl"] = "https://images.example.com";

        var url = await UrlAsync(await GenerateAsync(r => r.Headers.Host = "evil.example"));

        Assert.StartsWith("https://images.example.com/", url);
        Assert.DoesNotContain("set Gateway__PublicBaseUrl", _gateway.Logs.All);
    }
}
