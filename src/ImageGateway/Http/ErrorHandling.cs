using Microsoft.AspNetCore.Diagnostics;

namespace ImageGateway.Http;

public static partial class ErrorHandling
{
    /// <summary>
    /// Accepts the doubled slash legacy python <c>openai&lt;1.0</c> produces from a base URL with a
    /// trailing slash (<c>/api/v1/llm//images/generations</c>).
    /// </summary>
    public static IApplicationBuilder UseSlashCollapsing(this IApplicationBuilder app) =>
        app.Use((context, next) =>
        {
            var path = context.Request.Path.Value;
            if (path is not null && path.Contains("//", StringComparison.Ordinal))
            {
                var collapsed = new System.Text.StringBuilder(path.Length);
                foreach (var c in path)
                    if (c != '/' || collapsed.Length == 0 || collapsed[^1] != '/') collapsed.Append(c);
                // The constructor, not the implicit conversion: Path is already decoded, and decoding
                // it again would turn an escaped "%2500" into a NUL and throw.
                context.Request.Path = new PathString(collapsed.ToString());
            }
            return next(context);
        });

    /// <summary>
    /// Refuses a request whose Host (after any trusted forwarded headers) is not in AllowedHosts,
    /// so a forged one never reaches an image URL. Patterns as ASP.NET Core's host filtering takes
    /// them (<c>example.com</c>, <c>*.example.com</c>), ports ignored.
    /// </summary>
    public static IApplicationBuilder UseAllowedHosts(this IApplicationBuilder app, IReadOnlyList<string> hosts)
    {
        var patterns = hosts.Select(h => new Microsoft.Extensions.Primitives.StringSegment(h)).ToArray();
        return app.Use((context, next) =>
            HostString.MatchesAny(context.Request.Host.Host, patterns)
                ? next(context)
                : new ApiError(400, "invalid_request_error", "invalid_host",
                    "The request's Host is not one this gateway serves (AllowedHosts).").ExecuteAsync(context));
    }

    /// <summary>
    /// Turns everything that is not a handler's own answer into the DESIGN §1.3 error body: binding
    /// failures (bad JSON, wrong types) become 400, oversize bodies 413, unknown routes 404, and a
    /// genuine bug a 500 that shows no stack trace.
    /// </summary>
    public static IApplicationBuilder UseApiErrors(this IApplicationBuilder app)
    {
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            StatusCodeSelector = e => e is BadHttpRequestException b ? b.StatusCode
                : IsUnknownCharset(e) ? StatusCodes.Status415UnsupportedMediaType
                : e is System.Data.Common.DbException { IsTransient: true } or TimeoutException ? StatusCodes.Status503ServiceUnavailable
                : StatusCodes.Status500InternalServerError,
            ExceptionHandler = async context =>
            {
                var exception = context.Features.Get<IExceptionHandlerFeature>()?.Error;
                var error = exception switch
                {
                    BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } =>
                        new ApiError(413, "invalid_request_error", "request_too_large", "Request body is too large."),
                    BadHttpRequestException b => Describe(b),
                    _ when IsUnknownCharset(exception) => new ApiError(415, "invalid_request_error", "unsupported_media_type",
                        "The Content-Type charset is not a known encoding. Send the body as application/json in UTF-8."),
                    // A saturated or briefly unreachable database (e.g. PostgreSQL's connection pool exhausted under a
                    // burst): retryable, and money-safe — a failed reserve holds nothing, an unsettled hold is released.
                    System.Data.Common.DbException { IsTransient: true } or TimeoutException =>
                        new ApiError(503, "api_error", "service_busy",
                            "The gateway is overloaded right now; retry shortly. No credits were charged for this request.")
                            .WithHeader("Retry-After", "1"),
                    _ => ApiError.Internal("The gateway hit an internal error. No credits were charged for a request that failed."),
                };
                await error.ExecuteAsync(context);
            },
        });

        app.UseStatusCodePages(async context =>
        {
            var response = context.HttpContext.Response;
            if (response.HasStarted || response.ContentLength > 0 || response.ContentType is not null) return;
            var path = context.HttpContext.Request.Path;
            var error = response.StatusCode switch
            {
                404 => ApiError.NotFound($"No route matches {context.HttpContext.Request.Method} {path}."),
                405 => ApiError.MethodNotAllowed($"{context.HttpContext.Request.Method} is not allowed on {path}."),
                415 => new ApiError(415, "invalid_request_error", "unsupported_media_type", "Send the body as application/json."),
                400 when UnparsableQueryParameter(context.HttpContext) is { } name => InvalidParameter(name),
                var status => new ApiError(status, "invalid_request_error", null, $"Request failed with status {status}."),
            };
            await error.ExecuteAsync(context.HttpContext);
        });
        return app;
    }

    /// <summary>
    /// Says which field or parameter was wrong in the client's terms, without the framework's
    /// internal type names.
    /// </summary>
    private static ApiError InvalidParameter(string name) => ApiError.Invalid(name, $"Parameter '{name}' has an invalid value.");

    /// <summary>
    /// The compile-time request delegates answer a bare 400, without an exception, when an optional
    /// number in the query does not parse; this finds which one, so the error still names it.
    /// </summary>
    private static string? UnparsableQueryParameter(HttpContext context)
    {
        var parameters = context.GetEndpoint()?.Metadata.GetOrderedMetadata<Microsoft.AspNetCore.Http.Metadata.IParameterBindingMetadata>() ?? [];
        foreach (var parameter in parameters)
        {
            if (!parameter.HasTryParse || context.Request.Query[parameter.Name] is not { Count: > 0 } raw || string.IsNullOrEmpty(raw)) continue;
            var type = Nullable.GetUnderlyingType(parameter.ParameterInfo.ParameterType) ?? parameter.ParameterInfo.ParameterType;
            var value = raw.ToString();
            var parses = type == typeof(int) ? int.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out _)
                : type == typeof(long) ? long.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, out _)
                : type == typeof(bool) ? bool.TryParse(value, out _)
                : true;
            if (!parses) return parameter.Name;
        }
        return null;
    }

    private static ApiError Describe(BadHttpRequestException e)
    {
        if (e.InnerException is System.Text.Json.JsonException json)
        {
            var field = json.Path is { Length: > 2 } path && path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : null;
            var wrongType = json.Message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal);
            return field is null || !wrongType
                ? ApiError.BadJson("Request body is not valid JSON for this endpoint.")
                : ApiError.WrongType(field, $"Request body field '{field}' has the wrong type or format.");
        }
        var binding = BindFailure().Match(e.Message);
        if (binding.Success)
            return InvalidParameter(binding.Groups[1].Value);
        if (e.Message.Contains("request body", StringComparison.OrdinalIgnoreCase))
            return ApiError.BadJson("Request body is missing or is not valid JSON.");
        return new ApiError(e.StatusCode, "invalid_request_error", "bad_request", "The request could not be read.");
    }

    /// <summary>
    /// The framework's JSON body binding throws a plain InvalidOperationException (not a bad-request
    /// one) for <c>Content-Type: application/json; charset=bogus</c>; that is the client's fault, not ours.
    /// </summary>
    private static bool IsUnknownCharset(Exception? e) =>
        e is InvalidOperationException { InnerException: ArgumentException }
        && e.TargetSite?.DeclaringType == typeof(HttpRequestJsonExtensions);

    [System.Text.RegularExpressions.GeneratedRegex("""parameter "(?:[^"]* )?(\w+)" from""")]
    private static partial System.Text.RegularExpressions.Regex BindFailure();
}
