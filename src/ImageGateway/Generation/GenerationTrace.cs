using System.Diagnostics;
using ImageGateway.Accounts;
using ImageGateway.Billing;
using ImageGateway.Catalog;
using ImageGateway.History;
using ImageGateway.Http;
using ImageGateway.Observability;
using ImageGateway.Usage;

namespace ImageGateway.Generation;

/// <summary>
/// What one generate request came to, for its usage event, its metrics record and its one
/// Information log line, whatever the outcome. Never the prompt or a key.
/// </summary>
public sealed class GenerationTrace(Caller caller, GatewayMetrics metrics, ILogger logger)
{
    private readonly long _started = Stopwatch.GetTimestamp();
    private (string Provider, int Images, Millicredits Charged)? _served;

    public Caller Caller { get; } = caller;
    public GenerationSpec? Spec { get; set; }
    public TierDefinition? Tier { get; set; }
    public bool Byok { get; set; }
    public bool ByokFellBack { get; set; }
    public TimeSpan UpstreamTime { get; set; }

    public int Images => _served?.Images ?? 0;
    public Millicredits Charged => _served?.Charged ?? Millicredits.Zero;

    public void Served(string provider, int images, Millicredits charged, bool byok) => (_served, Byok) = ((provider, images, charged), byok);

    public UsageEvent UsageEvent(string? provider, int images, Millicredits cost, bool byok, int status, decimal? upstreamCostUsd = null) =>
        new(Caller.AccountId, Caller.KeyId, Spec!.Model.Id, provider, Tier!.Name, Spec.Size, Spec.Quality, images, cost.Value, byok, status,
            Spec.User, (long)Stopwatch.GetElapsedTime(_started).TotalMilliseconds,
            upstreamCostUsd is { } usd ? (long)Math.Round(usd * 1_000_000m, MidpointRounding.AwayFromZero) : null);

    /// <summary>The request's history entry; <paramref name="error"/> is what a failed or refused caller was answered.</summary>
    public HistoryEntry History(string status, ApiError? error, bool byok, string? provider = null, int images = 0,
        Millicredits cost = default, IReadOnlyList<string>? files = null)
    {
        var s = Spec!;
        var request = new HistoryRequest(s.Model.Id, s.Prompt, s.N, s.Size, s.Quality, s.ResponseFormat, s.Style, s.Seed, s.User, s.OutputFormat,
            s.OutputCompression, s.Background, s.Moderation, s.Stream ? true : null, s.Stream ? s.PartialImages : null, s.InputFidelity);
        return new HistoryEntry(Caller.AccountId, Caller.KeyId, s.Operation.ToString().ToLowerInvariant(), request, status,
            error?.Status ?? StatusCodes.Status200OK, error?.Code, error?.Message, cost, provider, byok, images, files);
    }

    /// <summary>Records the request and hands its answer back.</summary>
    public T Done<T>(T result) where T : IResult
    {
        var status = result is ApiError error ? error.Status : StatusCodes.Status200OK;
        var total = Stopwatch.GetElapsedTime(_started);
        var model = Spec?.Model.Id ?? "invalid";
        var (provider, images, charged) = _served ?? (null!, 0, Millicredits.Zero);
        metrics.Generated(model, provider, status, Byok, images, Tier?.Name ?? Caller.Tier, charged.Value);
        metrics.Duration("gateway", total - UpstreamTime, model);
        if (UpstreamTime > TimeSpan.Zero) metrics.Duration("upstream", UpstreamTime, model);
        GenerationLog.Finished(logger, Caller.AccountId, model, provider ?? "-", status, images, charged.ToString(), Byok,
            total.TotalMilliseconds, UpstreamTime.TotalMilliseconds);
        return result;
    }
}

internal static partial class GenerationLog
{
    [LoggerMessage(Level = LogLevel.Information,
        Message = "generate account={AccountId} model={Model} provider={Provider} status={Status} images={Images} cost={Cost} byok={Byok} total_ms={TotalMs:0.0} upstream_ms={UpstreamMs:0.0}")]
    public static partial void Finished(ILogger logger, string accountId, string model, string provider, int status, int images,
        string cost, bool byok, double totalMs, double upstreamMs);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "generate model={Model} provider={Provider}: the answer reported no token usage; charged the estimate {Cost}")]
    public static partial void NoUsage(ILogger logger, string model, string provider, string cost);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "generate account={AccountId} model={Model}: {Amount} credits above the hold and the available balance were written off")]
    public static partial void WrittenOff(ILogger logger, string accountId, string model, string amount);
}
