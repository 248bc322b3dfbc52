namespace ImageGateway.Http;

/// <summary>OpenAPI metadata for the error answers an operation really gives, all in the one error shape.</summary>
public static class ApiDocs
{
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
}
