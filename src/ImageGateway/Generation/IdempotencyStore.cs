using Dapper;
using ImageGateway.Data;

namespace ImageGateway.Generation;

/// <summary>
/// <c>Idempotency-Key</c> with Stripe's semantics, scoped to the caller's account: the same key and
/// the same body within 24 h answer the stored response again without a second charge; the same
/// key with another body is 422; the same key while the first request still runs is 409. Only
/// successful responses are stored: after a failure the key is free again, so a retry with it
/// runs the request afresh (nothing was charged for the failure).
/// </summary>
public sealed class IdempotencyStore(Database db, TimeProvider time)
{
    public const string Header = "Idempotency-Key";
    public const int MaxKeyLength = 255;
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);

    /// <summary>Claims the key for this request, or says why not: a stored answer to replay, a running twin, another body.</summary>
    public Task<IdempotencyClaim> ClaimAsync(string accountId, string key, string requestHash, CancellationToken ct) =>
        db.WriteAsync(async scope =>
        {
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            var existing = await scope.Connection.QuerySingleOrDefaultAsync<Row>(
                """
                SELECT request_hash AS RequestHash, state AS State, status AS Status, response AS Response, created_at AS CreatedAt
                FROM idempotency_keys WHERE account_id = @accountId AND key = @key
                """, new { accountId, key }, scope.Transaction);
            if (existing is not null && existing.CreatedAt + (long)Lifetime.TotalMilliseconds <= now)
            {
                await scope.Connection.ExecuteAsync("DELETE FROM idempotency_keys WHERE account_id = @accountId AND key = @key",
                    new { accountId, key }, scope.Transaction);
                existing = null;
            }
            if (existing is null)
            {
                // ON CONFLICT: on PostgreSQL another process may insert the same key between our
                // SELECT and INSERT; the loser then answers from the winner's row instead of failing.
                var inserted = await scope.Connection.ExecuteAsync(
                    """
                    INSERT INTO idempotency_keys (account_id, key, request_hash, state, created_at)
                    VALUES (@accountId, @key, @requestHash, 'running', @now)
                    ON CONFLICT (account_id, key) DO NOTHING
                    """, new { accountId, key, requestHash, now }, scope.Transaction);
                if (inserted == 1) return new IdempotencyClaim(this, accountId, key, ClaimState.Claimed);
                existing = await scope.Connection.QuerySingleOrDefaultAsync<Row>(
                    """
                    SELECT request_hash AS RequestHash, state AS State, status AS Status, response AS Response, created_at AS CreatedAt
                    FROM idempotency_keys WHERE account_id = @accountId AND key = @key
                    """, new { accountId, key }, scope.Transaction)
                    // The winner already gave its claim up again: treat it as still running, the client retries.
                    ?? new Row { RequestHash = requestHash, State = "running" };
            }
            if (existing.RequestHash != requestHash) return new IdempotencyClaim(this, accountId, key, ClaimState.OtherBody);
            if (existing.State == "running") return new IdempotencyClaim(this, accountId, key, ClaimState.InUse);
            return new IdempotencyClaim(this, accountId, key, ClaimState.Replay, (int)existing.Status!.Value, existing.Response);
        }, ct);

    public Task CompleteAsync(string accountId, string key, int status, string response) =>
        db.WriteAsync(scope => scope.Connection.ExecuteAsync(
            "UPDATE idempotency_keys SET state = 'done', status = @status, response = @response WHERE account_id = @accountId AND key = @key",
            new { accountId, key, status, response }, scope.Transaction));

    public Task ReleaseAsync(string accountId, string key) =>
        db.WriteAsync(scope => scope.Connection.ExecuteAsync(
            "DELETE FROM idempotency_keys WHERE account_id = @accountId AND key = @key AND state = 'running'",
            new { accountId, key }, scope.Transaction));

    /// <summary>Deletes keys past their 24 hours (called by the sweeper).</summary>
    public Task<int> SweepAsync(CancellationToken ct) =>
        db.WriteAsync(scope => scope.Connection.ExecuteAsync("DELETE FROM idempotency_keys WHERE created_at <= @cutoff",
            new { cutoff = time.GetUtcNow().Subtract(Lifetime).ToUnixTimeMilliseconds() }, scope.Transaction), ct);

    private sealed class Row
    {
        public string RequestHash { get; set; } = "";
        public string State { get; set; } = "";
        public long? Status { get; set; }
        public string? Response { get; set; }
        public long CreatedAt { get; set; }
    }
}

public enum ClaimState { Claimed, Replay, InUse, OtherBody }

/// <summary>
/// One request's hold on an Idempotency-Key. A claim that is disposed without <see cref="CompleteAsync"/>
/// frees the key again, so a retry runs afresh; the other states only say what to answer.
/// </summary>
public sealed class IdempotencyClaim(IdempotencyStore store, string accountId, string key, ClaimState state,
    int? replayStatus = null, string? replayBody = null) : IAsyncDisposable
{
    private bool _open = state == ClaimState.Claimed;

    public ClaimState State { get; } = state;
    public int? ReplayStatus { get; } = replayStatus;
    public string? ReplayBody { get; } = replayBody;

    /// <summary>The stored answer again; a streamed one is replayed as its completed events (no partial images).</summary>
    public Microsoft.AspNetCore.Http.HttpResults.ContentHttpResult Replay(HttpResponse response)
    {
        response.Headers["Idempotent-Replayed"] = "true";
        var streamed = ReplayBody!.StartsWith("event: ", StringComparison.Ordinal);
        return TypedResults.Text(ReplayBody, streamed ? "text/event-stream" : "application/json", System.Text.Encoding.UTF8, ReplayStatus);
    }

    /// <summary>Stores the answer as sent, for replays within 24 h.</summary>
    public async Task CompleteAsync(int status, string response)
    {
        await store.CompleteAsync(accountId, key, status, response);
        _open = false;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_open) return;
        _open = false;
        await store.ReleaseAsync(accountId, key);
    }
}
