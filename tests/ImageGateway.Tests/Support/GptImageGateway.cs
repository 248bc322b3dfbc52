using ImageGateway.Tests.Providers;

namespace ImageGateway.Tests.Support;

/// <summary>
/// An in-process gateway whose <c>openai</c> provider is <see cref="FakeGptImage"/> on a loopback
/// port (no retries), and a managed user on it: the base of the GPT-image test classes.
/// </summary>
public abstract class GptImageGateway : IAsyncLifetime
{
    protected GatewayFactory Gateway { get; } = new GatewayFactory().WithoutUpstreamKeys();
    protected FakeUpstream OpenAi { get; private set; } = null!;
    protected FakeGptImage Fake { get; private set; } = null!;

    public virtual async Task InitializeAsync()
    {
        OpenAi = await FakeUpstream.StartAsync();
        Gateway.UseOpenAi("openai", OpenAi, maxRetries: 0);
        Fake = FakeGptImage.On(OpenAi);
    }

    public async Task DisposeAsync()
    {
        Gateway.Dispose();
        await OpenAi.DisposeAsync();
    }

    protected async Task<(HttpClient Client, string UserId)> UserAsync(decimal credits = 1000m, string tier = "managed")
    {
        var (userId, key) = await Gateway.CreateUserAsync(tier, credits);
        return (Gateway.ClientWithKey(key), userId);
    }
}
