using ImageGateway.Tests.Billing;
using ImageGateway.Tests.Support;

namespace ImageGateway.IntegrationTests.Billing;

/// <summary>DESIGN §3: the fast suite's ledger tests on a fresh PostgreSQL database (skipped without the server).</summary>
public sealed class PostgresCreditLedgerTests : CreditLedgerTests
{
    protected override DbKind Kind => DbKind.Postgres;
}
