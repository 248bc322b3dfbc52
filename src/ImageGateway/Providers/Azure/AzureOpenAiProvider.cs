using System.Net.Http.Headers;
using ImageGateway.Providers.OpenAi;

namespace ImageGateway.Providers.Azure;

/// <summary>
/// Azure OpenAI: OpenAI's Images API on a customer's resource. A catalog model routes to a
/// deployment (the route's upstream model), called at
/// <c>{endpoint}/openai/deployments/{deployment}/images/generations?api-version={ApiVersion}</c>,
/// or, with <c>ApiVersion</c> <c>v1</c>, at <c>{endpoint}/openai/v1/images/generations</c> with the
/// deployment as <c>model</c>. The key goes in the <c>api-key</c> header. Bodies, answers and errors
/// are OpenAI's (<see cref="OpenAiProvider"/>), plus Azure's content-filter error.
/// </summary>
public sealed class AzureOpenAiProvider : IImageProvider
{
    /// <summary>The API version of deployment calls when none is configured (it has gpt-image models and their fields).</summary>
    public const string DefaultApiVersion = "2025-04-01-preview";

    public string Kind => "azure";

    /// <summary>A resource has no default endpoint: it needs both.</summary>
    public bool IsConfigured(ProviderCredential credential) => credential.ApiKey is not null && credential.BaseUrl is not null;

    public int MaxImagesPerCall(string upstreamModel) => upstreamModel.Contains("dall-e-3", StringComparison.OrdinalIgnoreCase) ? 1 : 10;

    public string HowToEnable(string providerName) =>
        $"Gateway__Providers__{providerName}__BaseUrl (https://<resource>.openai.azure.com) and "
        + ProviderCredential.KeySettings(providerName, Kind, "AZURE_OPENAI_API_KEY");

    /// <summary>A deployment of a GPT-image model takes edits as OpenAI's does; its name need not say so, so any deployment may.</summary>
    public bool CanEdit(string upstreamModel) => !upstreamModel.Contains("dall-e", StringComparison.OrdinalIgnoreCase);

    public async Task<ProviderResult> GenerateAsync(ImageJob job, ProviderCredential credential, CancellationToken ct)
    {
        var url = Url(credential, job.UpstreamModel, job.IsEdit ? "edits" : "generations");
        var content = job.IsEdit ? UpstreamClient.FormBody(OpenAiEdits.Form(job, stream: false)) : UpstreamClient.JsonBody(OpenAiProvider.RequestBody(job));
        var sent = await credential.Http.SendAsync(() => Request(HttpMethod.Post, url, credential, content()), ct, OpenAiProvider.IsOutOfQuotaAsync);
        return await OpenAiProvider.ReadAnswerAsync(sent, credential, Kind, ct);
    }

    /// <summary>Lists the resource's models: answers only with a key the resource accepts.</summary>
    public async Task<KeyCheck> CheckKeyAsync(ProviderCredential credential, CancellationToken ct)
    {
        var v1 = IsV1(credential);
        var url = v1 ? $"{credential.BaseUrl}/openai/v1/models" : $"{credential.BaseUrl}/openai/models?api-version={ApiVersion(credential)}";
        return await KeyCheck.ByRequestAsync(credential, () => Request(HttpMethod.Get, url, credential, null), Kind, ct);
    }

    internal static string Url(ProviderCredential credential, string deployment, string operation) =>
        IsV1(credential)
            ? $"{credential.BaseUrl}/openai/v1/images/{operation}?api-version=preview"
            : $"{credential.BaseUrl}/openai/deployments/{Uri.EscapeDataString(deployment)}/images/{operation}?api-version={Uri.EscapeDataString(ApiVersion(credential))}";

    private static bool IsV1(ProviderCredential credential) => ApiVersion(credential).Equals("v1", StringComparison.OrdinalIgnoreCase);

    private static string ApiVersion(ProviderCredential credential) =>
        string.IsNullOrWhiteSpace(credential.Http.Options.ApiVersion) ? DefaultApiVersion : credential.Http.Options.ApiVersion.Trim();

    private static HttpRequestMessage Request(HttpMethod method, string url, ProviderCredential credential, HttpContent? content)
    {
        var request = new HttpRequestMessage(method, url) { Content = content };
        request.Headers.TryAddWithoutValidation("api-key", credential.ApiKey);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return request;
    }
}
