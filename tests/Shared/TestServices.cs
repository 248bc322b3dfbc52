namespace ImageGateway.TestSupport;

/// <summary>
/// The real services scripts/test.sh starts for the run (PostgreSQL, Redis, s3rver, Chromium, the npm
/// openai client). A test that needs one calls <see cref="Require"/>: when scripts/test.sh runs as
/// root (CI) a missing service fails the test; otherwise the test is skipped with the reason.
/// </summary>
public static class TestServices
{
    public static string Postgres => Require("IGW_TEST_POSTGRES", "PostgreSQL");
    public static string Redis => Require("IGW_TEST_REDIS", "Redis");
    public static string S3 => Require("IGW_TEST_S3", "an S3 server (s3rver)");
    public static string Chromium => Require("IGW_TEST_CHROMIUM", "Chromium");
    public static string NodeModules => Require("IGW_TEST_NODE_MODULES", "the npm test clients");

    public static bool Required => Environment.GetEnvironmentVariable("IGW_TEST_REQUIRE_SERVICES") == "1";

    public static string Require(string variable, string what)
    {
        var value = Environment.GetEnvironmentVariable(variable);
        if (!string.IsNullOrEmpty(value)) return value;
        if (Required) throw new InvalidOperationException($"{what} is required (set by scripts/test.sh as {variable}) but is missing.");
        Skip.If(true, $"{what} is not available ({variable} unset); run scripts/test.sh to start it.");
        return "";
    }
}
