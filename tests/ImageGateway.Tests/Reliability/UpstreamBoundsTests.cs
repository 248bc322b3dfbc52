using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.Json;
using ImageGateway.Tests.Providers;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Reliability;

/// <summary>
/// Issue 23, findings 5 and 6: an upstream cannot fill the gateway's memory, and a provider's
/// credentials go to that provider's API and nowhere else. The fake is OpenAI's images API on one
/// loopback port; a second fake on another port plays the host of an image link or a redirect
/// target. Every refusal is a 502 with nothing charged (dall-e-3 at 1024x1024 holds 48 credits).
/// </summary>
public sealed class UpstreamBoundsTests : IAsyncLifetime
{
    private const string AzureHeaderValue = "azure-api-key-0123456789abcdef";

    private readonly GatewayFactory _gateway = new GatewayFactory().WithoutUpstreamKeys().ServeAsItself("dall-e-3");
    private FakeUpstream _openai = null!;
    private FakeUpstream _other = null!;

    public async Task InitializeAsync()
    {
        _openai = await FakeUpstream.StartAsync();
        _other = await FakeUpstream.StartAsync();
        _gateway.UseOpenAi("openai", _openai, maxRetries: 0);
        _gateway.Settings["Gateway:Providers:openai:Headers:api-key"] = AzureHeaderValue;
    }

    public async Task DisposeAsync()
    {
        _gateway.Dispose();
        await _openai.DisposeAsync();
        await _other.DisposeAsync();
    }

    private async Task<(HttpClient Client, string UserId)> UserAsync()
    {
        var (userId, key) = await _gateway.CreateUserAsync("managed", 1000m);
        return (_gateway.ClientWithKey(key), userId);
    }

    /// <summary>A valid OpenAI answer followed by <paramref name="padding"/> bytes of JSON whitespace, gzip-compressed.</summary>
    private static byte[] GzipBomb(int padding)
    {
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            gzip.Write(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
            {
                created = 1, data = new[] { new { b64_json = Convert.ToBase64String(OpenAiKit.ImageBytes(0)) } },
            })));
            var spaces = new byte[1 << 20];
            spaces.AsSpan().Fill((byte)' ');
            for (var written = 0; written < padding; written += spaces.Length) gzip.Write(spaces);
        }
        return compressed.ToArray();
    }

    [Fact]
    public async Task A_small_gzip_body_that_inflates_past_MaxAnswerBytes_is_a_502_and_charges_nothing()
    {
        _gateway.Settings["Gateway:Providers:openai:MaxAnswerBytes"] = (1 << 20).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var bomb = GzipBomb(32 << 20); // 32 MiB of valid JSON whitespace, well under the old 256 MB cap
        Assert.True(bomb.Length < 200_000, $"{bomb.Length} bytes compressed");
        _openai.Handler = (ctx, _) =>
        {
            ctx.Response.ContentType = "application/json";
            ctx.Response.Headers.ContentEncoding = "gzip";
            return ctx.Response.Body.WriteAsync(bomb).AsTask();
        };
        var (client, userId) = await UserAsync();

        var (response, text) = await client.GenerateAsync(OpenAiKit.DallE3());

        Assert.True(response.StatusCode == HttpStatusCode.BadGateway, text);
        Assert.DoesNotContain("MaxAnswerBytes", text); // a setting: shown to admins only
        Assert.Contains("could not make the images right now", text);
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, 48m);
    }

    [Fact]
    public async Task The_same_answer_under_the_cap_is_served_so_the_cap_is_what_refused_it()
    {
        var bomb = GzipBomb(2 << 20);
        _openai.Handler = (ctx, _) =>
        {
            ctx.Response.ContentType = "application/json";
            ctx.Response.Headers.ContentEncoding = "gzip";
            return ctx.Response.Body.WriteAsync(bomb).AsTask();
        };
        var (client, _) = await UserAsync();

        var (response, text) = await client.GenerateAsync(OpenAiKit.DallE3());

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
    }

    [Fact]
    public async Task A_redirect_is_not_followed_so_the_prompt_and_headers_stay_with_the_provider()
    {
        _other.Handler = OpenAiKit.Success;
        _openai.Handler = (ctx, _) =>
        {
            ctx.Response.StatusCode = 307;
            ctx.Response.Headers.Location = _other.BaseUrl + OpenAiKit.UpstreamPath;
            return Task.CompletedTask;
        };
        var (client, userId) = await UserAsync();

        var (response, text) = await client.GenerateAsync(OpenAiKit.DallE3());

        Assert.True(response.StatusCode == HttpStatusCode.BadGateway, text);
        Assert.Contains("could not make the images right now", text);
        Assert.Equal(0, _other.Count);
        Assert.Single(_openai.Generations());
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, 48m);
    }

    /// <summary>The provider answers a link to an image on another host (an Azure blob, a CDN).</summary>
    private void AnswerWithLinkTo(string imageUrl, byte[] image)
    {
        _other.Handler = (ctx, _) =>
        {
            ctx.Response.ContentType = "image/png";
            return ctx.Response.Body.WriteAsync(image).AsTask();
        };
        _openai.Handler = (ctx, _) => FakeUpstream.Json(ctx, 200, JsonSerializer.Serialize(new { created = 1, data = new[] { new { url = imageUrl } } }));
    }

    [Fact]
    public async Task An_image_link_on_another_host_gets_no_credentials()
    {
        _gateway.Settings["Gateway:AllowPrivateImageUrls"] = "true"; // the fake image host is on loopback
        var image = OpenAiKit.ImageBytes(4);
        AnswerWithLinkTo(_other.BaseUrl + "/blob/img.png?sig=abc", image);
        var (client, _) = await UserAsync();

        var (response, text) = await client.GenerateAsync(OpenAiKit.DallE3());

        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.Equal(image, Convert.FromBase64String(JsonDocument.Parse(text).RootElement.GetProperty("data")[0].Str("b64_json")!));
        var call = Assert.Single(_openai.Generations());
        Assert.Equal(AzureHeaderValue, call.Headers.GetValueOrDefault("api-key"));
        var download = Assert.Single(_other.Requests);
        Assert.Equal("GET", download.Method);
        Assert.False(download.Headers.ContainsKey("api-key"), "the provider header went to the image host");
        Assert.Null(download.Authorization);
    }

    [Fact]
    public async Task An_image_link_to_a_private_address_is_refused_by_default_and_charges_nothing()
    {
        AnswerWithLinkTo(_other.BaseUrl + "/blob/img.png", OpenAiKit.ImageBytes(4));
        var (client, userId) = await UserAsync();

        var (response, text) = await client.GenerateAsync(OpenAiKit.DallE3());

        Assert.True(response.StatusCode == HttpStatusCode.BadGateway, text);
        Assert.Contains("could not make the images right now", text);
        Assert.Equal(0, _other.Count); // refused before connecting
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, 48m);
    }

    [Fact]
    public async Task An_image_download_over_MaxAnswerBytes_is_a_502_and_charges_nothing()
    {
        _gateway.Settings["Gateway:AllowPrivateImageUrls"] = "true";
        _gateway.Settings["Gateway:Providers:openai:MaxAnswerBytes"] = "100000";
        AnswerWithLinkTo(_other.BaseUrl + "/big.png", FakeUpstream.Png(1024, 3)); // a noisy 1024x1024 PNG, well over 100 KB
        var (client, userId) = await UserAsync();

        var (response, text) = await client.GenerateAsync(OpenAiKit.DallE3());

        Assert.True(response.StatusCode == HttpStatusCode.BadGateway, text);
        Assert.DoesNotContain("MaxAnswerBytes", text); // a setting: shown to admins only
        Assert.Contains("could not make the images right now", text);
        await _gateway.AssertNothingChargedAsync(client, userId, 1000m, 48m);
    }
}
