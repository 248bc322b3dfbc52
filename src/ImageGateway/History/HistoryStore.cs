using System.Text.Json;
using Dapper;
using ImageGateway.Data;
using ImageGateway.Http;
using Microsoft.Extensions.Options;

namespace ImageGateway.History;

/// <summary>What a history listing asks for: a page after <see cref="After"/>, newest first, optionally narrowed.</summary>
public sealed record HistoryQuery(int Limit, HistoryCursor? After, string? Prompt, string? Model, string? Status);

/// <summary>Where a page ended: the last entry's time and id (ids break ties between entries of one millisecond).</summary>
public sealed record HistoryCursor(long CreatedAt, string Id)
{
    public override string ToString() =>
        Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{CreatedAt}:{Id}")).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static bool TryParse(string text, out HistoryCursor? cursor)
    {
        cursor = null;
        try
        {
            var padded = text.Replace('-', '+').Replace('_', '/');
            var raw = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(padded.PadRight(padded.Length + (4 - padded.Length % 4) % 4, '=')));
            var colon = raw.IndexOf(':');
            if (colon <= 0 || !long.TryParse(raw.AsSpan(0, colon), out var at) || raw.Length - colon - 1 is < 1 or > 64) return false;
            cursor = new HistoryCursor(at, raw[(colon + 1)..]);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}

/// <summary>A stored entry, as read back.</summary>
public sealed class HistoryRow
{
    public string Id { get; set; } = "";
    public string Operation { get; set; } = "";
    public string Model { get; set; } = "";
    public string? Prompt { get; set; }
    public string Size { get; set; } = "";
    public string Quality { get; set; } = "";
    public long N { get; set; }
    public long? Seed { get; set; }
    public string Request { get; set; } = "";
    public string Status { get; set; } = "";
    public long HttpStatus { get; set; }
    public string? ErrorCode { get; set; }
    public string? ErrorMessage { get; set; }
    public long CostMc { get; set; }
    public string? Provider { get; set; }
    public long Byok { get; set; }
    public long Images { get; set; }
    public string? ImageFiles { get; set; }
    public long CreatedAt { get; set; }

    public HistoryRequest RequestParameters() =>
        JsonSerializer.Deserialize(Request, GatewayJson.Context.HistoryRequest)! with { Prompt = Prompt };
}

/// <summary>The <c>generation_history</c> table: each account's own record of its requests. Every read and delete is scoped to one account.</summary>
public sealed class HistoryStore(Database db, TimeProvider time, IOptions<HistoryOptions> options)
{
    private const string Columns =
        """
        id AS Id, operation AS Operation, model AS Model, prompt AS Prompt, size AS Size, quality AS Quality, n AS N, seed AS Seed,
        request AS Request, status AS Status, http_status AS HttpStatus, error_code AS ErrorCode, error_message AS ErrorMessage,
        cost_mc AS CostMc, provider AS Provider, byok AS Byok, images AS Images, image_files AS ImageFiles, created_at AS CreatedAt
        """;

    /// <summary>The entry's INSERT, to run in the write that settles its request (one command with its usage event).</summary>
    public SqlStatement Insert(HistoryEntry e)
    {
        var now = time.GetUtcNow();
        var r = e.Request;
        // The prompt lives in its own column only, so that KeepPrompts=false leaves no copy in the request JSON.
        var prompt = options.Value.KeepPrompts ? r.Prompt : null;
        var request = JsonSerializer.Serialize(r with { Prompt = null }, GatewayJson.Context.HistoryRequest);
        return new SqlStatement(
            """
            INSERT INTO generation_history (id, account_id, key_id, operation, model, prompt, size, quality, n, seed, request, status, http_status,
                error_code, error_message, cost_mc, provider, byok, images, image_files, created_at)
            VALUES (@h_id, @h_account, @h_key, @h_operation, @h_model, @h_prompt, @h_size, @h_quality, @h_n, @h_seed, @h_request, @h_status, @h_http,
                @h_code, @h_message, @h_cost, @h_provider, @h_byok, @h_images, @h_files, @h_at)
            """,
            [("@h_id", Ids.Ordered("hst", now)), ("@h_account", e.AccountId), ("@h_key", e.KeyId), ("@h_operation", e.Operation),
            ("@h_model", r.Model), ("@h_prompt", prompt), ("@h_size", r.Size), ("@h_quality", r.Quality), ("@h_n", r.N), ("@h_seed", r.Seed),
            ("@h_request", request), ("@h_status", e.Status), ("@h_http", e.HttpStatus), ("@h_code", e.ErrorCode), ("@h_message", e.ErrorMessage),
            ("@h_cost", e.Cost.Value), ("@h_provider", e.Provider), ("@h_byok", e.Byok ? 1 : 0), ("@h_images", e.Images),
            ("@h_files", e.ImageFiles is { Count: > 0 } files ? string.Join(' ', files) : null), ("@h_at", now.ToUnixTimeMilliseconds())]);
    }

    /// <summary>A refusal's entry, in its own write (nothing else is written for a refused request).</summary>
    public Task RecordAsync(HistoryEntry e) => db.WriteAsync(scope => scope.ExecuteAsync(Insert(e)), CancellationToken.None);

    /// <summary>One page, newest first, and whether more follow it.</summary>
    public Task<(IReadOnlyList<HistoryRow> Rows, bool More)> ListAsync(string accountId, HistoryQuery q, CancellationToken ct)
    {
        var where = "account_id = @accountId";
        if (q.After is not null) where += " AND (created_at < @at OR (created_at = @at AND id < @id))";
        // Case-insensitive on both engines: both sides lowered (SQLite's LOWER folds ASCII letters only).
        if (q.Prompt is not null) where += " AND prompt IS NOT NULL AND LOWER(prompt) LIKE @pattern ESCAPE '\\'";
        if (q.Model is not null) where += " AND model = @model";
        if (q.Status is not null) where += " AND status = @status";
        var pattern = q.Prompt is null ? null
            : "%" + q.Prompt.ToLowerInvariant().Replace("\\", "\\\\").Replace("%", "\\%").Replace("_", "\\_") + "%";
        return db.ReadAsync(async c =>
        {
            var rows = (await c.QueryAsync<HistoryRow>(new CommandDefinition(
                $"SELECT {Columns} FROM generation_history WHERE {where} ORDER BY created_at DESC, id DESC LIMIT @take",
                new { accountId, at = q.After?.CreatedAt, id = q.After?.Id, pattern, model = q.Model, status = q.Status, take = q.Limit + 1 },
                cancellationToken: ct))).ToList();
            var more = rows.Count > q.Limit;
            if (more) rows.RemoveAt(rows.Count - 1);
            return ((IReadOnlyList<HistoryRow>)rows, more);
        }, ct);
    }

    public Task<HistoryRow?> GetAsync(string accountId, string id, CancellationToken ct) =>
        db.ReadAsync(c => c.QuerySingleOrDefaultAsync<HistoryRow?>(new CommandDefinition(
            $"SELECT {Columns} FROM generation_history WHERE account_id = @accountId AND id = @id", new { accountId, id }, cancellationToken: ct)), ct);

    /// <summary>Deletes the account's entry; false when it has none of that id. The ledger and usage events are not touched.</summary>
    public async Task<bool> DeleteAsync(string accountId, string id, CancellationToken ct) =>
        await db.WriteAsync(scope => scope.ExecuteAsync("DELETE FROM generation_history WHERE account_id = @a AND id = @id",
            ("@a", accountId), ("@id", id)), ct) > 0;

    public Task<int> DeleteAllAsync(string accountId, CancellationToken ct) =>
        db.WriteAsync(scope => scope.ExecuteAsync("DELETE FROM generation_history WHERE account_id = @a", ("@a", accountId)), ct);

    /// <summary>Deletes every account's entries older than <c>KeepDays</c> (none when it is 0); housekeeping calls it.</summary>
    public async Task<int> PruneAsync(CancellationToken ct)
    {
        if (options.Value.KeepDays <= 0) return 0;
        var before = time.GetUtcNow().AddDays(-options.Value.KeepDays).ToUnixTimeMilliseconds();
        return await db.WriteAsync(scope => scope.ExecuteAsync("DELETE FROM generation_history WHERE created_at < @before", ("@before", before)), ct);
    }
}
