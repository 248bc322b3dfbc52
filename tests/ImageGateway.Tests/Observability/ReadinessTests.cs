using System.Net;
using System.Text.Json;
using ImageGateway.Tests.Support;
using Microsoft.Data.Sqlite;

namespace ImageGateway.Tests.Observability;

public sealed class ReadinessTests : IDisposable
{
    private readonly GatewayFactory _gateway = new();

    public void Dispose() => _gateway.Dispose();

    [Fact]
    public async Task Readyz_goes_unhealthy_naming_the_database_when_its_file_is_unreadable()
    {
        _gateway.Settings["Gateway:Database:Provider"] = "sqlite"; // it garbles the SQLite file, whatever IGW_TEST_GATEWAY_DATABASE says
        using var client = _gateway.CreateClient();
        var healthy = await client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, healthy.StatusCode);
        var checks = JsonDocument.Parse(await healthy.Content.ReadAsStringAsync()).RootElement.GetProperty("checks");
        Assert.Equal("ok", checks.GetProperty("database").GetProperty("status").GetString());
        Assert.Equal("ok", checks.GetProperty("storage").GetProperty("status").GetString());

        SqliteConnection.ClearAllPools();
        foreach (var file in Directory.GetFiles(_gateway.DataDirectory, "gateway.db*"))
            File.WriteAllBytes(file, new byte[8192]); // root ignores file modes, so garble the bytes instead

        var failing = await client.GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, failing.StatusCode);
        var report = JsonDocument.Parse(await failing.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("failing", report.GetProperty("status").GetString());
        Assert.NotEqual("ok", report.GetProperty("checks").GetProperty("database").GetProperty("status").GetString());
        Assert.Equal("ok", report.GetProperty("checks").GetProperty("storage").GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode); // alive, just not ready
    }

    [Fact]
    public async Task Readyz_answers_get_only_and_other_methods_get_the_json_405()
    {
        using var client = _gateway.CreateClient();

        var post = await client.PostAsync("/readyz", null);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
        Assert.Equal("method_not_allowed", JsonDocument.Parse(await post.Content.ReadAsStringAsync())
            .RootElement.GetProperty("error").GetProperty("code").GetString());
    }
}
