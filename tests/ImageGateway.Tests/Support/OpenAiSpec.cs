using System.Collections.Concurrent;
using System.Text.Json;
using Json.Schema;

namespace ImageGateway.Tests.Support;

/// <summary>
/// Validates JSON against a schema of OpenAI's own spec (<c>tests/Shared/openai-images-openapi.json</c>,
/// OpenAPI 3.1, unchanged) with JsonSchema.Net. The whole document is registered under one URI, and a
/// schema name becomes <c>{"$ref": "&lt;uri&gt;#/components/schemas/&lt;name&gt;"}</c>, so the spec's own
/// <c>#/components/schemas/…</c> refs resolve inside it. OpenAPI-only keywords (<c>nullable</c>,
/// <c>discriminator</c>, <c>x-oai*</c>) and unknown formats (<c>unixtime</c>) are annotations in
/// 2020-12; extra properties are allowed wherever the spec does not forbid them (<c>_metadata</c>).
/// </summary>
public static class OpenAiSpec
{
    public const string FileName = "openai-images-openapi.json";

    private static readonly Uri DocumentUri = new("https://openai-images.spec.test/openai-images-openapi.json");

    private static readonly Lazy<(JsonDocument Document, BuildOptions Options)> Spec = new(Load);

    private static readonly ConcurrentDictionary<string, JsonSchema> Schemas = new(StringComparer.Ordinal);

    private static readonly Lock BuildLock = new();

    /// <summary>The spec as a document, for reading its examples.</summary>
    public static JsonElement Root => Spec.Value.Document.RootElement;

    /// <summary>Every way <paramref name="json"/> breaks <c>components/schemas/<paramref name="schemaName"/></c>, as "instance path: message".</summary>
    public static IReadOnlyList<string> Errors(string json, string schemaName)
    {
        using var instance = JsonDocument.Parse(json);
        var results = SchemaFor(schemaName).Evaluate(instance.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (results.IsValid) return [];
        var errors = new List<string>();
        foreach (var node in (results.Details ?? []).Prepend(results))
        {
            if (node.Errors is null) continue;
            var at = node.InstanceLocation.ToString();
            foreach (var (keyword, message) in node.Errors)
                errors.Add($"{(at.Length == 0 ? "(root)" : at)}: {message} [{keyword} at {node.EvaluationPath}]");
        }
        // A failed result always names at least one error; say so plainly if a version ever does not.
        return errors.Count > 0 ? errors : [$"(root): invalid against {schemaName}, with no error detail"];
    }

    /// <summary>Fails the test, listing every error, unless <paramref name="json"/> is valid against the named schema.</summary>
    public static void AssertValid(string json, string schemaName)
    {
        var errors = Errors(json, schemaName);
        Assert.True(errors.Count == 0, $"Not a valid {schemaName} per OpenAI's spec:\n  {string.Join("\n  ", errors)}\nJSON: {Shorten(json)}");
    }

    private static JsonSchema SchemaFor(string schemaName) => Schemas.GetOrAdd(schemaName, name =>
    {
        var (document, options) = Spec.Value;
        if (!document.RootElement.GetProperty("components").GetProperty("schemas").TryGetProperty(name, out _))
            throw new ArgumentException($"The spec has no components/schemas/{name}.", nameof(schemaName));
        // Building registers the schema in the shared registry; one build at a time.
        lock (BuildLock)
        {
            var reference = $$"""{"$schema":"https://json-schema.org/draft/2020-12/schema","$ref":"{{DocumentUri}}#/components/schemas/{{name}}"}""";
            return JsonSchema.FromText(reference, options, new Uri($"https://openai-images.spec.test/check/{name}"));
        }
    });

    private static (JsonDocument, BuildOptions) Load()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Support", FileName);
        var document = JsonDocument.Parse(File.ReadAllBytes(path));
        var registry = new SchemaRegistry();
        registry.Register(DocumentUri, new JsonElementBaseDocument(document.RootElement, DocumentUri));
        return (document, new BuildOptions { SchemaRegistry = registry, Dialect = Dialect.Draft202012 });
    }

    private static string Shorten(string json) => json.Length <= 600 ? json : json[..600] + "…";
}
