using Dapper;
using ImageGateway.Data;

namespace ImageGateway.Billing;

/// <summary>The credit holds open right now, in every process that shares the database.</summary>
public static class OpenHolds
{
    /// <summary>
    /// Synchronous on purpose: called from a metrics scrape callback, which cannot await. So it does
    /// not flush deferred writes first: holds younger than the SQLite flush delay may be missing.
    /// </summary>
    public static long Count(Database db)
    {
        using var connection = db.Dialect.CreateConnection();
        connection.Open();
        return connection.ExecuteScalar<long>("SELECT COUNT(*) FROM reservations WHERE state = 'open'");
    }
}
