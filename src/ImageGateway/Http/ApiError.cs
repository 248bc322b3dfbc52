using System.Text.Json.Serialization;

namespace ImageGateway.Http;

/// <summary>
/// The one error shape (DESIGN §1.3): <c>error</c> for the OpenAI SDKs, <c>detail</c> for the
/// brief's own clients. Every failure the gateway answers goes through here.
/// </summary>
public sealed class ApiError(int status, string type, string? code, string message, string? param = null) : IResult
{
    public int Status { get; } = status;
    public string Type { get; } = type;
    public string? Code { get; } = code;
    public string Message { get; } = message;
    public string? Param { get; } = param;
    public List<KeyValuePair<string, string>> Headers { get; } = [];

    public ApiError WithHeader(string name, string value)
    {
        Headers.Add(new(name, value));
        return this;
    }

    public ErrorBody ToBody() => new(new ErrorDetail(Message, Type, Param, Code), Message);

    public async Task ExecuteAsync(HttpContext context)
    {
        var response = context.Response;
        response.StatusCode = Status;
        foreach (var (name, value) in Headers) response.Headers[name] = value;
        await response.WriteAsJsonAsync(ToBody(), GatewayJson.Context.ErrorBody, contentType: "application/json", context.RequestAborted);
    }

    public static ApiError Invalid(string param, string message) => new(400, "invalid_request_error", "invalid_value", message, param);
    public static ApiError Missing(string param, string message) => new(400, "invalid_request_error", "missing_required_parameter", message, param);
    public static ApiError WrongType(string param, string message) => new(400, "invalid_request_error", "invalid_type", message, param);
    public static ApiError BadJson(string message) => new(400, "invalid_request_error", "invalid_json", message);
    public static ApiError ContentPolicy(string message) => new(400, "invalid_request_error", "content_policy_violation", message);

    public static ApiError Unauthorized(string message) =>
        new ApiError(401, "authentication_error", "invalid_api_key", message).WithHeader("WWW-Authenticate", "Bearer");

    public static ApiError InsufficientCredits(string message) => new(402, "insufficient_quota", "insufficient_credits", message);
    public static ApiError Forbidden(string message, string code = "forbidden") => new(403, "permission_error", code, message);
    public static ApiError NotFound(string message) => new(404, "not_found_error", "not_found", message);
    public static ApiError MethodNotAllowed(string message) => new(405, "invalid_request_error", "method_not_allowed", message);
    public static ApiError TooLarge(long limit) =>
        new(413, "invalid_request_error", "request_too_large", $"Request body is larger than the {limit} byte limit.");

    // 5xx that must not be retried carry x-should-retry: false (npm openai honours it).
    public static ApiError NoProvider(string message) =>
        new ApiError(503, "api_error", "no_provider", message).WithHeader("x-should-retry", "false");

    public static ApiError Upstream(string message) => new(502, "api_error", "upstream_error", message);
    public static ApiError UpstreamTimeout(string message) => new(504, "api_error", "upstream_timeout", message);
    public static ApiError Internal(string message) => new(500, "api_error", "internal_error", message);
}

/// <param name="Error">The error, in OpenAI's shape.</param>
/// <param name="Detail">The message again, for clients that read <c>detail</c>.</param>
public sealed record ErrorBody(ErrorDetail Error, string Detail);

/// <param name="Message">What went wrong and what to do, for a person.</param>
/// <param name="Type">OpenAI's error type (e.g. <c>invalid_request_error</c>, <c>insufficient_quota</c>).</param>
/// <param name="Param">The request field at fault; null when none.</param>
/// <param name="Code">A stable code to branch on (e.g. <c>insufficient_credits</c>); null when none.</param>
public sealed record ErrorDetail(
    string Message,
    string Type,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Param,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Code);
