using System.Diagnostics;
using System.Diagnostics.Metrics;
using ImageGateway.Providers;
using Polly.CircuitBreaker;

namespace ImageGateway.Observability;

/// <summary>
/// The gateway's own OpenTelemetry instruments (meter <c>ImageGateway</c>), exported at /metrics in
/// Prometheus format, and the activity source for one span per pipeline step.
/// Names follow OpenTelemetry conventions; the Prometheus exporter turns
/// <c>imagegateway.generate.requests</c> into <c>imagegateway_generate_requests_total</c>.
/// </summary>
public sealed class GatewayMetrics : IDisposable
{
    public const string MeterName = "ImageGateway";
    public static readonly ActivitySource Activities = new(MeterName);

    private readonly Meter _meter;
    private readonly Counter<long> _requests;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _images;
    private readonly Counter<long> _credits;
    private readonly Counter<long> _writtenOff;
    private readonly Counter<long> _streamDisconnects;
    private readonly Counter<long> _providerFailures;
    private readonly Counter<long> _rateLimitRejections;
    private readonly Counter<long> _storageBytes;
    private readonly Counter<long> _storageSwept;

    public GatewayMetrics(IMeterFactory meters, ProviderRegistry providers, Data.Database db, BodyBudget budget)
    {
        _meter = meters.Create(MeterName);
        _requests = _meter.CreateCounter<long>("imagegateway.generate.requests", "{request}",
            "Generate requests by model, provider, HTTP status and BYOK.");
        _duration = _meter.CreateHistogram<double>("imagegateway.generate.duration", "s",
            "Generate latency; part=gateway is the gateway's own time, part=upstream the provider's.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120] });
        _images = _meter.CreateCounter<long>("imagegateway.images.generated", "{image}", "Images delivered to callers.");
        // Millicredits, an integer: money is never a float, not even in a metric.
        _credits = _meter.CreateCounter<long>("imagegateway.credits.charged", "{millicredit}", "Millicredits charged (1000 = 1 credit), by tier.");
        // Read from the database at scrape time, so it counts the holds of every gateway process.
        _meter.CreateObservableUpDownCounter("imagegateway.reservations.open",
            () => Billing.OpenHolds.Count(db), "{reservation}", "Credit holds currently open (all processes).");
        if (db.Dialect.GroupCommits is { } commits)
        {
            // Their ratio is the mean group size: how many writes share one SQLite commit.
            _meter.CreateObservableCounter("imagegateway.db.commits", () => commits.Groups, "{commit}",
                "SQLite write transactions committed by the group committer.");
            _meter.CreateObservableCounter("imagegateway.db.writes", () => commits.Writes, "{write}",
                "Writes (reserve, settle, ...) committed in those transactions.");
        }
        _writtenOff = _meter.CreateCounter<long>("imagegateway.credits.written_off", "{millicredit}",
            "Millicredits a token-priced answer cost beyond its hold and the caller's available balance, not charged.");
        _streamDisconnects = _meter.CreateCounter<long>("imagegateway.stream.disconnects", "{request}",
            "Streamed requests whose client left before the answer: the upstream call was cancelled and nothing charged.");
        _providerFailures = _meter.CreateCounter<long>("imagegateway.provider.failures", "{failure}", "Failed upstream calls by provider and reason.");
        _rateLimitRejections = _meter.CreateCounter<long>("imagegateway.ratelimit.rejections", "{request}",
            "Requests refused by a rate-limit window or the monthly cap.");
        _meter.CreateObservableUpDownCounter("imagegateway.body_budget.in_use", () => budget.InUse, "By",
            "Bytes of upstream image answers held in memory now (Gateway:BodyBudgetBytes).");
        _meter.CreateObservableCounter("imagegateway.body_budget.waits", () => budget.Waits, "{wait}",
            "Upstream answers that waited for room in the body budget.");
        _storageBytes = _meter.CreateCounter<long>("imagegateway.storage.written", "By", "Image bytes written to the store.");
        _storageSwept = _meter.CreateCounter<long>("imagegateway.storage.swept", "{object}", "Expired images deleted by the sweeper.");
        _meter.CreateObservableGauge("imagegateway.provider.circuit_state", () => providers.Providers
                .Where(p => p.Credential.Upstream is not null)
                .Select(p => new Measurement<int>(CircuitValue(p.Credential.Upstream!.Circuit), new KeyValuePair<string, object?>("provider", p.Name))),
            "{state}", "Circuit breaker state per provider: 0 closed, 1 open, 2 half-open, 3 isolated.");
    }

    public void Generated(string model, string? provider, int status, bool byok, int images, string tier, long millicredits)
    {
        _requests.Add(1, new("model", model), new("provider", provider ?? "none"), new("status", status), new("byok", byok));
        if (images > 0) _images.Add(images, new("model", model), new("provider", provider ?? "none"), new("byok", byok));
        if (millicredits > 0) _credits.Add(millicredits, new KeyValuePair<string, object?>("tier", tier));
    }

    public void Duration(string part, TimeSpan elapsed, string model) =>
        _duration.Record(elapsed.TotalSeconds, new("part", part), new("model", model));

    public void WrittenOff(string tier, string model, long millicredits) =>
        _writtenOff.Add(millicredits, new("tier", tier), new("model", model));

    public void StreamDisconnected(string model) => _streamDisconnects.Add(1, new KeyValuePair<string, object?>("model", model));

    public void ProviderFailed(string provider, FailureKind reason) =>
        _providerFailures.Add(1, new("provider", provider), new("reason", reason.ToString().ToLowerInvariant()));
    public void RateLimited(string tier, string reason) => _rateLimitRejections.Add(1, new("tier", tier), new("reason", reason));
    public void StorageWritten(long bytes) => _storageBytes.Add(bytes);
    public void StorageSwept(int objects) => _storageSwept.Add(objects);

    private static int CircuitValue(CircuitState state) => state switch
    {
        CircuitState.Open => 1,
        CircuitState.HalfOpen => 2,
        CircuitState.Isolated => 3,
        _ => 0,
    };

    public void Dispose() => _meter.Dispose();
}
