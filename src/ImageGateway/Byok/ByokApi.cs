using Microsoft.AspNetCore.Http.HttpResults;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Threading.RateLimiting;
using ImageGateway.Accounts;
using ImageGateway.Http;
using ImageGateway.Providers;

namespace ImageGateway.Byok;

/// <param name="Provider">The upstream: <c>openai</c>, <c>openrouter</c>, <c>stability</c>, <c>google</c>, <c>bfl</c>, <c>replicate</c> or <c>azure</c>.</param>
/// <param name="ApiKey">The provider key; stored encrypted and never shown again.</param>
/// <param name="Metadata">A JSON object of your own (at most 2048 bytes), e.g. an Azure endpoint and deployment.</param>
public sealed record ByokKeyRequest(string? Provider = null, string? ApiKey = null, JsonElement? Metadata = null);

/// <param name="Enabled">Whether requests may use the key.</param>
public sealed record ByokToggleRequest(bool? Enabled = null);

/// <param name="Id">The stored key's id.</param>
/// <param name="Provider">The upstream it is for.</param>
/// <param name="MaskedKey">The key with all but a few characters hidden.</param>
/// <param name="Enabled">Whether requests use it.</param>
/// <param name="Metadata">The JSON object stored with it; null without one.</param>
/// <param name="CreatedAt">When it was stored (unix seconds).</param>
/// <param name="UpdatedAt">When it was last replaced or toggled (unix seconds).</param>
public sealed record ByokKeyDto(string Id, string Provider, string MaskedKey, bool Enabled, JsonElement? Metadata, long CreatedAt, long UpdatedAt);

/// <param name="Data">Your provider keys, one per provider.</param>
public sealed record ByokKeyList(IReadOnlyList<ByokKeyDto> Data);

/// <param name="Provider">The provider whose key was removed.</param>
/// <param name="Deleted">Always true.</param>
public sealed record ByokDeleted(string Provider, bool Deleted);

/// <param name="Ok">Whether the provider accepted the key.</param>
/// <param name="Status">The provider's HTTP status (0 when it could not be reached).</param>
/// <param name="Message">What the provider said, shortened.</param>
public sealed record ByokTestResult(bool Ok, int Status, string Message);

/// <summary>Bring-your-own provider keys (DESIGN §5). No response ever carries a key, only its mask.</summary>
public static partial class ByokApi
{
    public const int MaxMetadataBytes = 2048;

    /// <summary>Per-provider key shape, checked before anything is stored.</summary>
    private static readonly Dictionary<string, (Regex Shape, string Expected)> Formats = new(StringComparer.Ordinal)
    {
        ["openai"] = (OpenAiKey(), "an OpenAI key starts with 'sk-'"),
        ["openrouter"] = (OpenRouterKey(), "an OpenRouter key starts with 'sk-or-'"),
        ["stability"] = (StabilityKey(), "a Stability AI key starts with 'sk-'"),
        ["google"] = (GoogleKey(), "a Gemini API key starts with 'AIza'"),
        ["bfl"] = (BflKey(), "a Black Forest Labs key is 20 or more letters, digits and dashes"),
        ["replicate"] = (ReplicateKey(), "a Replicate token starts with 'r8_'"),
        ["azure"] = (AzureKey(), "an Azure OpenAI key is 32 or more letters and digits"),
    };

    // Key checks call a paid upstream on the caller's behalf: at most 5 a minute per account.
    private static readonly PartitionedRateLimiter<string> TestLimiter = PartitionedRateLimiter.Create<string, string>(account =>
        RateLimitPartition.GetFixedWindowLimiter(account, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = 5, Window = TimeSpan.FromMinutes(1), QueueLimit = 0,
        }));

    public static IEndpointRouteBuilder MapByokApi(this IEndpointRouteBuilder group)
    {
        var byok = group.MapGroup("/byok/keys").RequireGatewayKey().WithTags(ApiDocs.Tags.Byok);
        byok.MapPost("/", UpsertAsync).ProducesErrors(400);
        byok.MapGet("/", ListAsync);
        byok.MapDelete("/{provider}", DeleteAsync).ProducesErrors(404);
        byok.MapPost("/{provider}/toggle", ToggleAsync).ProducesErrors(400, 404);
        byok.MapPost("/{provider}/test", TestAsync).ProducesErrors(404, 422, 429, 503);
        return group;
    }

    /// <summary>Store your own provider key</summary>
    /// <remarks>Stores (or replaces) your key for a provider; it is encrypted at rest, used first for models on that provider's route, and never billed. 400 <c>byok_not_allowed</c> where the operator does not allow it.</remarks>
    public static async Task<Results<JsonOk<ByokKeyDto>, ApiError>> UpsertAsync(Caller caller, ByokKeyRequest? request, ByokStore store,
        ProviderRegistry providers, CancellationToken ct)
    {
        if (request?.Provider is null) return ApiError.Missing("provider", "'provider' is required: one of " + string.Join(", ", Formats.Keys) + ".");
        if (!Formats.TryGetValue(request.Provider, out var format))
            return ApiError.Invalid("provider", "'provider' must be one of: " + string.Join(", ", Formats.Keys) + ".");
        if (!providers.TryGetProvider(request.Provider, out var endpoint) || !endpoint.AllowsByok) return NotAllowed(request.Provider);
        if (string.IsNullOrEmpty(request.ApiKey)) return ApiError.Missing("api_key", "'api_key' is required.");
        if (request.ApiKey.Length > 256 || !format.Shape.IsMatch(request.ApiKey))
            return ApiError.Invalid("api_key", $"'api_key' does not look like a {request.Provider} key: {format.Expected}.");
        string? metadata = null;
        if (request.Metadata is { } m && m.ValueKind != JsonValueKind.Null)
        {
            if (m.ValueKind != JsonValueKind.Object) return ApiError.Invalid("metadata", "'metadata' must be a JSON object.");
            if (!HasOnlyValidText(m)) return ApiError.Invalid("metadata", "'metadata' has a string that is not valid Unicode (a lone surrogate such as \\ud800).");
            metadata = m.GetRawText();
            if (metadata.Length > MaxMetadataBytes) return ApiError.Invalid("metadata", $"'metadata' may be at most {MaxMetadataBytes} bytes.");
        }
        var key = await store.UpsertAsync(caller.AccountId, request.Provider, request.ApiKey, metadata, ct);
        return ApiResults.Ok(ToDto(key), GatewayJson.Context.ByokKeyDto);
    }

    /// <summary>List your provider keys</summary>
    /// <remarks>Masked (<c>sk-…abcd</c>), with whether each is enabled. The key itself is never returned.</remarks>
    public static async Task<JsonOk<ByokKeyList>> ListAsync(Caller caller, ByokStore store, CancellationToken ct) =>
        ApiResults.Ok(new ByokKeyList((await store.ListAsync(caller.AccountId, ct)).Select(ToDto).ToArray()), GatewayJson.Context.ByokKeyList);

    /// <summary>Delete a provider key</summary>
    /// <remarks>Forgets your key for that provider; requests are billed on the platform again.</remarks>
    public static async Task<Results<JsonOk<ByokDeleted>, ApiError>> DeleteAsync(Caller caller, string provider, ByokStore store, CancellationToken ct) =>
        await store.DeleteAsync(caller.AccountId, provider, ct)
            ? ApiResults.Ok(new ByokDeleted(provider, true), GatewayJson.Context.ByokDeleted)
            : (Results<JsonOk<ByokDeleted>, ApiError>)NoKey(provider);

    /// <summary>Enable or disable a provider key</summary>
    /// <remarks><c>{"enabled": false}</c> keeps the key but stops using it.</remarks>
    public static async Task<Results<JsonOk<ByokKeyDto>, ApiError>> ToggleAsync(Caller caller, string provider, ByokToggleRequest? request, ByokStore store, CancellationToken ct)
    {
        if (request?.Enabled is not { } enabled) return ApiError.Missing("enabled", "'enabled' (true or false) is required.");
        var key = await store.SetEnabledAsync(caller.AccountId, provider, enabled, ct);
        if (key is null) return NoKey(provider);
        return ApiResults.Ok(ToDto(key), GatewayJson.Context.ByokKeyDto);
    }

    /// <summary>Test a provider key</summary>
    /// <remarks>Checks that the provider accepts your key and refuses a made-up one (so the provider really checks keys); a key that fails the second check is switched off. At most 5 calls a minute.</remarks>
    public static async Task<Results<JsonOk<ByokTestResult>, ApiError>> TestAsync(Caller caller, string provider, ByokStore store, ProviderRegistry providers, CancellationToken ct)
    {
        using var lease = TestLimiter.AttemptAcquire(caller.AccountId);
        if (!lease.IsAcquired)
            return new ApiError(429, "rate_limit_error", "rate_limit_exceeded", "At most 5 key tests a minute; try again shortly.")
                .WithHeader("Retry-After", "60");
        ByokSecret? secret;
        try
        {
            secret = await store.SecretAsync(caller.AccountId, provider, ct);
        }
        catch (KeyDecryptionException e)
        {
            return Unreadable(provider, e);
        }
        if (secret is null) return NoKey(provider);
        if (!providers.TryGetProvider(provider, out var endpoint))
            return new ApiError(503, "api_error", "no_provider", $"The gateway has no '{provider}' provider configured.").WithHeader("x-should-retry", "false");
        if (!endpoint.AllowsByok) return NotAllowed(provider);

        var check = await KeyProof.CheckAsync(providers, endpoint, secret.ApiKey, ct);
        // A key the upstream cannot tell from a made-up one proves nothing: it is switched off, so
        // it can't be used for free images until the operator's upstream checks keys.
        if (check.Unverifiable) await store.SetEnabledAsync(caller.AccountId, provider, false, ct);
        return ApiResults.Ok(new ByokTestResult(check.Ok, check.Status, check.Message), GatewayJson.Context.ByokTestResult);
    }

    private static ApiError NotAllowed(string provider) =>
        new(400, "invalid_request_error", "byok_not_allowed",
            $"This gateway does not take your own keys for '{provider}'; requests to it are billed in credits.", "provider");

    /// <summary>A stored key that cannot be decrypted is an explicit, permanent error, never a silent switch to billed credits.</summary>
    public static ApiError Unreadable(string provider, KeyDecryptionException e) =>
        new(422, "invalid_request_error", "byok_key_unreadable",
            $"Your stored {provider} key cannot be decrypted: {e.Message} Delete it and add it again. You were not charged.");

    private static ApiError NoKey(string provider) => ApiError.NotFound($"You have no stored key for provider '{provider}'.");

    private static ByokKeyDto ToDto(ByokKey k) =>
        new(k.Id, k.Provider, k.MaskedKey, k.Enabled, k.Metadata is null ? null : JsonDocument.Parse(k.Metadata).RootElement.Clone(),
            k.CreatedAt.ToUnixTimeSeconds(), k.UpdatedAt.ToUnixTimeSeconds());

    private static readonly System.Text.UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>JSON may escape a lone surrogate (<c>"\ud800"</c>); such text cannot be stored or written back, so it is refused.</summary>
    private static bool HasOnlyValidText(JsonElement element)
    {
        try
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.String:
                    StrictUtf8.GetByteCount(element.GetString()!);
                    return true;
                case JsonValueKind.Object:
                    foreach (var property in element.EnumerateObject())
                    {
                        StrictUtf8.GetByteCount(property.Name);
                        if (!HasOnlyValidText(property.Value)) return false;
                    }
                    return true;
                case JsonValueKind.Array:
                    return element.EnumerateArray().All(HasOnlyValidText);
                default:
                    return true;
            }
        }
        catch (Exception e) when (e is System.Text.EncoderFallbackException or InvalidOperationException)
        {
            return false;
        }
    }

    [GeneratedRegex(@"^sk-[A-Za-z0-9_\-]{20,}\z")]
    private static partial Regex OpenAiKey();

    [GeneratedRegex(@"^sk-or-[A-Za-z0-9_\-]{20,}\z")]
    private static partial Regex OpenRouterKey();

    [GeneratedRegex(@"^sk-[A-Za-z0-9_\-]{20,}\z")]
    private static partial Regex StabilityKey();

    [GeneratedRegex(@"^AIza[A-Za-z0-9_\-]{30,}\z")]
    private static partial Regex GoogleKey();

    [GeneratedRegex(@"^[A-Za-z0-9_\-]{20,}\z")]
    private static partial Regex BflKey();

    [GeneratedRegex(@"^r8_[A-Za-z0-9]{20,}\z")]
    private static partial Regex ReplicateKey();

    [GeneratedRegex(@"^[A-Za-z0-9]{32,}\z")]
    private static partial Regex AzureKey();
}
