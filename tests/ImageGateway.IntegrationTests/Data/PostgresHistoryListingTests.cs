using ImageGateway.Tests.History;
using ImageGateway.Tests.Support;

namespace ImageGateway.IntegrationTests.Data;

/// <summary>The fast suite's history and daily-usage SQL with the whole gateway on a fresh PostgreSQL database (skipped without the server).</summary>
public sealed class PostgresHistoryListingTests : HistoryListingTests
{
    protected override DbKind Kind => DbKind.Postgres;
}
