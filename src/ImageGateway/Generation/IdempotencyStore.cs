using Dapper;
using ImageGateway.Billing;
using ImageGateway.Data;
using ImageGateway.Hosting;
using ImageGateway.Http;
using Microsoft.Extensions.Options;

namespace ImageGateway.Generation;

/// <summary>
/// <c>Idempotency-Key</c> with Stripe's semantics, scoped to the caller's account: the same key and
/// the same body within 24 h answer the stored response again without a second charge; the same
/// key with another body is 422; the same key while the first request still runs is 409. Only
/// successful responses are stored: after a failure the key is free again, so a retry with it
/// runs the request afresh (nothing was charged for the failure).
/// The answer is stored in the same commit as the charge (<see cref="IdempotencyClaim.StoreAsync"/>),
/// so a key is <c>running</c> exactly while its charge is not committed: after a crash, a running
/// key belongs to a request that charged nothing, and is released (<see cref="ReleaseDeadAsync"/>).
/// </summary>
public sealed class IdempotencyStore(Database db, TimeProvider time, IOptions<GatewayOptions> options)
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

    /// <summary>The answer kept for replays, written inside the caller's write (the settle's), so it commits with the charge.</summary>
    public Task StoreAsync(WriteScope scope, string accountId, string key, int status, string response) =>
        scope.Connection.ExecuteAsync(
            "UPDATE idempotency_keys SET state = 'done', status = @status, response = @response WHERE account_id = @accountId AND key = @key",
            new { accountId, key, status, response }, scope.Transaction);

    /// <summary>The largest answer kept whole for replays (<c>Gateway:Idempotency:MaxStoredAnswerBytes</c>).</summary>
    public long MaxStoredAnswerBytes => options.Value.Idempotency.MaxStoredAnswerBytes;

    public Task ReleaseAsync(string accountId, string key) =>
        db.WriteAsync(scope => scope.Connection.ExecuteAsync(
            "DELETE FROM idempotency_keys WHERE account_id = @accountId AND key = @key AND state = 'running'",
            new { accountId, key }, scope.Transaction));

    /// <summary>
    /// Releases the keys of requests that died (a crash, kill -9) so their retries can run: all
    /// running keys when this is the only process (at start-up no request is live), else those
    /// older than <paramref name="olderThan"/>: the hold timeout, after which a request's hold is
    /// released and it can no longer charge. A running key never charged anything (the charge
    /// and the stored answer commit together), so releasing it never allows a double charge.
    /// </summary>
    public Task<int> ReleaseDeadAsync(TimeSpan? olderThan, CancellationToken ct) =>
        db.WriteAsync(scope => scope.Connection.ExecuteAsync(
            "DELETE FROM idempotency_keys WHERE state = 'running' AND created_at <= @cutoff",
            new { cutoff = olderThan is { } age ? time.GetUtcNow().Subtract(age).ToUnixTimeMilliseconds() : long.MaxValue }, scope.Transaction), ct);

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

    /// <summary>
    /// Stores the answer as sent, for replays within 24 h, inside the settle's write. An answer over
    /// <see cref="IdempotencyStore.MaxStoredAnswerBytes"/> is not kept: a replay then says that the
    /// request succeeded and was charged, instead of running (and charging) it again.
    /// </summary>
    public Task StoreAsync(WriteScope scope, int status, string response, string? transactionId, Millicredits charged)
    {
        if (System.Text.Encoding.UTF8.GetByteCount(response) > store.MaxStoredAnswerBytes)
            (status, response) = (StatusCodes.Status409Conflict, TooLarge(response, transactionId, charged));
        return store.StoreAsync(scope, accountId, key, status, response);
    }

    /// <summary>Called once the write holding <see cref="StoreAsync"/> committed: the key is no longer released on dispose.</summary>
    public void Committed() => _open = false;

    private string TooLarge(string response, string? transactionId, Millicredits charged)
    {
        var error = new ApiError(StatusCodes.Status409Conflict, "invalid_request_error", "idempotency_answer_not_kept",
            $"The request with this Idempotency-Key succeeded and was charged {charged} credits"
            + (transactionId is null ? "" : $" (transaction {transactionId})")
            + $", but its answer ({System.Text.Encoding.UTF8.GetByteCount(response)} bytes) was larger than the {store.MaxStoredAnswerBytes} bytes kept for replays. "
            + "It is not run again. Ask for response_format \"url\" to get answers that can be replayed.");
        return System.Text.Json.JsonSerializer.Serialize(error.ToBody(), GatewayJson.Context.ErrorBody);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_open) return;
        _open = false;
        await store.ReleaseAsync(accountId, key);
    }
}
