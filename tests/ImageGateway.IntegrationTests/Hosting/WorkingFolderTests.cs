using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ImageGateway.IntegrationTests.Support;

namespace ImageGateway.IntegrationTests.Hosting;

/// <summary>
/// The published gateway as systemd or a container starts it: <c>dotnet /path/ImageGateway.dll</c>
/// from a working folder that holds no appsettings.json. The defaults must load all the same.
/// </summary>
public sealed class WorkingFolderTests
{
    [Fact]
    public async Task Started_from_an_empty_working_folder_it_serves_the_briefs_request()
    {
        var elsewhere = Directory.CreateTempSubdirectory("igw-cwd-").FullName;
        try
        {
            Assert.False(File.Exists(Path.Combine(elsewhere, "appsettings.json")));
            await using var gateway = await GatewayProcess.StartAsync(workingDirectory: elsewhere);
            var (_, key) = await gateway.CreateUserAsync();
            using var client = gateway.Client(key);

            var response = await client.PostAsJsonAsync("/api/v1/llm/image/generations",
                new { prompt = "a lighthouse at dusk", model = "builtin-preview", size = "256x256", response_format = "b64_json" });

            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, body);
            using var json = JsonDocument.Parse(body);
            Assert.False(string.IsNullOrEmpty(json.RootElement.GetProperty("data")[0].GetProperty("b64_json").GetString()));
            Assert.Equal("builtin", json.RootElement.GetProperty("_metadata").GetProperty("provider_used").GetString());
        }
        finally
        {
            Directory.Delete(elsewhere, recursive: true);
        }
    }
}
