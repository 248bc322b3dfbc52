using Microsoft.AspNetCore.Http;

namespace ImageGateway.Tests.Support;

/// <summary>
/// An Azure OpenAI resource as docs/PROVIDERS.md records it: OpenAI's images wire (answered by
/// <see cref="FakeGptImage"/>) at <c>/openai/deployments/{deployment}/images/generations?api-version=…</c>
/// or <c>/openai/v1/images/generations?api-version=preview</c>, the key in <c>api-key</c>, and Azure's
/// own errors: 401 with <c>code: "401"</c>, 404 DeploymentNotFound, the content filter's 400.
/// </summary>
public sealed class FakeAzureOpenAi
{
    public const string PlatformKey = "0123456789abcdef0123456789abcdef";

    public HashSet<string> Keys { get; } = [PlatformKey];

    public HashSet<string> Deployments { get; } = ["gpt-image-2"];

    public FakeGptImage Images { get; } = new();

    /// <summary>Answer the next generations with Azure's content-filter refusal.</summary>
    public bool ContentFilter { get; set; }

    public Task Handle(HttpContext context, RecordedRequest request)
    {
        if (!Keys.Contains(request.Headers.GetValueOrDefault("api-key") ?? ""))
            return FakeUpstream.Json(context, 401, """{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}""");
        var path = context.Request.Path.Value ?? "";
        var version = context.Request.Query["api-version"].ToString();
        if (HttpMethods.IsGet(request.Method) && (path == "/openai/models" || path == "/openai/v1/models") && version.Length > 0)
            return FakeUpstream.Json(context, 200, """{"data":[{"id":"gpt-image-2","status":"succeeded","object":"model"}],"object":"list"}""");
        var deployment = path.StartsWith("/openai/deployments/", StringComparison.Ordinal) ? path.Split('/')[3]
            : path == "/openai/v1/images/generations" && version == "preview" ? System.Text.Json.JsonDocument.Parse(request.Body).RootElement.GetProperty("model").GetString()
            : null;
        if (version.Length == 0 || deployment is null)
            return FakeUpstream.Json(context, 404, """{"error":{"code":"404","message":"Resource not found"}}""");
        if (!Deployments.Contains(deployment))
            return FakeUpstream.Json(context, 404, """{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again."}}""");
        if (ContentFilter)
            return FakeUpstream.Json(context, 400, """{"error":{"code":"content_policy_violation","inner_error":{"code":"ResponsibleAIPolicyViolation","content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":true,"severity":"high"}}},"message":"Your request was rejected as a result of our safety system. Your prompt may contain text that is not allowed by our safety system.","type":"invalid_request_error"}}""");
        context.Request.Path = "/v1/images/generations"; // the rest is OpenAI's wire
        return Images.AnswerAsync(context, request);
    }
}
