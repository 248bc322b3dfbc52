using System.Text.Json.Serialization;
using ImageGateway.Accounts;
using ImageGateway.Billing;
using ImageGateway.Catalog;
using ImageGateway.Generation;

namespace ImageGateway.Http;

/// <summary>Source-generated System.Text.Json metadata for every type the API reads or writes (snake_case).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(ErrorBody))]
[JsonSerializable(typeof(ImagesResponse))]
[JsonSerializable(typeof(ImageStreamEvent))]
[JsonSerializable(typeof(StreamError))]
[JsonSerializable(typeof(EstimateResponse))]
[JsonSerializable(typeof(ModelCatalogResponse))]
[JsonSerializable(typeof(OpenAiModelList))]
[JsonSerializable(typeof(OpenAiModel))]
[JsonSerializable(typeof(CreditsResponse))]
[JsonSerializable(typeof(TransactionsResponse))]
[JsonSerializable(typeof(CreateKeyRequest))]
[JsonSerializable(typeof(CreatedKeyDto))]
[JsonSerializable(typeof(KeyListResponse))]
[JsonSerializable(typeof(RevokedKeyResponse))]
[JsonSerializable(typeof(CreateUserRequest))]
[JsonSerializable(typeof(UpdateUserRequest))]
[JsonSerializable(typeof(CreditAdjustmentRequest))]
[JsonSerializable(typeof(CreatedUserResponse))]
[JsonSerializable(typeof(UserListResponse))]
[JsonSerializable(typeof(UserDetailResponse))]
[JsonSerializable(typeof(CreditAdjustmentResponse))]
[JsonSerializable(typeof(ImageGateway.Providers.ProviderStatusList))]
[JsonSerializable(typeof(ImageGateway.Byok.ByokKeyRequest))]
[JsonSerializable(typeof(LimitsRequest))]
[JsonSerializable(typeof(GenerateRequestBody))]
[JsonSerializable(typeof(ImageGateway.Usage.UsageResponse))]
[JsonSerializable(typeof(LimitsResponse))]
[JsonSerializable(typeof(ImageGateway.RateLimits.LimitsStatus))]
[JsonSerializable(typeof(ImageGateway.Byok.ByokToggleRequest))]
[JsonSerializable(typeof(ImageGateway.Byok.ByokKeyDto))]
[JsonSerializable(typeof(ImageGateway.Byok.ByokKeyList))]
[JsonSerializable(typeof(ImageGateway.Byok.ByokDeleted))]
[JsonSerializable(typeof(ImageGateway.Byok.ByokTestResult))]
[JsonSerializable(typeof(ImageGateway.Hosting.ReadinessReport))]
[JsonSerializable(typeof(ImageGateway.Usage.DailyUsageResponse))]
[JsonSerializable(typeof(ImageGateway.History.HistoryPage))]
[JsonSerializable(typeof(ImageGateway.History.HistoryItem))]
[JsonSerializable(typeof(ImageGateway.History.HistoryRequest))]
[JsonSerializable(typeof(ImageGateway.History.HistoryDeleted))]
[JsonSerializable(typeof(MeResponse))]
public sealed partial class GatewayJsonContext : JsonSerializerContext;

public static class GatewayJson
{
    /// <summary>
    /// The context the API writes with. Relaxed escaping keeps quotes, '&amp;' and non-ASCII readable
    /// in messages and URLs; responses are always application/json, never embedded in HTML.
    /// </summary>
    public static GatewayJsonContext Context { get; } = new(new System.Text.Json.JsonSerializerOptions
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower,
    });
}
