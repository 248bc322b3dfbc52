using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ImageGateway.Tests.Support;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace ImageGateway.Tests.Observability;

public sealed class ObservabilityTests : IDisposable
{
    private readonly GatewayFactory _gateway = new();

    public void Dispose() => _gateway.Dispose();

    private static async Task<JsonElement> JsonOf(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();

    [Fact]
    public void Console_lines_go_through_the_stock_console_logger_so_its_formatters_apply()
    {
        _ = _gateway.CreateClient();
        var providers = _gateway.Services.GetServices<Microsoft.Extensions.Logging.ILoggerProvider>();
        Assert.Contains(providers, p => p is Microsoft.Extensions.Logging.Console.ConsoleLoggerProvider);
    }

    [Fact]
    public async Task Usage_aggregates_match_the_ledger()
    {
        var (userId, key) = await _gateway.CreateUserAsync("managed", 100m);
        using var client = _gateway.ClientWithKey(key);
        foreach (var (n, size) in new[] { (1, "256x256"), (3, "512x512"), (2, "1024x1024") })
            (await client.PostAsJsonAsync("/api/v1/llm/images/generations",
                new { prompt = "a tree", model = "builtin-preview", n, size, response_format = "b64_json" })).EnsureSuccessStatusCode();
        (await client.PostAsJsonAsync("/api/v1/llm/images/generations", new { prompt = "x", model = "dall-e-3" })).Dispose(); // 503, no provider

        var usage = await JsonOf(await client.GetAsync("/api/v1/llm/usage?days=30"));
        var history = await JsonOf(await client.GetAsync("/api/v1/llm/credits/history?limit=200"));
        var settled = history.GetProperty("transactions").EnumerateArray()
            .Where(t => t.GetProperty("type").GetString() == "settle").Sum(t => -t.GetProperty("amount").GetDecimal());

        var totals = usage.GetProperty("totals");
        Assert.Equal(settled, totals.GetProperty("credits").GetDecimal());
        Assert.Equal(7.2m, settled);
        Assert.Equal(6, totals.GetProperty("images").GetInt64());
        Assert.Equal(3, totals.GetProperty("platform").GetProperty("requests").GetInt64());
        Assert.Equal(0, totals.GetProperty("byok").GetProperty("requests").GetInt64());
        var row = Assert.Single(usage.GetProperty("data").EnumerateArray());
        Assert.Equal("2026-11-23", row.GetProperty("day").GetString());
        Assert.Equal("builtin", row.GetProperty("provider").GetString());
        Assert.Equal("managed", row.GetProperty("tier").GetString());

        using var admin = _gateway.AdminClient();
        var forUser = await JsonOf(await admin.GetAsync($"/api/v1/admin/usage?days=7&user={userId}"));
        Assert.Equal(settled, forUser.GetProperty("totals").GetProperty("credits").GetDecimal());
        Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/api/v1/admin/usage")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync("/api/v1/llm/usage?days=0")).StatusCode);
    }

    [Fact]
    public async Task Usage_window_excludes_days_before_it()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 100m);
        using var client = _gateway.ClientWithKey(key);
        (await client.PostAsJsonAsync("/api/v1/llm/images/generations", new { prompt = "a", model = "builtin-preview", size = "256x256", response_format = "b64_json" })).EnsureSuccessStatusCode();
        _gateway.Time.Advance(TimeSpan.FromDays(3));

        var recent = await client.GetAsync("/api/v1/llm/usage?days=3");
        Assert.Equal(HttpStatusCode.OK, recent.StatusCode);
        Assert.Equal(0, (await JsonOf(recent)).GetProperty("totals").GetProperty("requests").GetInt64());
        Assert.Equal(1, (await JsonOf(await client.GetAsync("/api/v1/llm/usage?days=4"))).GetProperty("totals").GetProperty("requests").GetInt64());
    }

    [Theory]
    [InlineData("abc-123_X.y:z", true)]
    [InlineData("has space", false)]
    [InlineData("", false)]
    public async Task Request_id_echoes_a_valid_inbound_one_and_otherwise_makes_one(string inbound, bool echoed)
    {
        using var client = _gateway.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/healthz");
        if (inbound.Length > 0) request.Headers.TryAddWithoutValidation("x-request-id", inbound);

        var response = await client.SendAsync(request);

        var id = response.Headers.GetValues("x-request-id").Single();
        if (echoed) Assert.Equal(inbound, id);
        else Assert.StartsWith("req_", id);
    }

    [Fact]
    public async Task One_information_line_per_generate_with_outcome_cost_and_timings_and_never_the_prompt_or_key()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 100m);
        using var client = _gateway.ClientWithKey(key);
        const string prompt = "a very secret prompt about a purple walrus";
        (await client.PostAsJsonAsync("/api/v1/llm/images/generations", new { prompt, model = "builtin-preview", size = "256x256", response_format = "b64_json" }))
            .EnsureSuccessStatusCode();

        var informational = _gateway.Logs.Lines.Where(l => l.StartsWith("Information") || l.StartsWith("Warning") || l.StartsWith("Error")).ToArray();
        var line = Assert.Single(informational, l => l.Contains("generate account="));
        Assert.Contains("status=200", line);
        Assert.Contains("cost=1.2", line);
        Assert.Contains("total_ms=", line);
        Assert.Contains("upstream_ms=", line);
        Assert.DoesNotContain(informational, l => l.Contains("purple walrus"));
        Assert.DoesNotContain(informational, l => l.Contains(key));
    }

    [Fact]
    public async Task The_openapi_document_parses_and_lists_every_route_the_app_maps()
    {
        using var client = _gateway.CreateClient();
        using var first = await client.GetAsync("/openapi/v1.json");
        var document = await JsonOf(first);
        var paths = document.GetProperty("paths");

        var routes = _gateway.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.IExcludeFromDescriptionMetadata>() is not { ExcludeFromDescription: true })
            .Where(e => e.Metadata.GetMetadata<HttpMethodMetadata>() is not null)
            .Select(e => (Path: "/" + e.RoutePattern.RawText!.TrimStart('/'), Methods: e.Metadata.GetMetadata<HttpMethodMetadata>()!.HttpMethods))
            .Where(r => !r.Path.StartsWith("/openapi") && !r.Path.StartsWith("/docs") && r.Path != "/metrics")
            .ToArray();
        Assert.True(routes.Length > 40, $"only {routes.Length} routes found");
        foreach (var (path, methods) in routes)
        {
            Assert.True(paths.TryGetProperty(path.TrimEnd('/') is "" ? "/" : path.TrimEnd('/'), out var item) || paths.TryGetProperty(path, out item),
                $"{path} is mapped but not in the OpenAPI document");
            foreach (var method in methods)
                Assert.True(item.TryGetProperty(method.ToLowerInvariant(), out _), $"{method} {path} is mapped but not documented");
        }

        var generate = paths.GetProperty("/v1/images/generations").GetProperty("post");
        Assert.True(generate.GetProperty("requestBody").GetProperty("content").TryGetProperty("application/json", out _));
        var responses = generate.GetProperty("responses");
        Assert.True(responses.GetProperty("200").GetProperty("content").GetProperty("application/json").TryGetProperty("schema", out _));
        foreach (var status in new[] { "400", "401", "402", "429", "503" })
            Assert.True(responses.TryGetProperty(status, out _), $"generate does not document {status}");
        Assert.True(document.GetProperty("components").GetProperty("schemas").TryGetProperty("ErrorBody", out _));

        // Each operation lists the answers it really gives: reading credits cannot be a 413 or a 502.
        var credits = paths.GetProperty("/v1/credits").GetProperty("get").GetProperty("responses");
        Assert.Equal(["200", "401"], credits.EnumerateObject().Select(r => r.Name).Order().ToArray());
        Assert.True(credits.GetProperty("200").GetProperty("content").GetProperty("application/json").TryGetProperty("schema", out _));
        var adminUser = paths.GetProperty("/api/v1/admin/users/{id}").GetProperty("get").GetProperty("responses");
        Assert.Equal(["200", "401", "403", "404"], adminUser.EnumerateObject().Select(r => r.Name).Order().ToArray());

        // Built once, then served from the output cache (which marks its answers with an Age header).
        Assert.False(first.Headers.Contains("Age"));
        using var again = await client.GetAsync("/openapi/v1.json");
        Assert.True(again.Headers.Contains("Age"), "the second fetch of the OpenAPI document was built again");
        Assert.Equal(document.GetRawText(), (await JsonOf(again)).GetRawText());

        var docs = await client.GetAsync("/docs/");
        Assert.Equal(HttpStatusCode.OK, docs.StatusCode);
        Assert.Contains("openapi/v1.json", await docs.Content.ReadAsStringAsync());
    }
}
