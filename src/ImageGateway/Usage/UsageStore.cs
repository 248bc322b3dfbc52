using Dapper;
using ImageGateway.Data;

namespace ImageGateway.Usage;

/// <summary>One generate request as it ended: what was asked, who served it, what it cost.</summary>
public sealed record UsageEvent(
    string AccountId,
    string KeyId,
    string Model,
    string? Provider,
    string Tier,
    string Size,
    string Quality,
    int Images,
    long CostMc,
    bool Byok,
    int Status,
    string? EndUser,
    long LatencyMs,
    long? UpstreamCostMicroUsd = null);

/// <summary>
/// <see cref="UpstreamCostMicroUsd"/> is the upstream's cost of the <see cref="PricedRequests"/> that
/// reported one, and <see cref="PricedCredits"/> what those requests were charged (0 and 0 when none did).
/// </summary>
public sealed record UsageAggregate(DateOnly Day, string Model, string? Provider, string Tier, bool Byok, long Requests, long Images,
    Billing.Millicredits Credits, long PricedRequests = 0, long UpstreamCostMicroUsd = 0, long PricedCredits = 0);

public sealed class UsageStore(Database db, TimeProvider time)
{
    public Task RecordAsync(UsageEvent e, CancellationToken ct = default) =>
        db.WriteAsync(scope => RecordAsync(scope, e), ct);

    /// <summary>Records the event inside a write the caller runs (with the settlement it belongs to).</summary>
    public Task<int> RecordAsync(WriteScope scope, UsageEvent e) => scope.ExecuteAsync(Insert(e));

    /// <summary>The event's INSERT, to run in one command with the statements written alongside it (its history entry).</summary>
    public SqlStatement Insert(UsageEvent e)
    {
        var now = time.GetUtcNow();
        return new SqlStatement(
            """
            INSERT INTO usage_events (id, account_id, key_id, model, provider, tier, size, quality, images, cost_mc, byok, status, end_user, latency_ms, created_at, upstream_cost_musd)
            VALUES (@Id, @AccountId, @KeyId, @Model, @Provider, @Tier, @Size, @Quality, @Images, @CostMc, @Byok, @Status, @EndUser, @LatencyMs, @CreatedAt, @Upstream)
            """,
            [("@Id", Ids.Ordered("gen", now)), ("@AccountId", e.AccountId), ("@KeyId", e.KeyId), ("@Model", e.Model),
            ("@Provider", e.Provider), ("@Tier", e.Tier), ("@Size", e.Size), ("@Quality", e.Quality), ("@Images", e.Images),
            ("@CostMc", e.CostMc), ("@Byok", e.Byok ? 1 : 0), ("@Status", e.Status), ("@EndUser", e.EndUser), ("@LatencyMs", e.LatencyMs),
            ("@CreatedAt", now.ToUnixTimeMilliseconds()), ("@Upstream", e.UpstreamCostMicroUsd)]);
    }

    /// <summary>
    /// Images delivered per account since each of the given instants (newest first: this minute,
    /// hour, day and month). What an in-memory rate limiter counted before a restart.
    /// </summary>
    public Task<IReadOnlyList<(string AccountId, long[] Images)>> ImagesSinceAsync(IReadOnlyList<DateTimeOffset> starts, CancellationToken ct = default)
    {
        var sums = string.Join(", ", starts.Select((_, i) => $"CAST(COALESCE(SUM(CASE WHEN created_at >= @s{i} THEN images ELSE 0 END), 0) AS BIGINT)"));
        var parameters = new DynamicParameters();
        for (var i = 0; i < starts.Count; i++) parameters.Add($"s{i}", starts[i].ToUnixTimeMilliseconds());
        parameters.Add("oldest", starts.Min().ToUnixTimeMilliseconds());
        return db.ReadAsync(async c =>
        {
            using var reader = await c.ExecuteReaderAsync(new CommandDefinition(
                $"SELECT account_id, {sums} FROM usage_events WHERE created_at >= @oldest AND images > 0 GROUP BY account_id",
                parameters, cancellationToken: ct));
            var rows = new List<(string, long[])>();
            while (await reader.ReadAsync(ct))
                rows.Add((reader.GetString(0), Enumerable.Range(1, starts.Count).Select(reader.GetInt64).ToArray()));
            return (IReadOnlyList<(string, long[])>)rows;
        }, ct);
    }

    /// <summary>Requests, images and credits per UTC day, model, provider, tier and BYOK from <paramref name="since"/> (to before <paramref name="until"/>).</summary>
    // NULLS FIRST: SQLite sorts NULL first by default and PostgreSQL last; both dialects must give the same order.
    public Task<IReadOnlyList<UsageAggregate>> AggregateAsync(DateTimeOffset since, string? accountId, CancellationToken ct = default,
        DateTimeOffset? until = null) =>
        db.ReadAsync(async c => (IReadOnlyList<UsageAggregate>)(await c.QueryAsync<AggregateRow>(
            $"""
            SELECT created_at / 86400000 AS DayNumber, model AS Model, provider AS Provider, tier AS Tier, byok AS Byok,
                   COUNT(*) AS Requests, CAST(COALESCE(SUM(images), 0) AS BIGINT) AS Images, CAST(COALESCE(SUM(cost_mc), 0) AS BIGINT) AS CostMc,
                   COUNT(upstream_cost_musd) AS PricedRequests, CAST(COALESCE(SUM(upstream_cost_musd), 0) AS BIGINT) AS UpstreamMicroUsd,
                   CAST(COALESCE(SUM(CASE WHEN upstream_cost_musd IS NULL THEN 0 ELSE cost_mc END), 0) AS BIGINT) AS PricedCostMc
            FROM usage_events
            WHERE created_at >= @since {(until is null ? "" : "AND created_at < @until")} {(accountId is null ? "" : "AND account_id = @accountId")}
            GROUP BY created_at / 86400000, model, provider, tier, byok
            ORDER BY 1, 2, 3 NULLS FIRST, 4, 5
            """, new { since = since.ToUnixTimeMilliseconds(), until = until?.ToUnixTimeMilliseconds(), accountId }))
            .Select(r => new UsageAggregate(DateOnly.FromDateTime(DateTime.UnixEpoch.AddDays(r.DayNumber)), r.Model, r.Provider, r.Tier,
                r.Byok != 0, r.Requests, r.Images, new Billing.Millicredits(r.CostMc), r.PricedRequests, r.UpstreamMicroUsd, r.PricedCostMc)).ToArray(), ct);

    public Task<IReadOnlyList<UsageEvent>> RecentAsync(string accountId, int limit, CancellationToken ct = default) =>
        db.ReadAsync(async c => (IReadOnlyList<UsageEvent>)(await c.QueryAsync<Row>(
            """
            SELECT account_id AS AccountId, key_id AS KeyId, model AS Model, provider AS Provider, tier AS Tier, size AS Size,
                   quality AS Quality, images AS Images, cost_mc AS CostMc, byok AS Byok, status AS Status, end_user AS EndUser,
                   latency_ms AS LatencyMs
            FROM usage_events WHERE account_id = @accountId ORDER BY created_at DESC, id LIMIT @limit
            """, new { accountId, limit })).Select(r => r.ToEvent()).ToArray(), ct);

    // A class with setters rather than a positional record: SQLite reports computed columns of an
    // empty result as BLOB, which defeats Dapper's constructor matching.
    private sealed class AggregateRow
    {
        public long DayNumber { get; set; }
        public string Model { get; set; } = "";
        public string? Provider { get; set; }
        public string Tier { get; set; } = "";
        public long Byok { get; set; }
        public long Requests { get; set; }
        public long Images { get; set; }
        public long CostMc { get; set; }
        public long PricedRequests { get; set; }
        public long UpstreamMicroUsd { get; set; }
        public long PricedCostMc { get; set; }
    }

    private sealed record Row(string AccountId, string KeyId, string Model, string? Provider, string Tier, string Size, string Quality,
        long Images, long CostMc, long Byok, long Status, string? EndUser, long LatencyMs)
    {
        public UsageEvent ToEvent() => new(AccountId, KeyId, Model, Provider, Tier, Size, Quality, (int)Images, CostMc, Byok != 0,
            (int)Status, EndUser, LatencyMs);
    }
}
