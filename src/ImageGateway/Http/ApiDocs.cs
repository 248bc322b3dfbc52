using ImageGateway.Accounts;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace ImageGateway.Http;

/// <summary>OpenAPI metadata: the error answers an operation really gives, and the bearer scheme the keyed ones need.</summary>
public static class ApiDocs
{
    public const string BearerScheme = "bearer";

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
}
