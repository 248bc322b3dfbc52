using Microsoft.AspNetCore.Http.HttpResults;
using ImageGateway.Accounts;
using ImageGateway.Http;
using Polly.CircuitBreaker;

namespace ImageGateway.Providers;

/// <param name="At">When it failed (unix seconds).</param>
/// <param name="Reason">What failed (status or exception), shortened.</param>
public sealed record ProviderFailureDto(long At, string Reason);

/// <param name="Name">The provider's configured name.</param>
/// <param name="Kind">Which upstream API it speaks.</param>
/// <param name="Configured">Whether it has a key and can serve requests.</param>
/// <param name="BaseUrl">The upstream's base URL; null for the default.</param>
/// <param name="Circuit">Its circuit breaker: <c>closed</c>, <c>open</c>, <c>half_open</c> or <c>isolated</c>.</param>
/// <param name="RecentFailures">Its latest failures, newest first.</param>
public sealed record ProviderStatusDto(string Name, string Kind, bool Configured, string? BaseUrl, string Circuit,
    IReadOnlyList<ProviderFailureDto> RecentFailures);

/// <param name="Data">Every configured provider.</param>
public sealed record ProviderStatusList(IReadOnlyList<ProviderStatusDto> Data);

public static class ProvidersApi
{
    public static IEndpointRouteBuilder MapProvidersApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/admin/providers", GetProviders).RequireGatewayKey(KeyScope.Admin).WithTags(ApiDocs.Tags.Admin);
        return app;
    }

    /// <summary>Provider health</summary>
    /// <remarks>Admin. Each provider's kind, whether it is configured, its circuit state (<c>closed</c>, <c>open</c>, <c>half_open</c>, <c>isolated</c>) and recent failures. Never a key.</remarks>
    public static JsonOk<ProviderStatusList> GetProviders(ProviderRegistry registry) =>
        ApiResults.Ok(new ProviderStatusList(registry.Providers.OrderBy(p => p.Name, StringComparer.Ordinal).Select(p =>
            new ProviderStatusDto(p.Name, p.Adapter.Kind, p.IsConfigured, p.Credential.BaseUrl,
                CircuitName(p.Credential.Upstream?.Circuit),
                p.Credential.Upstream?.RecentFailures.Select(f => new ProviderFailureDto(f.At.ToUnixTimeSeconds(), f.Reason)).ToArray() ?? []))
            .ToArray()), GatewayJson.Context.ProviderStatusList);

    private static string CircuitName(CircuitState? state) => state switch
    {
        CircuitState.Open => "open",
        CircuitState.HalfOpen => "half_open",
        CircuitState.Isolated => "isolated",
        _ => "closed",
    };
}
