using ImageGateway.Hosting;
using ImageGateway.Providers;
using ImageGateway.Providers.OpenAi;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Providers;

/// <summary>The openai adapter called directly, with a credential and UpstreamClient as ProviderRegistry makes them, against FakeGptImage.</summary>
public abstract class OpenAiAdapterTests : IAsyncLifetime
{
    protected const string Key = "sk-adapter-test-key";
    protected FakeUpstream Host = null!;
    protected FakeGptImage Fake = null!;
    protected readonly OpenAiProvider Provider = new();
    private readonly SocketsHttpHandler _handler = ProviderRegistry.CreateHandler();

    public async Task InitializeAsync()
    {
        Host = await FakeUpstream.StartAsync();
        Fake = FakeGptImage.On(Host);
        Fake.ApiKey = Key;
    }

    public async Task DisposeAsync()
    {
        _handler.Dispose();
        await Host.DisposeAsync();
    }

    protected ProviderCredential Credential(double timeoutSeconds = 10, int maxRetries = 0) =>
        new(Key, Host.BaseUrl + "/v1", new UpstreamClient("openai",
            new ProviderOptions { TimeoutSeconds = timeoutSeconds, MaxRetries = maxRetries, RetryBaseDelayMs = 1 }, _handler, TimeProvider.System));

    protected static ImageJob Job(string prompt = "a lighthouse", int n = 1, string size = "1024x1024", string quality = "low") =>
        new("gpt-image-2", prompt, n, 1024, 1024, size, quality, Style: null, Seed: null, User: null);

    protected static InputImage Input(int width, int height, string format = "png", bool alpha = false, string? fileName = null) =>
        new(ImageFile.Make(width, height, format, alpha), format == "jpeg" ? "image/jpeg" : "image/" + format, width, height, fileName);
}
