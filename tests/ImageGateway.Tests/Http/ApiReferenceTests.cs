using System.Text.Json;
using System.Text.RegularExpressions;
using ImageGateway.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace ImageGateway.Tests.Http;

/// <summary>The reference at /docs: every operation and field explained, grouped by capability, keyed ones send the key, nothing from elsewhere.</summary>
public sealed partial class ApiReferenceTests : IClassFixture<ApiReferenceTests.Document>
{
    /// <summary>One gateway and one fetch of the document for all the checks.</summary>
    public sealed class Document : IDisposable
    {
        public GatewayFactory Gateway { get; } = new();
        public JsonElement Root { get; }

        public Document()
        {
            using var client = Gateway.CreateClient();
            var text = client.GetStringAsync("/openapi/v1.json").GetAwaiter().GetResult();
            Root = JsonDocument.Parse(text).RootElement.Clone();
        }

        public IEnumerable<(string Name, JsonElement Operation)> Operations() =>
            from path in Root.GetProperty("paths").EnumerateObject()
            from method in path.Value.EnumerateObject()
            where method.Name is "get" or "post" or "put" or "patch" or "delete"
            select ($"{method.Name.ToUpperInvariant()} {path.Name}", method.Value);

        public void Dispose() => Gateway.Dispose();
    }

    private readonly Document _doc;

    public ApiReferenceTests(Document doc) => _doc = doc;

    private static string Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : "";

    [Fact]
    public void The_document_has_a_title_and_a_description()
    {
        var info = _doc.Root.GetProperty("info");
        Assert.Equal("ImageGateway API", Text(info, "title"));
        Assert.NotEmpty(Text(info, "description"));
    }

    [Fact]
    public void Every_operation_has_a_summary_and_a_description()
    {
        var operations = _doc.Operations().ToArray();
        Assert.True(operations.Length > 40, $"only {operations.Length} operations");
        var offenders = operations
            .Where(o => string.IsNullOrWhiteSpace(Text(o.Operation, "summary")) || string.IsNullOrWhiteSpace(Text(o.Operation, "description")))
            .Select(o => o.Name).ToArray();
        Assert.True(offenders.Length == 0, "no summary or description: " + string.Join(", ", offenders));
    }

    [Fact]
    public void Operations_are_grouped_by_capability_not_by_class()
    {
        var classNames = typeof(Program).Assembly.GetTypes().Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var untagged = new List<string>();
        var byClass = new List<string>();
        foreach (var (name, operation) in _doc.Operations())
        {
            var tags = operation.TryGetProperty("tags", out var t) ? t.EnumerateArray().Select(x => x.GetString()!).ToArray() : [];
            if (tags.Length == 0) untagged.Add(name);
            byClass.AddRange(tags.Where(classNames.Contains).Select(tag => $"{name} ({tag})"));
        }
        Assert.True(untagged.Count == 0, "no tag: " + string.Join(", ", untagged));
        Assert.True(byClass.Count == 0, "tagged with a class name: " + string.Join(", ", byClass));
    }

    [Fact]
    public void Keyed_operations_declare_the_bearer_scheme_and_public_ones_do_not()
    {
        var scheme = _doc.Root.GetProperty("components").GetProperty("securitySchemes").GetProperty("bearer");
        Assert.Equal("http", Text(scheme, "type"));
        Assert.Equal("bearer", Text(scheme, "scheme"));

        var keyed = KeyedRoutes();
        Assert.True(keyed.Count > 30, $"only {keyed.Count} keyed routes");
        var missing = new List<string>();
        var extra = new List<string>();
        foreach (var (name, operation) in _doc.Operations())
        {
            var secured = operation.TryGetProperty("security", out var security)
                && security.EnumerateArray().Any(r => r.TryGetProperty("bearer", out _));
            if (keyed.Contains(name) && !secured) missing.Add(name);
            if (!keyed.Contains(name) && secured) extra.Add(name);
        }
        Assert.True(missing.Count == 0, "keyed but no bearer requirement: " + string.Join(", ", missing));
        Assert.True(extra.Count == 0, "public but asks for a key: " + string.Join(", ", extra));
        foreach (var open in new[] { "GET /health", "GET /ready" })
            Assert.DoesNotContain(open, keyed);
    }

    /// <summary>The routes that carry the key requirement, as "METHOD /path" (the document's spelling).</summary>
    private HashSet<string> KeyedRoutes()
    {
        var endpoints = _doc.Gateway.Services.GetRequiredService<Microsoft.AspNetCore.Routing.EndpointDataSource>().Endpoints
            .OfType<Microsoft.AspNetCore.Routing.RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<ImageGateway.Accounts.RequireKeyMetadata>() is not null);
        return endpoints
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? [])
                .Select(m => $"{m} /{e.RoutePattern.RawText!.Trim('/')}"))
            .ToHashSet();
    }

    [Fact]
    public void Every_field_of_every_schema_has_a_description()
    {
        var offenders = new List<string>();
        foreach (var schema in _doc.Root.GetProperty("components").GetProperty("schemas").EnumerateObject())
        {
            if (!schema.Value.TryGetProperty("properties", out var properties)) continue;
            foreach (var property in properties.EnumerateObject())
                if (string.IsNullOrWhiteSpace(Text(property.Value, "description")))
                    offenders.Add($"{schema.Name}.{property.Name}");
        }
        Assert.True(offenders.Count == 0, $"{offenders.Count} fields without a description: " + string.Join(", ", offenders));
    }

    [Fact]
    public async Task The_reference_page_loads_nothing_from_another_origin()
    {
        using var client = _doc.Gateway.CreateClient();
        using var response = await client.GetAsync("/docs/");
        response.EnsureSuccessStatusCode();
        var html = await response.Content.ReadAsStringAsync();
        var foreign = AbsoluteUrl().Matches(html).Select(m => m.Value)
            .Where(u => !u.StartsWith("http://localhost", StringComparison.OrdinalIgnoreCase))
            .Distinct().ToArray();
        Assert.True(foreign.Length == 0, "the /docs page refers to: " + string.Join(", ", foreign));
        Assert.Contains("openapi/v1.json", html);
        Assert.Contains("default-src 'self'", response.Headers.GetValues("Content-Security-Policy").Single());
    }

    [GeneratedRegex(@"https?://[^\s""'<>)]+", RegexOptions.IgnoreCase)]
    private static partial Regex AbsoluteUrl();
}
