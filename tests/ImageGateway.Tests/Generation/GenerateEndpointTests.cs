using System.Net;
using System.Text.Json;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Generation;

/// <summary>POST /image/generations and /images/generations under /api/v1/llm and /v1 (DESIGN §1.1, §1.2).</summary>
public sealed class GenerateEndpointTests : IDisposable
{
    private readonly GatewayFactory _gateway = new();

    public void Dispose() => _gateway.Dispose();

    [Theory]
    [InlineData("/api/v1/llm/image/generations")]
    [InlineData("/api/v1/llm/images/generations")]
    [InlineData("/v1/image/generations")]
    [InlineData("/v1/images/generations")]
    [InlineData("/api/v1/llm//images/generations")]
    [InlineData("/api/v1/llm//image/generations")]
    [InlineData("/v1//images/generations")]
    public async Task Every_generation_path_generates_and_charges_the_builtin_price(string path)
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);

        var response = await client.PostJsonAsync(path, Api.BuiltinBody());
        Assert.Equal(path, response.RequestMessage!.RequestUri!.AbsolutePath); // the client really sent this path
        var json = await response.OkJsonAsync();

        Assert.Equal(1, json.GetProperty("data").GetArrayLength());
        var url = json.GetProperty("data")[0].Str("url");
        Assert.Contains("/api/v1/llm/image/files/", url);
        var meta = json.GetProperty("_metadata");
        Assert.Equal("builtin-preview", meta.Str("model_used"));
        Assert.Equal(1.2m, meta.Dec("cost_incurred"));
        Assert.Equal(8.8m, (await client.CreditsAsync()).Dec("credits_remaining"));
    }

    [Theory]
    [InlineData("/v1//%2500x")]            // an escaped "%00": decoding the path twice made it a NUL (500)
    [InlineData("/api/v1/llm//%25zz%2F")]  // escapes that only mean something once
    public async Task A_doubled_slash_path_with_escaped_percent_signs_is_a_404_not_a_500(string path)
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 1m);
        using var client = _gateway.ClientWithKey(key);

        var response = await client.GetAsync(path);

        await Api.AssertErrorAsync(response, HttpStatusCode.NotFound, "not_found_error", "not_found");
    }

    [Fact]
    public async Task Url_format_returns_a_fetchable_png_url_and_an_integer_created()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);

        var json = await client.GenerateBuiltinAsync(size: "512x512", format: "url");

        Assert.Equal(JsonValueKind.Number, json.GetProperty("created").ValueKind);
        Assert.True(json.GetProperty("created").TryGetInt64(out var created), "created must be an integer");
        Assert.DoesNotContain(".", json.GetProperty("created").GetRawText());
        Assert.Equal(_gateway.UnixNow(), created);
        var datum = json.GetProperty("data")[0];
        Assert.False(datum.TryGetProperty("b64_json", out _));
        var url = new Uri(datum.Str("url")!);
        Assert.True(url.IsAbsoluteUri);
        Assert.StartsWith("/api/v1/llm/image/files/", url.AbsolutePath);
        Assert.Contains("exp=", url.Query);
        Assert.Contains("sig=", url.Query);

        var image = await client.GetAsync(url.PathAndQuery);
        Assert.Equal(HttpStatusCode.OK, image.StatusCode);
        Assert.Equal("image/png", image.Content.Headers.ContentType?.MediaType);
        var bytes = await image.Content.ReadAsByteArrayAsync();
        Assert.True(Api.IsPng(bytes));
        Assert.Equal((512, 512), Api.PngSize(bytes));
    }

    [Fact]
    public async Task B64_json_format_returns_plain_base64_of_a_png_and_stores_nothing()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);

        var json = await client.GenerateBuiltinAsync(size: "256x256", format: "b64_json");

        Assert.True(json.GetProperty("created").TryGetInt64(out _), "created must be an integer");
        var datum = json.GetProperty("data")[0];
        Assert.False(datum.TryGetProperty("url", out _));
        var b64 = datum.Str("b64_json")!;
        Assert.DoesNotContain("data:", b64);
        Assert.DoesNotContain(",", b64);
        var bytes = Convert.FromBase64String(b64);
        Assert.True(Api.IsPng(bytes), "b64_json must decode to PNG bytes");
        Assert.Equal((256, 256), Api.PngSize(bytes));

        var meta = json.GetProperty("_metadata");
        Assert.True(!meta.TryGetProperty("expires_at", out var exp) || exp.ValueKind == JsonValueKind.Null,
            "expires_at only applies to url responses");
        Assert.Equal(1.2m, meta.Dec("cost_incurred"));
        Assert.Empty(_gateway.StoredImageFiles());
    }

    [Fact]
    public async Task N_of_3_returns_three_distinct_images_and_charges_three_times_the_price()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);

        var json = await client.GenerateBuiltinAsync(n: 3, format: "b64_json");

        var images = json.GetProperty("data").EnumerateArray().Select(d => d.Str("b64_json")!).ToArray();
        Assert.Equal(3, images.Length);
        Assert.Equal(3, images.Distinct().Count());
        Assert.All(images, i => Assert.True(Api.IsPng(Convert.FromBase64String(i))));
        var meta = json.GetProperty("_metadata");
        Assert.Equal(3, meta.GetProperty("images_generated").GetInt32());
        Assert.Equal(3.6m, meta.Dec("cost_incurred"));
        Assert.Equal(6.4m, meta.Dec("credits_remaining"));
        Assert.Equal(6.4m, (await client.CreditsAsync()).Dec("credits_remaining"));
    }

    [Fact]
    public async Task N_of_3_with_url_format_returns_three_distinct_working_urls()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);

        var json = await client.GenerateBuiltinAsync(n: 3, format: "url");

        var urls = json.GetProperty("data").EnumerateArray().Select(d => d.Str("url")!).ToArray();
        Assert.Equal(3, urls.Distinct().Count());
        var bodies = new List<string>();
        foreach (var url in urls)
        {
            var response = await client.GetAsync(new Uri(url).PathAndQuery);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            bodies.Add(Convert.ToBase64String(await response.Content.ReadAsByteArrayAsync()));
        }
        Assert.Equal(3, bodies.Distinct().Count());
        Assert.Equal(3, _gateway.StoredImageFiles().Length);
    }

    [Fact]
    public async Task Metadata_reports_provider_model_cost_balance_tier_and_the_settle_transaction()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);

        var json = await client.GenerateBuiltinAsync(size: "512x512", format: "url");

        var meta = json.GetProperty("_metadata");
        Assert.Equal("builtin", meta.Str("provider_used"));
        Assert.Equal("builtin-preview", meta.Str("model_used"));
        Assert.Equal(1.2m, meta.Dec("cost_incurred"));
        Assert.Equal(8.8m, meta.Dec("credits_remaining"));
        Assert.Equal("managed", meta.Str("user_tier"));
        Assert.Equal(JsonValueKind.False, meta.GetProperty("using_byok").ValueKind);
        Assert.Equal(JsonValueKind.Null, meta.GetProperty("byok_provider").ValueKind);
        Assert.Equal(1, meta.GetProperty("images_generated").GetInt32());
        Assert.Equal("512x512", meta.Str("size"));
        Assert.Equal("standard", meta.Str("quality"));
        Assert.True(meta.GetProperty("expires_at").TryGetInt64(out var expiresAt));
        Assert.Equal(json.GetProperty("created").GetInt64() + 3600, expiresAt);

        var transactionId = meta.Str("transaction_id");
        Assert.StartsWith("txn_", transactionId);
        var history = await client.HistoryAsync();
        var newestSettle = history.GetProperty("transactions").EnumerateArray().First(t => t.Str("type") == "settle");
        Assert.Equal(transactionId, newestSettle.Str("id"));
        Assert.Equal(-1.2m, newestSettle.Dec("amount"));
        Assert.Equal(8.8m, newestSettle.Dec("balance_after"));
    }

    [Fact]
    public async Task Free_tier_pays_one_and_a_half_credits_per_builtin_image()
    {
        var (_, key) = await _gateway.CreateUserAsync("free", 10m);
        using var client = _gateway.ClientWithKey(key);

        var json = await client.GenerateBuiltinAsync();

        var meta = json.GetProperty("_metadata");
        Assert.Equal("free", meta.Str("user_tier"));
        Assert.Equal(1.5m, meta.Dec("cost_incurred"));
        Assert.Equal(8.5m, meta.Dec("credits_remaining"));
        Assert.Equal(8.5m, (await client.CreditsAsync()).Dec("credits_remaining"));
    }

    [Fact]
    public async Task Two_generations_each_take_exactly_the_price_and_leave_nothing_reserved()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 5m);
        using var client = _gateway.ClientWithKey(key);

        var first = await client.GenerateBuiltinAsync("first prompt");
        var second = await client.GenerateBuiltinAsync("second prompt");

        Assert.Equal(3.8m, first.GetProperty("_metadata").Dec("credits_remaining"));
        Assert.Equal(2.6m, second.GetProperty("_metadata").Dec("credits_remaining"));
        Assert.NotEqual(first.GetProperty("_metadata").Str("transaction_id"), second.GetProperty("_metadata").Str("transaction_id"));
        var credits = await client.CreditsAsync();
        Assert.Equal(2.6m, credits.Dec("credits_remaining"));
        Assert.Equal(0m, credits.Dec("reserved"));
    }

    [Fact]
    public async Task Unknown_fields_in_the_body_are_ignored()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);

        var response = await client.PostAsync("/v1/images/generations", Api.Raw(
            """{"prompt":"sdk extras","model":"builtin-preview","size":"256x256","extra_body":{"a":[1,2,{"b":null}]},"timeout":30}"""));

        var json = await response.OkJsonAsync();
        Assert.Equal(1, json.GetProperty("_metadata").GetProperty("images_generated").GetInt32());
    }
}
