using ImageGateway.Tests.Data;
using ImageGateway.Tests.Support;

namespace ImageGateway.IntegrationTests.Data;

/// <summary>The fast suite's migration and store round trips on a fresh PostgreSQL database (skipped without the server).</summary>
public sealed class PostgresDataStoreTests : DataStoreTests
{
    protected override DbKind Kind => DbKind.Postgres;
}
