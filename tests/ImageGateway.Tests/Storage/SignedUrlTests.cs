using System.Net;
using System.Text;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Storage;

/// <summary>GET /image/files/{id}.{ext}?exp&amp;sig: signed, expiring image URLs (DESIGN §6).</summary>
public sealed class SignedUrlTests : IDisposable
{
    private static readonly byte[] SqliteHeader = Encoding.ASCII.GetBytes("SQLite format 3");

    private readonly GatewayFactory _gateway = new();

    public void Dispose() => _gateway.Dispose();

    /// <summary>Generates one image as a URL and returns its path and query parts.</summary>
    private async Task<(string FilePath, string FileName, long Exp, string Sig, long ExpiresAt)> GenerateUrlAsync(string prompt = "a lighthouse at dusk")
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);
        var json = await client.GenerateBuiltinAsync(prompt, format: "url");
        var url = new Uri(json.GetProperty("data")[0].Str("url")!);
        var query = System.Web.HttpUtility.ParseQueryString(url.Query);
        return (url.AbsolutePath, url.AbsolutePath[(url.AbsolutePath.LastIndexOf('/') + 1)..], long.Parse(query["exp"]!), query["sig"]!,
            json.GetProperty("_metadata").GetProperty("expires_at").GetInt64());
    }

    private static string Url(string path, long exp, string sig) => $"{path}?exp={exp}&sig={Uri.EscapeDataString(sig)}";

    [Fact]
    public async Task A_generated_url_serves_the_png_without_an_api_key()
    {
        var (path, fileName, exp, sig, expiresAt) = await GenerateUrlAsync();
        using var anonymous = _gateway.CreateClient();

        var response = await anonymous.GetAsync(Url(path, exp, sig));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/png", response.Content.Headers.ContentType?.MediaType);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.True(Api.IsPng(bytes));
        Assert.Equal(expiresAt, exp);
        Assert.Equal(_gateway.UnixNow() + 3600, exp);
        Assert.Contains(fileName, _gateway.StoredImageFiles());
        Assert.Equal(bytes, await File.ReadAllBytesAsync(Path.Combine(_gateway.ImagesDirectory(), fileName)));
    }

    [Fact]
    public async Task The_same_url_works_under_v1_too()
    {
        var (path, _, exp, sig, _) = await GenerateUrlAsync();
        using var anonymous = _gateway.CreateClient();

        var response = await anonymous.GetAsync(Url(path.Replace("/api/v1/llm/", "/v1/"), exp, sig));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(Api.IsPng(await response.Content.ReadAsByteArrayAsync()));
    }

    [Fact]
    public async Task A_tampered_signature_is_a_403()
    {
        var (path, _, exp, sig, _) = await GenerateUrlAsync();
        using var anonymous = _gateway.CreateClient();
        var tampered = (sig[0] == 'A' ? 'B' : 'A') + sig[1..];

        await Api.AssertErrorAsync(await anonymous.GetAsync(Url(path, exp, tampered)), HttpStatusCode.Forbidden, "permission_error", "invalid_signature");
        await Api.AssertErrorAsync(await anonymous.GetAsync(Url(path, exp, sig[..^1])), HttpStatusCode.Forbidden, "permission_error", "invalid_signature");
        await Api.AssertErrorAsync(await anonymous.GetAsync(Url(path, exp, "")), HttpStatusCode.Forbidden, "permission_error", "invalid_signature");
        await Api.AssertErrorAsync(await anonymous.GetAsync($"{path}?exp={exp}"), HttpStatusCode.Forbidden, "permission_error", "invalid_signature");
        await Api.AssertErrorAsync(await anonymous.GetAsync(path), HttpStatusCode.Forbidden, "permission_error", "invalid_signature");
    }

    [Fact]
    public async Task A_tampered_expiry_is_a_403_even_if_it_would_extend_the_url()
    {
        var (path, _, exp, sig, _) = await GenerateUrlAsync();
        using var anonymous = _gateway.CreateClient();

        foreach (var forged in new[] { (exp + 1).ToString(), (exp + 86400 * 365).ToString(), (exp - 1).ToString(), "0", "-1", "abc", $"{exp}.0", $"+{exp}", $" {exp}" })
        {
            var response = await anonymous.GetAsync($"{path}?exp={Uri.EscapeDataString(forged)}&sig={Uri.EscapeDataString(sig)}");
            await Api.AssertErrorAsync(response, HttpStatusCode.Forbidden, "permission_error", "invalid_signature");
        }
    }

    [Fact]
    public async Task An_expired_tampered_url_is_still_a_403_not_a_410()
    {
        var (path, _, exp, sig, _) = await GenerateUrlAsync();
        using var anonymous = _gateway.CreateClient();
        _gateway.Time.Advance(TimeSpan.FromHours(2));

        // A different first character, whatever the signature starts with (with "x" always, one
        // signature in 64 started with 'x' and stayed valid: a 410 then, and a flaky test).
        var tampered = (sig[0] == 'x' ? 'y' : 'x') + sig[1..];
        Assert.NotEqual(sig, tampered);
        var response = await anonymous.GetAsync(Url(path, exp, tampered));

        await Api.AssertErrorAsync(response, HttpStatusCode.Forbidden, "permission_error", "invalid_signature");
    }

    [Fact]
    public async Task An_altered_file_name_is_refused_and_never_serves_another_file()
    {
        var (path, fileName, exp, sig, _) = await GenerateUrlAsync("first image");
        var (otherPath, otherName, otherExp, otherSig, _) = await GenerateUrlAsync("second image");
        using var anonymous = _gateway.CreateClient();
        var directory = path[..(path.LastIndexOf('/') + 1)];
        var stem = fileName[..fileName.IndexOf('.')];
        var lastChar = stem[^1] == 'a' ? 'b' : 'a';

        var attempts = new[]
        {
            directory + stem[..^1] + lastChar + ".png",       // one character of the random part
            directory + stem + ".jpeg",                      // other extension
            directory + stem + ".webp",
            directory + stem + ".PNG",
            directory + stem + ".png.png",
            directory + stem,                                 // no extension
            directory + otherName,                            // another image with this image's signature
        };
        foreach (var attempt in attempts)
        {
            var response = await anonymous.GetAsync(Url(attempt, exp, sig));
            Assert.True(response.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.NotFound,
                $"{attempt} answered {(int)response.StatusCode}");
            Assert.NotEqual("image/png", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        }
        // The untampered URLs still work.
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(Url(path, exp, sig))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(Url(otherPath, otherExp, otherSig))).StatusCode);
    }

    public static TheoryData<string> TraversalPaths() => new()
    {
        "/api/v1/llm/image/files/..%2F..%2Fgateway.db",
        "/api/v1/llm/image/files/..%2f..%2fgateway.db",
        "/api/v1/llm/image/files/%2e%2e%2f%2e%2e%2fgateway.db",
        "/api/v1/llm/image/files/..%5C..%5Cgateway.db",
        "/api/v1/llm/image/files/..%252F..%252Fgateway.db",
        "/api/v1/llm/image/files/%2E%2E%2Fgateway.db",
        "/api/v1/llm/image/files/..%2Fgateway.db",
        "/api/v1/llm/image/files/gateway.db",
        "/api/v1/llm/image/files/..%2F..%2Furl-signing.key",
        "/api/v1/llm/image/files/..%2Furl-signing.key",
        "/api/v1/llm/image/files//etc/passwd",
        "/api/v1/llm/image/files/%2Fetc%2Fpasswd",
        "/v1/image/files/..%2F..%2Fgateway.db",
        "/api/v1/llm/image/files/..%2F..%2Fgateway.db?exp=99999999999&sig=abc",
    };

    [Theory]
    [MemberData(nameof(TraversalPaths))]
    public async Task Path_traversal_attempts_are_a_404_and_never_return_a_file_from_the_data_folder(string attempt)
    {
        await GenerateUrlAsync(); // there is a real image, a database and a signing key on disk
        using var anonymous = _gateway.CreateClient();
        var signingKey = await File.ReadAllBytesAsync(Path.Combine(_gateway.DataDirectory, "url-signing.key"));

        var response = await anonymous.GetAsync(attempt);

        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.True(bytes.AsSpan().IndexOf(SqliteHeader) < 0, "the database bytes were served");
        Assert.True(bytes.AsSpan().IndexOf(signingKey) < 0, "the URL signing key was served");
        Assert.False(Api.IsPng(bytes));
    }

    [Fact]
    public async Task A_url_used_after_its_ttl_is_a_410_and_works_until_then()
    {
        var (path, _, exp, sig, _) = await GenerateUrlAsync();
        using var anonymous = _gateway.CreateClient();

        _gateway.Time.Advance(TimeSpan.FromSeconds(3599));
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(Url(path, exp, sig))).StatusCode);

        _gateway.Time.Advance(TimeSpan.FromSeconds(2));
        var response = await anonymous.GetAsync(Url(path, exp, sig));

        await Api.AssertErrorAsync(response, (HttpStatusCode)410, "invalid_request_error", "url_expired");
    }

    [Fact]
    public async Task A_custom_url_ttl_is_used_for_expires_at_and_enforced()
    {
        _gateway.Settings["Gateway:Storage:UrlTtlSeconds"] = "60";
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);

        var json = await client.GenerateBuiltinAsync(format: "url");

        var created = json.GetProperty("created").GetInt64();
        var expiresAt = json.GetProperty("_metadata").GetProperty("expires_at").GetInt64();
        Assert.Equal(created + 60, expiresAt);
        var url = new Uri(json.GetProperty("data")[0].Str("url")!);
        Assert.Contains($"exp={expiresAt}", url.Query);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(url.PathAndQuery)).StatusCode);

        _gateway.Time.Advance(TimeSpan.FromSeconds(61));

        await Api.AssertErrorAsync(await client.GetAsync(url.PathAndQuery), (HttpStatusCode)410, "invalid_request_error", "url_expired");
    }

    [Fact]
    public async Task A_validly_signed_url_for_an_image_that_is_not_stored_is_a_404()
    {
        await GenerateUrlAsync();
        var urls = _gateway.Service<ImageGateway.Storage.SignedUrls>();
        var name = ImageGateway.Storage.StoredImageName.New(_gateway.Time.GetUtcNow().AddHours(1), "png");
        using var anonymous = _gateway.CreateClient();

        var response = await anonymous.GetAsync(urls.PathAndQuery(name));

        await Api.AssertErrorAsync(response, HttpStatusCode.NotFound, "not_found_error", "not_found");
    }
}
