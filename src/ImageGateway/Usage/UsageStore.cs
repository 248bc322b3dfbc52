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
    long LatencyMs);

public sealed class UsageStore(Database db, TimeProvider time)
{
    public Task RecordAsync(UsageEvent e, CancellationToken ct = default) =>
        db.WriteAsync(scope => scope.Connection.ExecuteAsync(
            """
            INSERT INTO usage_events (id, account_id, key_id, model, provider, tier, size, quality, images, cost_mc, byok, status, end_user, latency_ms, created_at)
            VALUES (@Id, @AccountId, @KeyId, @Model, @Provider, @Tier, @Size, @Quality, @Images, @CostMc, @Byok, @Status, @EndUser, @LatencyMs, @CreatedAt)
            """,
            new
            {
                Id = Ids.New("gen"), e.AccountId, e.KeyId, e.Model, e.Provider, e.Tier, e.Size, e.Quality, e.Images, e.CostMc,
                Byok = e.Byok ? 1 : 0, e.Status, e.EndUser, e.LatencyMs, CreatedAt = time.GetUtcNow().ToUnixTimeMilliseconds(),
            }, scope.Transaction), ct);

    public Task<IReadOnlyList<UsageEvent>> RecentAsync(string accountId, int limit, CancellationToken ct = default) =>
        db.ReadAsync(async c => (IReadOnlyList<UsageEvent>)(await c.QueryAsync<Row>(
            """
            SELECT account_id AS AccountId, key_id AS KeyId, model AS Model, provider AS Provider, tier AS Tier, size AS Size,
                   quality AS Quality, images AS Images, cost_mc AS CostMc, byok AS Byok, status AS Status, end_user AS EndUser,
                   latency_ms AS LatencyMs
            FROM usage_events WHERE account_id = @accountId ORDER BY created_at DESC, id LIMIT @limit
            """, new { accountId, limit })).Select(r => r.ToEvent()).ToArray(), ct);

    private sealed record Row(string AccountId, string KeyId, string Model, string? Provider, string Tier, string Size, string Quality,
        long Images, long CostMc, long Byok, long Status, string? EndUser, long LatencyMs)
    {
        public UsageEvent ToEvent() => new(AccountId, KeyId, Model, Provider, Tier, Size, Quality, (int)Images, CostMc, Byok != 0,
            (int)Status, EndUser, LatencyMs);
    }
}
