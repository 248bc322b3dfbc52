using ImageGateway.Tests.Billing;
using ImageGateway.Tests.Support;
using Xunit.Abstractions;

namespace ImageGateway.IntegrationTests.Billing;

/// <summary>The fast suite's money tests with the whole gateway on a fresh PostgreSQL database (skipped without the server).</summary>
public sealed class PostgresGatewayMoneyTests(ITestOutputHelper output) : GatewayMoneyTests(output)
{
    protected override DbKind Kind => DbKind.Postgres;
}
