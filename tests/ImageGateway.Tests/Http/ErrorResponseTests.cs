using System.Net;
using System.Net.Http.Headers;
using System.Text;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Http;

/// <summary>Every error status of DESIGN §1.3, with the exact body shape.</summary>
public sealed class ErrorResponseTests : IDisposable
{
    private readonly GatewayFactory _gateway = new();

    public void Dispose() => _gateway.Dispose();

    private async Task<HttpClient> ManagedClientAsync(decimal credits = 10m)
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", credits);
        return _gateway.ClientWithKey(key);
    }

    // ---- 400 ----

    [Theory]
    [InlineData("""{"prompt": "unterminated""")]
    [InlineData("""{"prompt":"x",}""")]
    [InlineData("not json at all")]
    [InlineData("")]
    [InlineData("[1,2,3]")]
    public async Task Malformed_json_is_a_400_invalid_request_error(string body)
    {
        using var client = await ManagedClientAsync();

        var response = await client.PostAsync("/api/v1/llm/images/generations", Api.Raw(body));

        await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "invalid_json");
        Assert.Equal(10m, (await client.CreditsAsync()).Dec("credits_remaining"));
    }

    [Fact]
    public async Task Missing_prompt_is_a_400_naming_prompt()
    {
        using var client = await ManagedClientAsync();

        var response = await client.PostJsonAsync("/v1/images/generations", new { model = Api.Builtin });

        await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "missing_required_parameter", "prompt");
    }

    [Fact]
    public async Task Blank_prompt_is_a_400_naming_prompt()
    {
        using var client = await ManagedClientAsync();

        var response = await client.PostJsonAsync("/v1/images/generations", new { prompt = "   ", model = Api.Builtin });

        await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "invalid_value", "prompt");
    }

    [Theory]
    [InlineData("builtin-preview", "999x999")]
    [InlineData("builtin-preview", "big")]
    [InlineData("dall-e-3", "256x256")]
    [InlineData("dall-e-2", "1792x1024")]
    public async Task A_size_the_model_does_not_offer_is_a_400_naming_size(string model, string size)
    {
        using var client = await ManagedClientAsync();

        var response = await client.PostJsonAsync("/api/v1/llm/image/generations", new { prompt = "x", model, size });

        var error = await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "invalid_value", "size");
        Assert.Contains(size, error.Str("message"));
    }

    [Fact]
    public async Task Style_on_dall_e_2_is_a_400_naming_style()
    {
        using var client = await ManagedClientAsync();

        var response = await client.PostJsonAsync("/api/v1/llm/image/generations",
            new { prompt = "x", model = "dall-e-2", size = "256x256", style = "vivid" });

        await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "invalid_value", "style");
    }

    [Theory]
    [InlineData("""{"prompt":"x","model":"builtin-preview","n":0}""", "n", "invalid_value")]
    [InlineData("""{"prompt":"x","model":"builtin-preview","n":11}""", "n", "invalid_value")]
    [InlineData("""{"prompt":"x","model":"builtin-preview","n":"two"}""", "n", "invalid_type")]
    [InlineData("""{"prompt":"x","model":"no-such-model"}""", "model", "invalid_value")]
    [InlineData("""{"prompt":"x","model":"builtin-preview","response_format":"jpeg"}""", "response_format", "invalid_value")]
    [InlineData("""{"prompt":"x","model":"builtin-preview","quality":"hd"}""", "quality", "invalid_value")]
    [InlineData("""{"prompt":42,"model":"builtin-preview"}""", "prompt", "invalid_type")]
    public async Task Invalid_fields_are_a_400_naming_the_field(string body, string param, string code)
    {
        using var client = await ManagedClientAsync();

        var response = await client.PostAsync("/api/v1/llm/images/generations", Api.Raw(body));

        await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", code, param);
        Assert.Equal(10m, (await client.CreditsAsync()).Dec("credits_remaining"));
    }

    [Fact]
    public async Task A_prompt_longer_than_the_model_allows_is_a_400_naming_prompt()
    {
        using var client = await ManagedClientAsync();

        var response = await client.PostJsonAsync("/api/v1/llm/images/generations",
            new { prompt = new string('a', 1001), model = "dall-e-2", size = "256x256" });

        await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "invalid_value", "prompt");
    }

    // ---- 401 ----

    public static TheoryData<string?> BadAuthorizationHeaders() => new()
    {
        null,                                         // no header
        "Basic dXNlcjpwYXNzd29yZA==",                 // wrong scheme
        "Token uc_" + new string('A', 43),            // wrong scheme, well-formed key
        "Bearer not-a-gateway-key",                   // malformed
        "Bearer uc_short",                            // malformed (too short)
        "Bearer uc_" + new string('!', 43),           // malformed (not base62)
        "Bearer " + Api.UnknownKey(),                 // unknown
        "Bearer",                                     // scheme only
    };

    [Theory]
    [MemberData(nameof(BadAuthorizationHeaders))]
    public async Task Missing_malformed_or_unknown_keys_are_a_401(string? authorization)
    {
        using var client = _gateway.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/llm/images/generations") { Content = Api.Json(Api.BuiltinBody()) };
        if (authorization is not null) request.Headers.TryAddWithoutValidation("Authorization", authorization);

        var response = await client.SendAsync(request);

        await Api.AssertErrorAsync(response, HttpStatusCode.Unauthorized, "authentication_error", "invalid_api_key");
    }

    [Theory]
    [InlineData("GET", "/v1/models")]
    [InlineData("GET", "/api/v1/llm/image/models")]
    [InlineData("GET", "/api/v1/llm/credits")]
    [InlineData("GET", "/api/v1/llm/credits/history")]
    [InlineData("POST", "/api/v1/llm/image/estimate")]
    [InlineData("GET", "/api/v1/keys")]
    [InlineData("GET", "/api/v1/admin/users")]
    public async Task Every_authenticated_endpoint_refuses_a_request_without_a_key(string method, string path)
    {
        using var client = _gateway.CreateClient();
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "POST") request.Content = Api.Json(Api.BuiltinBody());

        var response = await client.SendAsync(request);

        await Api.AssertErrorAsync(response, HttpStatusCode.Unauthorized, "authentication_error", "invalid_api_key");
    }

    [Fact]
    public async Task A_revoked_key_is_a_401()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);
        var created = await (await client.PostJsonAsync("/api/v1/keys", new { name = "to revoke" })).OkJsonAsync(HttpStatusCode.Created);
        using var revokedClient = _gateway.ClientWithKey(created.Str("key")!);
        Assert.Equal(HttpStatusCode.OK, (await revokedClient.GetAsync("/api/v1/llm/credits")).StatusCode);

        (await client.DeleteAsync($"/api/v1/keys/{created.Str("id")}")).EnsureSuccessStatusCode();

        var response = await revokedClient.PostJsonAsync("/api/v1/llm/images/generations", Api.BuiltinBody());
        var error = await Api.AssertErrorAsync(response, HttpStatusCode.Unauthorized, "authentication_error", "invalid_api_key");
        Assert.Contains("revoked", error.Str("message"));
        Assert.Equal(10m, (await client.CreditsAsync()).Dec("credits_remaining"));
    }

    [Fact]
    public async Task An_expired_key_is_a_401()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);
        var created = await (await client.PostJsonAsync("/api/v1/keys", new { name = "short lived", expires_in_days = 1 }))
            .OkJsonAsync(HttpStatusCode.Created);
        Assert.Equal(_gateway.UnixNow() + 86400, created.GetProperty("expires_at").GetInt64());
        using var expiring = _gateway.ClientWithKey(created.Str("key")!);
        Assert.Equal(HttpStatusCode.OK, (await expiring.GetAsync("/api/v1/llm/credits")).StatusCode);

        _gateway.Time.Advance(TimeSpan.FromDays(2));

        var response = await expiring.GetAsync("/api/v1/llm/credits");
        var error = await Api.AssertErrorAsync(response, HttpStatusCode.Unauthorized, "authentication_error", "invalid_api_key");
        Assert.Contains("expired", error.Str("message"));
        // The account's other key is unaffected.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/llm/credits")).StatusCode);
    }

    // ---- 402 ----

    [Fact]
    public async Task Insufficient_credits_is_a_402_with_the_exact_message_and_changes_nothing()
    {
        using var client = await ManagedClientAsync(credits: 1m);
        var historyBefore = await client.HistoryAsync();

        var response = await client.PostJsonAsync("/api/v1/llm/image/generations", Api.BuiltinBody());

        var error = await Api.AssertErrorAsync(response, HttpStatusCode.PaymentRequired, "insufficient_quota", "insufficient_credits");
        Assert.Equal("Insufficient credits. Balance: 1.00, Estimated cost: 1.20 credits", error.Str("message"));
        var credits = await client.CreditsAsync();
        Assert.Equal(1m, credits.Dec("credits_remaining"));
        Assert.Equal(0m, credits.Dec("reserved"));
        var historyAfter = await client.HistoryAsync();
        Assert.Equal(historyBefore.GetProperty("total").GetInt64(), historyAfter.GetProperty("total").GetInt64());
        Assert.Equal(historyBefore.GetProperty("transactions").GetRawText(), historyAfter.GetProperty("transactions").GetRawText());
        Assert.Empty(_gateway.StoredImageFiles());
    }

    [Fact]
    public async Task N_images_that_together_exceed_the_balance_are_a_402_even_when_one_would_fit()
    {
        using var client = await ManagedClientAsync(credits: 3m);

        var response = await client.PostJsonAsync("/api/v1/llm/image/generations", Api.BuiltinBody(n: 3));

        var error = await Api.AssertErrorAsync(response, HttpStatusCode.PaymentRequired, "insufficient_quota", "insufficient_credits");
        Assert.Equal("Insufficient credits. Balance: 3.00, Estimated cost: 3.60 credits", error.Str("message"));
        Assert.Equal(3m, (await client.CreditsAsync()).Dec("credits_remaining"));
    }

    // ---- 403 ----

    [Theory]
    [InlineData("GET", "/api/v1/admin/users")]
    [InlineData("POST", "/api/v1/admin/users")]
    public async Task A_user_key_on_an_admin_route_is_a_403(string method, string path)
    {
        using var client = await ManagedClientAsync();
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "POST") request.Content = Api.Json(new { name = "sneaky", tier = "vip_founder", credits = 1000000 });

        var response = await client.SendAsync(request);

        await Api.AssertErrorAsync(response, HttpStatusCode.Forbidden, "permission_error", "admin_required");
        using var admin = _gateway.AdminClient();
        var users = await (await admin.GetAsync("/api/v1/admin/users")).OkJsonAsync();
        Assert.DoesNotContain(users.GetProperty("data").EnumerateArray(), u => u.Str("name") == "sneaky");
    }

    // ---- 404 ----

    [Theory]
    [InlineData("GET", "/api/v1/llm/no-such-route")]
    [InlineData("POST", "/api/v1/llm/images/variations-of-nothing")]
    [InlineData("GET", "/v1/no-such-route")]
    [InlineData("POST", "/v1/images/nope")]
    [InlineData("GET", "/api/v1/nothing-here")]
    public async Task An_unknown_route_is_a_404_json_error(string method, string path)
    {
        using var client = await ManagedClientAsync();
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (method == "POST") request.Content = Api.Json(Api.BuiltinBody());

        var response = await client.SendAsync(request);

        await Api.AssertErrorAsync(response, HttpStatusCode.NotFound, "not_found_error", "not_found");
    }

    [Theory]
    [InlineData("GET", "/v1/images/generations")]
    [InlineData("GET", "/api/v1/llm/image/estimate")]
    [InlineData("POST", "/v1/models")]
    [InlineData("DELETE", "/api/v1/admin/users")]
    public async Task A_wrong_method_on_a_known_route_is_a_405_json_error(string method, string path)
    {
        using var client = await ManagedClientAsync();

        var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        await Api.AssertErrorAsync(response, HttpStatusCode.MethodNotAllowed, "invalid_request_error", "method_not_allowed");
    }

    [Fact]
    public async Task Two_authorization_headers_are_a_401_even_if_both_are_valid()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/credits");
        request.Headers.TryAddWithoutValidation("Authorization", new[] { "Bearer " + key, "Bearer " + key });

        var response = await client.SendAsync(request);

        await Api.AssertErrorAsync(response, HttpStatusCode.Unauthorized, "authentication_error", "invalid_api_key");
    }

    // ---- 413 ----

    [Fact]
    public async Task A_body_over_one_mebibyte_with_content_length_is_a_413()
    {
        using var client = await ManagedClientAsync();
        var content = Api.Json(new { prompt = new string('a', 2 * 1024 * 1024), model = Api.Builtin });
        Assert.NotNull(content.Headers.ContentLength);

        var response = await client.PostAsync("/api/v1/llm/images/generations", content);

        await Api.AssertErrorAsync(response, HttpStatusCode.RequestEntityTooLarge, "invalid_request_error", "request_too_large");
        Assert.Equal(10m, (await client.CreditsAsync()).Dec("credits_remaining"));
    }

    [Fact]
    public async Task A_chunked_body_over_one_mebibyte_is_a_413()
    {
        using var client = await ManagedClientAsync();
        var bytes = Encoding.UTF8.GetBytes($$"""{"prompt":"{{new string('a', 2 * 1024 * 1024)}}","model":"builtin-preview"}""");
        var content = new StreamContent(new NoLengthStream(bytes));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        Assert.Null(content.Headers.ContentLength);

        var response = await client.PostAsync("/api/v1/llm/images/generations", content);

        await Api.AssertErrorAsync(response, HttpStatusCode.RequestEntityTooLarge, "invalid_request_error", "request_too_large");
        Assert.Equal(10m, (await client.CreditsAsync()).Dec("credits_remaining"));
    }

    [Fact]
    public async Task A_body_just_under_the_limit_is_not_refused_as_too_large()
    {
        using var client = await ManagedClientAsync();
        // 1 MiB minus a little: within the body limit but over the prompt limit, so the 400 names the prompt.
        var content = Api.Json(new { prompt = new string('a', 1024 * 1024 - 200), model = Api.Builtin });

        var response = await client.PostAsync("/api/v1/llm/images/generations", content);

        await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "invalid_value", "prompt");
    }

    // ---- 503 ----

    [Fact]
    public async Task A_model_without_a_provider_is_a_503_no_provider_that_must_not_be_retried_and_reserves_nothing()
    {
        _gateway.WithoutUpstreamKeys();
        using var client = await ManagedClientAsync(credits: 100m);
        var historyBefore = await client.HistoryAsync();

        var response = await client.PostJsonAsync("/api/v1/llm/images/generations",
            new { prompt = "a unicorn", model = "dall-e-3", size = "1024x1024", quality = "standard" });

        await Api.AssertErrorAsync(response, HttpStatusCode.ServiceUnavailable, "api_error", "no_provider");
        Assert.True(response.Headers.TryGetValues("x-should-retry", out var retry));
        Assert.Equal("false", Assert.Single(retry));
        var historyAfter = await client.HistoryAsync();
        Assert.Equal(historyBefore.GetProperty("total").GetInt64(), historyAfter.GetProperty("total").GetInt64());
        Assert.DoesNotContain(historyAfter.GetProperty("transactions").EnumerateArray(), t => t.Str("type") == "reserve");
        var credits = await client.CreditsAsync();
        Assert.Equal(100m, credits.Dec("credits_remaining"));
        Assert.Equal(0m, credits.Dec("reserved"));
    }

    /// <summary>A readable stream that reports no length, so HttpClient sends the body chunked.</summary>
    private sealed class NoLengthStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => base.Position; set => throw new NotSupportedException(); }
    }
}
