using System.Data.Common;

namespace ImageGateway.Data;

/// <summary>
/// What differs between the embedded SQLite file and a shared PostgreSQL server: how to connect,
/// how writers are made atomic, and the DDL of each migration. Callers write portable SQL
/// (Dapper parameters, BIGINT unix-millisecond times, TEXT ids, RETURNING) and never branch on
/// the dialect themselves.
/// </summary>
public interface IDbDialect
{
    string Name { get; }

    DbConnection CreateConnection();

    /// <summary>Ordered schema migrations for this dialect. Versions are shared across dialects.</summary>
    IReadOnlyList<Migration> Migrations { get; }

    /// <summary>
    /// Opens a write transaction in which a conditional UPDATE followed by dependent INSERTs is
    /// atomic with respect to every other writer.
    /// </summary>
    ValueTask<WriteScope> BeginWriteAsync(CancellationToken ct);

    /// <summary>
    /// Runs <paramref name="write"/> atomically and durably (as the dialect defines it) and returns its
    /// result once committed; nothing of it is kept when it throws.
    /// </summary>
    Task<T> WriteAsync<T>(Func<WriteScope, Task<T>> write, CancellationToken ct);

    /// <summary>True when only this process can use the database, so every open hold at start-up is an orphan.</summary>
    bool IsSingleProcess { get; }

    /// <summary>
    /// A statement run first in every migration transaction that blocks until no other process is
    /// migrating the same database (so concurrent starts apply each migration once); null when
    /// <see cref="BeginWriteAsync"/> already serializes every writer.
    /// </summary>
    string? MigrationLockSql { get; }
}

public sealed record Migration(int Version, string Name, string Sql);

/// <summary>A connection with an open write transaction, plus whatever the dialect must release afterwards.</summary>
public sealed class WriteScope(DbConnection connection, DbTransaction transaction, Action? onDispose) : IAsyncDisposable
{
    public DbConnection Connection { get; } = connection;
    public DbTransaction Transaction { get; } = transaction;

    public Task CommitAsync(CancellationToken ct = default) => Transaction.CommitAsync(ct);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Transaction.DisposeAsync();
            await Connection.DisposeAsync();
        }
        finally
        {
            onDispose?.Invoke();
        }
    }
}
