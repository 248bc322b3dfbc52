using System.Diagnostics;
using Microsoft.Data.Sqlite;

namespace ImageGateway.Bench;

/// <summary>
/// Fills a migrated, stopped gateway's SQLite file with many accounts and ledger entries, so the
/// benchmark can show whether a request gets slower as the ledger grows. Each table is one
/// set-based <c>INSERT … SELECT</c> over a recursive CTE in one transaction: minutes for ten
/// million rows where row-by-row inserts would take an hour.
/// </summary>
/// <remarks>
/// Every seeded account keeps the ledger's invariants (see <c>CreditLedger</c>): its entries are one
/// grant, then reserve/settle pairs (each pair one closed reservation, settled exactly once), and
/// a trailing small grant when the count is even; so balance = Σ amount and reserved = Σ hold = 0.
/// Entry counts are spread evenly: with A accounts and E entries, the first E mod A accounts get
/// ⌊E/A⌋+1 entries and the rest ⌊E/A⌋. Ids have the same prefixes and lengths as real ones (ledger
/// entry and reservation ids time-ordered, as the gateway makes them, with times in the past), and
/// seeded key hashes are digits only, which no real key hashes to in practice, so no seeded key works.
/// </remarks>
public static class LedgerSeeder
{
    private const long Charge = 48_000;          // a dall-e-3 image at the managed tier, in millicredits
    private const long BaseBalance = 1_000_000;  // what every account has left after its charges
    private const long TrailingGrant = 1_000;

    public sealed record SeedResult(long Accounts, long Entries, long Reservations, TimeSpan Elapsed);

    public static SeedResult Seed(string databaseFile, long accounts, long entries)
    {
        var watch = Stopwatch.StartNew();
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databaseFile, Pooling = false }.ToString());
        connection.Open();

        // A throwaway copy being filled while nothing else has it open: no journal and no fsync is
        // safe here and several times faster. WAL is the one journal mode stored in the file, so
        // put it back if the gateway had chosen it.
        var journalMode = Scalar<string>(connection, "PRAGMA journal_mode");
        Execute(connection, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA temp_store = MEMORY; PRAGMA cache_size = -524288");

        var t0 = DateTimeOffset.UtcNow.AddDays(-200).ToUnixTimeMilliseconds();
        var seq0 = Scalar<long>(connection, "SELECT COALESCE(MAX(seq), 0) FROM ledger_entries");
        var perAccount = entries / accounts;
        var withExtra = entries % accounts;
        var parameters = new Dictionary<string, object>
        {
            ["$accounts"] = accounts, ["$entries"] = entries, ["$k"] = perAccount, ["$r"] = withExtra,
            ["$t0"] = t0, ["$seq0"] = seq0, ["$charge"] = Charge, ["$base"] = BaseBalance, ["$trailing"] = TrailingGrant,
        };

        // e = entries of account a; pairs = (e - 1) / 2; a trailing grant when (e - 1) is odd.
        const string entryCount = "($k + CASE WHEN a < $r THEN 1 ELSE 0 END)";
        InTransaction(connection, parameters, $"""
            WITH RECURSIVE n(a) AS (SELECT 0 UNION ALL SELECT a + 1 FROM n WHERE a + 1 < $accounts)
            INSERT INTO accounts (id, name, tier, balance_mc, reserved_mc, created_at)
            SELECT printf('usr_s%015d', a), printf('seed user %d', a), 'managed',
                   $base + CASE WHEN ({entryCount} - 1) % 2 = 1 THEN $trailing ELSE 0 END, 0, $t0
            FROM n
            """);
        InTransaction(connection, parameters, """
            WITH RECURSIVE n(a) AS (SELECT 0 UNION ALL SELECT a + 1 FROM n WHERE a + 1 < $accounts)
            INSERT INTO api_keys (id, account_id, key_hash, prefix, name, scope, created_at, expires_at, revoked_at)
            SELECT printf('key_s%015d', a), printf('usr_s%015d', a), printf('%064d', a), printf('uc_s%07d…', a % 10000000),
                   'default', 'user', $t0, NULL, NULL
            FROM n
            """);
        // Entry x belongs to account a as its j-th entry; x also orders time, so seq follows created_at
        // as it does in a live ledger.
        InTransaction(connection, parameters, $"""
            WITH RECURSIVE n(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM n WHERE x + 1 < $entries),
            placed AS (
                SELECT x,
                       CASE WHEN x < $r * ($k + 1) THEN x / ($k + 1) ELSE $r + (x - $r * ($k + 1)) / $k END AS a,
                       CASE WHEN x < $r * ($k + 1) THEN x % ($k + 1) ELSE (x - $r * ($k + 1)) % $k END AS j
                FROM n),
            shaped AS (
                SELECT x, a, j, {entryCount} AS e, (j - 1) / 2 AS p,
                       CASE WHEN j = 0 THEN 'grant'
                            WHEN (j - 1) % 2 = 1 THEN 'settle'
                            WHEN j = {entryCount} - 1 THEN 'grant'
                            ELSE 'reserve' END AS kind
                FROM placed)
            INSERT INTO ledger_entries (id, account_id, kind, amount_mc, hold_mc, balance_after_mc, reservation_id, description, created_at)
            SELECT 'txn_' || {TimeOrdered("$t0 + x * 1000")} || printf('%016d', x), printf('usr_s%015d', a), kind,
                   CASE WHEN j = 0 THEN $base + $charge * ((e - 1) / 2)
                        WHEN kind = 'grant' THEN $trailing
                        WHEN kind = 'settle' THEN -$charge
                        ELSE 0 END,
                   CASE kind WHEN 'reserve' THEN $charge WHEN 'settle' THEN -$charge ELSE 0 END,
                   CASE WHEN j = 0 THEN $base + $charge * ((e - 1) / 2)
                        WHEN kind = 'grant' THEN $base + $trailing
                        WHEN kind = 'settle' THEN $base + $charge * ((e - 1) / 2 - p - 1)
                        ELSE $base + $charge * ((e - 1) / 2 - p) END,
                   CASE kind WHEN 'reserve' THEN 'res_' || {TimeOrdered("$t0 + x * 1000")} || printf('%016d', x)
                             WHEN 'settle' THEN 'res_' || {TimeOrdered("$t0 + (x - 1) * 1000")} || printf('%016d', x - 1) END,
                   CASE kind WHEN 'grant' THEN 'initial credits' ELSE 'dall-e-3 1024x1024 standard x1' END,
                   $t0 + x * 1000
            FROM shaped
            """);
        // One closed reservation per reserve entry, settled one second later (the settle entry's time).
        InTransaction(connection, parameters, """
            INSERT INTO reservations (id, account_id, amount_mc, state, created_at, expires_at, closed_at)
            SELECT reservation_id, account_id, hold_mc, 'settled', created_at, created_at + 900000, created_at + 1000
            FROM ledger_entries WHERE seq > $seq0 AND kind = 'reserve'
            """);

        if (string.Equals(journalMode, "wal", StringComparison.OrdinalIgnoreCase)) Execute(connection, "PRAGMA journal_mode = WAL");
        var reservations = Scalar<long>(connection, $"SELECT COUNT(*) FROM ledger_entries WHERE seq > {seq0} AND kind = 'reserve'");
        VerifySample(connection, accounts);
        connection.Close();
        // Seeding with synchronous=OFF leaves gigabytes of dirty pages in the OS cache. Left alone,
        // the kernel writes them back while the gateway is being measured, and the gateway's first
        // WAL checkpoint (which fsyncs the database file) waits for all of them: that measured the
        // disk flushing the seed, not the gateway. So the seed is made durable here, as part of it.
        foreach (var file in new[] { databaseFile, databaseFile + "-wal" }.Where(File.Exists))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
            stream.Flush(flushToDisk: true);
        }
        return new SeedResult(accounts, entries, reservations, watch.Elapsed);
    }

    /// <summary>
    /// Checks the invariants on a few accounts (first, middle, last) through the account index: a full
    /// check would scan the ledger once per reservation, as reservation_id has no index.
    /// </summary>
    private static void VerifySample(SqliteConnection connection, long accounts)
    {
        foreach (var a in new[] { 0, accounts / 2, accounts - 1 }.Distinct())
        {
            var id = $"usr_s{a:D15}";
            var problems = Scalar<long>(connection, $"""
                SELECT ((SELECT balance_mc FROM accounts WHERE id = '{id}') <> (SELECT SUM(amount_mc) FROM ledger_entries WHERE account_id = '{id}'))
                     + ((SELECT reserved_mc FROM accounts WHERE id = '{id}') <> 0)
                     + ((SELECT SUM(hold_mc) FROM ledger_entries WHERE account_id = '{id}') <> 0)
                     + (SELECT COUNT(*) FROM ledger_entries r WHERE r.account_id = '{id}' AND r.kind = 'reserve' AND (
                          NOT EXISTS (SELECT 1 FROM reservations WHERE id = r.reservation_id AND account_id = '{id}' AND state = 'settled')
                          OR (SELECT COUNT(*) FROM ledger_entries s WHERE s.account_id = '{id}' AND s.kind <> 'reserve'
                                AND s.reservation_id = r.reservation_id) <> 1))
                """);
            if (problems != 0) throw new InvalidOperationException($"seeded account {id} breaks the ledger invariants");
        }
    }

    /// <summary>
    /// SQL for the 8 base62 characters of a millisecond time, as the gateway's time-ordered ids
    /// (ledger entries, reservations) start with: seeded rows are then older than, and sort before,
    /// the ones the benchmark adds, as in a ledger that grew over time.
    /// </summary>
    private static string TimeOrdered(string milliseconds)
    {
        const string alphabet = "'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'";
        return string.Join(" || ", Enumerable.Range(0, 8).Select(i =>
            $"substr({alphabet}, (({milliseconds}) / {(long)Math.Pow(62, 7 - i)}) % 62 + 1, 1)"));
    }

    private static void InTransaction(SqliteConnection connection, IReadOnlyDictionary<string, object> parameters, string sql)
    {
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.CommandTimeout = 0;
        foreach (var (name, value) in parameters)
            if (sql.Contains(name, StringComparison.Ordinal)) command.Parameters.AddWithValue(name, value);
        command.ExecuteNonQuery();
        transaction.Commit();
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static T Scalar<T>(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.CommandTimeout = 0;
        return (T)Convert.ChangeType(command.ExecuteScalar()!, typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }
}
