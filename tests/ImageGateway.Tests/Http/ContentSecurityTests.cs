using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Http;

/// <summary>The console and /docs load nothing from another origin, and the policy header says so.</summary>
public sealed class ContentSecurityTests : IDisposable
{
    private readonly GatewayFactory _gateway = new();

    public void Dispose() => _gateway.Dispose();

    [Theory]
    [InlineData("/")]
    [InlineData("/index.html")]
    [InlineData("/app.css")]
    [InlineData("/js/app.js")]
    public async Task The_console_and_its_assets_carry_a_same_origin_policy(string path)
    {
        var response = await _gateway.AnonymousClient().GetAsync(path);

        response.EnsureSuccessStatusCode();
        var policy = response.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("default-src 'self'", policy);
        Assert.Contains("script-src 'self';", policy);
        Assert.Contains("style-src 'self';", policy);
        Assert.Contains("frame-ancestors 'none'", policy);
        Assert.DoesNotContain("unsafe-inline", policy);
        Assert.DoesNotContain("http", policy);
    }

    [Fact]
    public async Task The_console_page_has_no_inline_script_style_or_handler_that_the_policy_would_block()
    {
        var html = await _gateway.AnonymousClient().GetStringAsync("/");

        Assert.DoesNotMatch(@"<script(?![^>]*\bsrc=)[^>]*>", html);
        Assert.DoesNotContain("<style", html);
        Assert.DoesNotMatch(@"\sstyle=", html);
        Assert.DoesNotMatch(@"\son[a-z]+=", html);
    }

    [Fact]
    public async Task Docs_load_nothing_from_another_origin()
    {
        var response = await _gateway.AnonymousClient().GetAsync("/docs");
        var html = await response.Content.ReadAsStringAsync();

        response.EnsureSuccessStatusCode();
        var policy = response.Headers.GetValues("Content-Security-Policy").Single();
        Assert.DoesNotContain("http", policy);
        Assert.Contains("frame-ancestors 'none'", policy);
        foreach (var external in new[] { "fonts.googleapis", "fonts.scalar.com", "cdn.jsdelivr", "unpkg.com", "cdn.scalar.com" })
            Assert.DoesNotContain(external, html);
        Assert.DoesNotMatch(@"(src|href)=""https?://", html);
    }
}
