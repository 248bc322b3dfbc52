using System.Data.Common;

namespace ImageGateway.Data;

/// <summary>
/// What differs between the embedded SQLite file and a shared PostgreSQL server: how to connect,
/// how writers are made atomic, and the column types of the shared <see cref="Schema"/>. Callers write portable SQL
/// (Dapper parameters, BIGINT unix-millisecond times, TEXT ids, RETURNING) and never branch on
/// the dialect themselves.
/// </summary>
public interface IDbDialect
{
    string Name { get; }

    DbConnection CreateConnection();

    /// <summary>The <see cref="Schema"/> migrations, in order, spelled with this engine's column types.</summary>
    IReadOnlyList<Migration> Migrations { get; }

    /// <summary>The group commits so far and the writes in them; null when every write commits on its own.</summary>
    CommitCounters? GroupCommits { get; }

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

    /// <summary>
    /// Runs <paramref name="write"/> atomically, but may return before it is committed: it is then
    /// committed with the next write that commits, or by <see cref="FlushAsync"/>, within
    /// milliseconds. Every later write sees it; a crash before its commit loses it whole. For a
    /// write that is only worth keeping once a later write builds on it (a credit hold, settled or
    /// released by the same request). Dialects that cannot defer commit it as <see cref="WriteAsync"/> does.
    /// </summary>
    Task<T> WriteDeferredAsync<T>(Func<WriteScope, Task<T>> write, CancellationToken ct);

    /// <summary>Commits every deferred write that has returned, so a read that follows sees it.</summary>
    Task FlushAsync();

    /// <summary>
    /// True when concurrent writers run their transactions in parallel on the server (each on its
    /// own pooled connection), so writers of one row queue on its lock; false when
    /// <see cref="BeginWriteAsync"/> serializes every writer already.
    /// </summary>
    bool WritersRunInParallel { get; }

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

/// <summary>One INSERT or UPDATE with its parameters, to run alone or with others in one command (<see cref="WriteScope.ExecuteAsync(SqlStatement[])"/>).</summary>
public sealed record SqlStatement(string Sql, (string Name, object? Value)[] Parameters);

/// <summary>Commits of write groups and the writes they carried: their ratio is the mean group size.</summary>
public sealed class CommitCounters
{
    private long _groups, _writes;

    public long Groups => Interlocked.Read(ref _groups);
    public long Writes => Interlocked.Read(ref _writes);

    internal void Add(long writes)
    {
        Interlocked.Increment(ref _groups);
        Interlocked.Add(ref _writes, writes);
    }
}

/// <summary>A connection with an open write transaction, plus whatever the dialect must release afterwards.</summary>
/// <param name="commands">
/// Where the dialect keeps commands between writes on a long-lived connection (SQLite's group
/// committer); null when each write gets a fresh connection.
/// </param>
public sealed class WriteScope(DbConnection connection, DbTransaction transaction, Action? onDispose,
    Dictionary<string, DbCommand>? commands = null) : IAsyncDisposable
{
    public DbConnection Connection { get; } = connection;
    public DbTransaction Transaction { get; } = transaction;

    public Task CommitAsync(CancellationToken ct = default) => Transaction.CommitAsync(ct);

    /// <summary>
    /// A command for <paramref name="sql"/> in this transaction, its parameters bound in the order
    /// given (always the same names for the same text). For the hot ledger statements: where the
    /// dialect keeps commands, the statement is parsed once per connection instead of once per
    /// request, which on SQLite is most of the cost of a small INSERT.
    /// </summary>
    public DbCommand Command(string sql, params ReadOnlySpan<(string Name, object? Value)> parameters)
    {
        DbCommand? command = null;
        var reused = commands is not null && commands.TryGetValue(sql, out command);
        if (!reused)
        {
            command = Connection.CreateCommand();
            command.CommandText = sql;
            foreach (var (name, _) in parameters)
            {
                var parameter = command.CreateParameter();
                parameter.ParameterName = name;
                command.Parameters.Add(parameter);
            }
            commands?.Add(sql, command);
        }
        command!.Transaction = Transaction;
        for (var i = 0; i < parameters.Length; i++) command.Parameters[i].Value = parameters[i].Value ?? DBNull.Value;
        return command;
    }

    /// <summary>Runs <see cref="Command"/> and returns the rows it changed.</summary>
    public async Task<int> ExecuteAsync(string sql, params (string Name, object? Value)[] parameters)
    {
        var command = Command(sql, parameters);
        try
        {
            return await command.ExecuteNonQueryAsync();
        }
        finally
        {
            if (commands is null) await command.DisposeAsync();
        }
    }

    /// <summary>
    /// Runs several statements as one command: one round trip to the server (Npgsql batches them,
    /// SQLite steps through them). Their parameter names must differ.
    /// </summary>
    public Task<int> ExecuteAsync(params SqlStatement[] statements) => statements.Length == 1
        ? ExecuteAsync(statements[0].Sql, statements[0].Parameters)
        : ExecuteAsync(string.Join(";\n", statements.Select(s => s.Sql)), statements.SelectMany(s => s.Parameters).ToArray());

    /// <summary>Runs <see cref="Command"/> and maps its first row, or returns default when there is none.</summary>
    public async Task<T?> QueryFirstAsync<T>(string sql, Func<DbDataReader, T> map, params (string Name, object? Value)[] parameters)
    {
        var command = Command(sql, parameters);
        try
        {
            await using var reader = await command.ExecuteReaderAsync();
            return await reader.ReadAsync() ? map(reader) : default;
        }
        finally
        {
            if (commands is null) await command.DisposeAsync();
        }
    }

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
