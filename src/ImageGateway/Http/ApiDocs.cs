namespace ImageGateway.Http;

/// <summary>OpenAPI metadata: the error responses every API endpoint may answer, in the one error shape.</summary>
public static class ApiDocs
{
    private static readonly int[] ErrorStatuses = [400, 401, 402, 403, 404, 413, 422, 429, 502, 503, 504];

    public static TBuilder WithErrorResponses<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
    {
        foreach (var status in ErrorStatuses)
            builder.WithMetadata(new ProducesResponseTypeMetadata(status, typeof(ErrorBody), ["application/json"]));
        return builder;
    }

    /// <summary>The JSON body an endpoint answers on success.</summary>
    public static RouteHandlerBuilder Returns<T>(this RouteHandlerBuilder builder, int status = StatusCodes.Status200OK) =>
        builder.Produces<T>(status, "application/json");
}
