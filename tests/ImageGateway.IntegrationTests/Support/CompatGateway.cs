using System.Text.RegularExpressions;

namespace ImageGateway.IntegrationTests.Support;

/// <summary>
/// One gateway process (embedded default, temporary data folder) with the <c>openai</c> provider
/// pointed at a local <see cref="FakeOpenAi"/>, so dall-e-3 is servable offline, while
/// stable-diffusion-xl has no provider (the 503 <c>no_provider</c> case). The process logs one line
/// per finished request, which lets tests count what reached the gateway (retries included).
/// </summary>
public sealed class CompatGateway : IAsyncLifetime
{
    public const string UpstreamKey = "sk-platform-fake-openai-key";

    public GatewayProcess Gateway { get; private set; } = null!;
    public FakeOpenAi Upstream { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Upstream = await FakeOpenAi.StartAsync();
        Gateway = await GatewayProcess.StartAsync(new Dictionary<string, string>
        {
            ["Gateway__Providers__openai__BaseUrl"] = Upstream.BaseUrl.ToString(),
            ["Gateway__Providers__openai__ApiKey"] = UpstreamKey,
            // The fake is not api.openai.com, where BYOK is allowed by default; the brief's BYOK example needs it.
            ["Gateway__Providers__openai__AllowByok"] = "true",
            // ASP.NET Core's own "Request finished ... - {status}" line, one line per entry.
            ["Logging__LogLevel__Microsoft.AspNetCore.Hosting.Diagnostics"] = "Information",
            ["Logging__Console__FormatterName"] = "simple",
            ["Logging__Console__FormatterOptions__SingleLine"] = "true",
        });
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
    }

    public string Url(string path) => new Uri(Gateway.BaseUrl, path).ToString();

    /// <summary>How many <c>POST {path}</c> requests the gateway has finished, per status code.</summary>
    public IReadOnlyDictionary<int, int> FinishedPosts(string path)
    {
        var pattern = new Regex(@"Request finished HTTP/[\d.]+ POST " + Regex.Escape(Url(path)) + @" - (\d{3}) ");
        return pattern.Matches(Gateway.Output).GroupBy(m => int.Parse(m.Groups[1].Value)).ToDictionary(g => g.Key, g => g.Count());
    }

    /// <summary>
    /// <see cref="FinishedPosts"/> once the log has stopped growing: the line of a request a previous
    /// test made can arrive after its answer (the console logger writes in batches), and must not be
    /// counted as the next test's.
    /// </summary>
    public Task<IReadOnlyDictionary<int, int>> FinishedPostsWhenQuietAsync(string path) => QuietPostsAsync(path, atLeast: 0, tries: 20);

    /// <summary>
    /// The requests to <paramref name="path"/> finished since <paramref name="before"/>, once the log
    /// has been quiet for a moment (the line is written just after the response).
    /// </summary>
    public async Task<Dictionary<int, int>> PostsSinceAsync(string path, IReadOnlyDictionary<int, int> before)
    {
        var now = await QuietPostsAsync(path, atLeast: before.Values.Sum() + 1, tries: 10);
        return now.Select(kv => (kv.Key, Count: kv.Value - before.GetValueOrDefault(kv.Key)))
            .Where(kv => kv.Count > 0).ToDictionary(kv => kv.Key, kv => kv.Count);
    }

    /// <summary>
    /// Reads <see cref="FinishedPosts"/> every 150 ms until two reads agree and hold at least
    /// <paramref name="atLeast"/> lines, or <paramref name="tries"/> run out (then the last read).
    /// </summary>
    private async Task<IReadOnlyDictionary<int, int>> QuietPostsAsync(string path, int atLeast, int tries)
    {
        var last = FinishedPosts(path);
        for (var i = 0; i < tries; i++)
        {
            await Task.Delay(150);
            var now = FinishedPosts(path);
            var total = now.Values.Sum();
            if (total == last.Values.Sum() && total >= atLeast) return now;
            last = now;
        }
        return last;
    }
}
