using System.Data.Common;
using Dapper;

namespace ImageGateway.Data;

/// <summary>The one door to the database: short reads on a pooled connection, atomic writes via the dialect.</summary>
public sealed class Database(IDbDialect dialect)
{
    public IDbDialect Dialect => dialect;

    /// <summary>Runs <paramref name="read"/> on its own connection; it sees every write that has returned (deferred ones are flushed first).</summary>
    public async Task<T> ReadAsync<T>(Func<DbConnection, Task<T>> read, CancellationToken ct = default)
    {
        await dialect.FlushAsync();
        await using var connection = dialect.CreateConnection();
        await connection.OpenAsync(ct);
        return await read(connection);
    }

    /// <summary>One cheap read that needs the database to answer (for <c>/readyz</c>); returns the dialect's name.</summary>
    public async Task<string> ProbeAsync(CancellationToken ct)
    {
        // A real table, not "SELECT 1": SQLite answers that without reading the file at all.
        await ReadAsync(c => c.ExecuteScalarAsync<long>(new CommandDefinition("SELECT COUNT(*) FROM schema_migrations", cancellationToken: ct)), ct);
        return dialect.Name;
    }

    /// <summary>Runs <paramref name="write"/> in a transaction and commits it unless it throws.</summary>
    public Task<T> WriteAsync<T>(Func<WriteScope, Task<T>> write, CancellationToken ct = default) =>
        dialect.WriteAsync(write, ct);

    /// <summary>Runs <paramref name="write"/> atomically; it may be committed just after it returns (see <see cref="IDbDialect.WriteDeferredAsync"/>).</summary>
    public Task<T> WriteDeferredAsync<T>(Func<WriteScope, Task<T>> write, CancellationToken ct = default) =>
        dialect.WriteDeferredAsync(write, ct);

    private readonly KeyedGate _rows = new();

    /// <summary>
    /// <see cref="WriteAsync{T}(Func{WriteScope, Task{T}}, CancellationToken)"/> (or, when
    /// <paramref name="deferred"/>, <see cref="WriteDeferredAsync{T}"/>) for a write that locks the
    /// row <paramref name="rowKey"/> names. Where writers run in parallel (PostgreSQL), this
    /// process sends one such write per row at a time and the rest wait in memory, in order: a
    /// thousand requests on one account would otherwise each hold a pooled connection while they
    /// wait for its lock, and exhaust the pool. Where the dialect serializes every writer (SQLite)
    /// this adds nothing.
    /// </summary>
    public async Task<T> WriteAsync<T>(string rowKey, Func<WriteScope, Task<T>> write, bool deferred = false, CancellationToken ct = default)
    {
        if (!dialect.WritersRunInParallel)
            return await (deferred ? dialect.WriteDeferredAsync(write, ct) : dialect.WriteAsync(write, ct));
        using var turn = await _rows.EnterAsync(rowKey, ct);
        return await dialect.WriteAsync(write, ct);
    }

    /// <summary>Rows with a write in flight or waiting (<see cref="WriteAsync{T}(string, Func{WriteScope, Task{T}}, bool, CancellationToken)"/>).</summary>
    public int RowsBeingWritten => _rows.ActiveKeys;

    /// <summary>
    /// Applies every migration not yet recorded in <c>schema_migrations</c>, each in its own
    /// transaction. Safe when several processes start at once: each transaction first takes the
    /// dialect's migration lock, and only then checks whether the version is already applied.
    /// </summary>
    public async Task MigrateAsync(TimeProvider time, CancellationToken ct = default)
    {
        await using (var scope = await BeginMigrationAsync(ct))
        {
            await scope.Connection.ExecuteAsync(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
                transaction: scope.Transaction);
            await scope.CommitAsync(ct);
        }

        foreach (var migration in dialect.Migrations.OrderBy(m => m.Version))
        {
            await using var scope = await BeginMigrationAsync(ct);
            var applied = await scope.Connection.ExecuteScalarAsync<long>(
                "SELECT COUNT(*) FROM schema_migrations WHERE version = @Version", new { migration.Version }, scope.Transaction);
            if (applied > 0) continue;
            await scope.Connection.ExecuteAsync(migration.Sql, transaction: scope.Transaction);
            await scope.Connection.ExecuteAsync(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (@Version, @Name, @At)",
                new { migration.Version, migration.Name, At = time.GetUtcNow().ToUnixTimeMilliseconds() }, scope.Transaction);
            await scope.CommitAsync(ct);
        }
    }

    private async Task<WriteScope> BeginMigrationAsync(CancellationToken ct)
    {
        var scope = await dialect.BeginWriteAsync(ct);
        if (dialect.MigrationLockSql is not { } lockSql) return scope;
        try
        {
            await scope.Connection.ExecuteAsync(lockSql, transaction: scope.Transaction);
            return scope;
        }
        catch
        {
            await scope.DisposeAsync();
            throw;
        }
    }
}
