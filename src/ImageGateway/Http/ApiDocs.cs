using ImageGateway.Accounts;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace ImageGateway.Http;

/// <summary>OpenAPI metadata: the error answers an operation really gives, and the bearer scheme the keyed ones need.</summary>
public static class ApiDocs
{
    public const string BearerScheme = "bearer";

    /// <summary>The reference page's groups: what a caller wants to do, not which class answers.</summary>
    public static class Tags
    {
        public const string Images = "Images";
        public const string Models = "Models & pricing";
        public const string Money = "Credits & usage";
        public const string History = "History";
        public const string Keys = "API keys";
        public const string Byok = "BYOK";
        public const string Files = "Files";
        public const string Limits = "Limits";
        public const string Admin = "Admin";
        public const string Health = "Health";

        public static readonly (string Name, string Description)[] All =
        [
            (Images, "Generate, edit and vary images (OpenAI-compatible), and price a request before sending it."),
            (Models, "The models this gateway serves, their sizes and options, and what they cost at your tier."),
            (Money, "Your balance, the ledger behind it, and your spend per day and model."),
            (History, "Your past requests with their parameters, outcome and (while they live) images."),
            (Keys, "Create, list and revoke your own gateway keys."),
            (Byok, "Keys of your own for an upstream provider: requests on them cost no credits."),
            (Files, "Stored images behind signed URLs. No key: the signature is the permission."),
            (Limits, "Your rate limits and monthly cap, and how much of each is left."),
            (Admin, "Accounts, credits, limits, providers and usage of every account. Needs an admin key."),
            (Health, "Liveness and readiness probes. No key."),
        ];
    }

    /// <summary>
    /// Lists <paramref name="statuses"/> as this operation's error answers. 401 (and 403 for admin
    /// routes) come from <c>RequireGatewayKey</c>; success types come from the handler's return type.
    /// </summary>
    public static TBuilder ProducesErrors<TBuilder>(this TBuilder builder, params int[] statuses) where TBuilder : IEndpointConventionBuilder
    {
        foreach (var status in statuses)
            builder.WithMetadata(new ProducesResponseTypeMetadata(status, typeof(ErrorBody), ["application/json"]));
        return builder;
    }

    /// <summary>
    /// Declares the bearer scheme and applies it to every operation that takes a key, so the
    /// reference page's "Test request" sends the key. Summaries, descriptions and field texts come
    /// from the XML comments of handlers and DTOs (the OpenAPI source generator).
    /// </summary>
    public static OpenApiOptions AddGatewayDocs(this OpenApiOptions options)
    {
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "ImageGateway API";
            document.Info.Description = "OpenAI-compatible image generation with prepaid credits. Authenticate with 'Authorization: Bearer <key>'. "
                + "Money is in credits (1 credit = $0.001); every path under /api/v1/llm is also served under /v1.";
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[BearerScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                BearerFormat = "uc_…",
                Description = "A gateway API key (uc_…). Admin operations need an admin key.",
            };
            document.Tags = Tags.All.Select(t => new OpenApiTag { Name = t.Name, Description = t.Description }).ToHashSet();
            HoistNullableDescriptions(document);
            return Task.CompletedTask;
        });
        options.AddSchemaTransformer((schema, context, _) =>
        {
            // b64_json is written by Base64ImageConverter as one base64 string, not as the object the type is.
            if (context.JsonTypeInfo.Type == typeof(Providers.GeneratedImage))
            {
                schema.Type = JsonSchemaType.String;
                schema.Properties?.Clear();
                schema.Required?.Clear();
                schema.Description = "The image file, base64-encoded (no data: prefix).";
            }
            return Task.CompletedTask;
        });
        options.AddOperationTransformer((operation, context, _) =>
        {
            if (context.Description.ActionDescriptor.EndpointMetadata.OfType<RequireKeyMetadata>().Any())
                operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(BearerScheme, context.Document)] = [] }];
            return Task.CompletedTask;
        });
        return options;
    }

    /// <summary>
    /// A nullable object property comes out as <c>oneOf: [null, $ref]</c> with the XML text on the
    /// <c>$ref</c> branch, where Scalar does not show it: moved up onto the property.
    /// </summary>
    private static void HoistNullableDescriptions(OpenApiDocument document)
    {
        foreach (var schema in document.Components?.Schemas?.Values ?? [])
            foreach (var property in schema.Properties?.Values ?? [])
            {
                if (property is not OpenApiSchema { Description: null or "", OneOf: { } branches } nullable) continue;
                if (branches.Select(b => b.Description).FirstOrDefault(d => !string.IsNullOrEmpty(d)) is { } text)
                    nullable.Description = text;
            }
    }
}
