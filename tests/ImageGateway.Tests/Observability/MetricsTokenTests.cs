using System.Net;
using System.Net.Http.Headers;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Observability;

/// <summary>
/// Issue 23, finding 9c: <c>/metrics</c> shows credits per tier and was open to anyone. With
/// <c>Gateway:MetricsToken</c> set, only a scrape with that bearer token gets it.
/// </summary>
public sealed class MetricsTokenTests : IDisposable
{
    private const string Token = "scrape-token-7f3a9c";
    private readonly GatewayFactory _gateway = new();

    public void Dispose() => _gateway.Dispose();

    private async Task<HttpResponseMessage> ScrapeAsync(string? authorization)
    {
        using var client = _gateway.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        if (authorization is not null) request.Headers.TryAddWithoutValidation("Authorization", authorization);
        return await client.SendAsync(request);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer wrong-token")]
    [InlineData("Bearer " + Token + "x")]
    [InlineData("Basic c2NyYXBlOnRva2Vu")]
    [InlineData("Bearer " + GatewayFactory.AdminKey)] // an API key, even the admin's, is not the scrape token
    public async Task Without_the_token_the_scrape_is_a_401_json_error(string? authorization)
    {
        _gateway.Settings["Gateway:MetricsToken"] = Token;

        var response = await ScrapeAsync(authorization);

        var error = await Api.AssertErrorAsync(response, HttpStatusCode.Unauthorized, "authentication_error", "invalid_metrics_token");
        Assert.DoesNotContain(Token, error.GetRawText());
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
    }

    [Fact]
    public async Task With_the_token_the_scrape_answers_prometheus_text()
    {
        _gateway.Settings["Gateway:MetricsToken"] = Token;

        var response = await ScrapeAsync("Bearer " + Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("# TYPE", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Unset_the_scrape_stays_open()
    {
        var response = await ScrapeAsync(null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
