using ImageGateway.Tests.Accounts;
using ImageGateway.Tests.Support;

namespace ImageGateway.IntegrationTests.Accounts;

/// <summary>The fast suite's two-process key-cache tests on a fresh PostgreSQL database (skipped without the server).</summary>
public sealed class PostgresKeyCacheTests : KeyCacheTests
{
    protected override DbKind Kind => DbKind.Postgres;
}
