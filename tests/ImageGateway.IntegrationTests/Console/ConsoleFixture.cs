using ImageGateway.IntegrationTests.Support;
using Microsoft.Playwright;

namespace ImageGateway.IntegrationTests.Console;

/// <summary>
/// One gateway process, with the <c>openai</c> provider on a local <see cref="FakeOpenAi"/> (so
/// gpt-image-2 and the retired names it serves are usable, and stable-diffusion-xl has no provider),
/// and one headless Debian Chromium for the console tests. The browser is
/// launched on first use, inside a test, so a missing Chromium skips (or, in CI, fails) the tests
/// rather than breaking the fixture. Playwright never downloads a browser here.
/// </summary>
public sealed class ConsoleFixture : IAsyncLifetime
{
    private readonly SemaphoreSlim _launch = new(1, 1);
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public const string UpstreamKey = "sk-platform-console-fake-key";

    public GatewayProcess Gateway { get; private set; } = null!;
    public FakeOpenAi Upstream { get; private set; } = null!;

    public static string ScreenshotFolder { get; } = Path.Combine(AppContext.BaseDirectory, "screenshots");

    public async Task InitializeAsync()
    {
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        Upstream = await FakeOpenAi.StartAsync();
        Gateway = await GatewayProcess.StartAsync(new Dictionary<string, string>
        {
            ["Gateway__Providers__openai__BaseUrl"] = Upstream.BaseUrl.ToString(),
            ["Gateway__Providers__openai__ApiKey"] = UpstreamKey,
            // The fake is not api.openai.com, where BYOK is allowed by default.
            ["Gateway__Providers__openai__AllowByok"] = "true",
        });
    }

    public async Task<IBrowser> BrowserAsync()
    {
        var chromium = TestServices.Chromium;
        await _launch.WaitAsync();
        try
        {
            if (_browser is not null) return _browser;
            _playwright = await Playwright.CreateAsync();
            _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = chromium,
                Headless = true,
                Args = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"],
            });
            return _browser;
        }
        finally
        {
            _launch.Release();
        }
    }

    /// <summary>The two screens of issue 26's trial: a laptop and a phone.</summary>
    public static readonly ViewportSize Desktop = new() { Width = 1440, Height = 900 };
    public static readonly ViewportSize Phone = new() { Width = 390, Height = 844 };

    /// <summary>The two screens by name, for a theory that runs at both (<c>[MemberData(nameof(Screens), MemberType = typeof(ConsoleFixture))]</c>).</summary>
    public static TheoryData<string> Screens => new() { "desktop", "phone" };

    public static ViewportSize Viewport(string screen) => screen == "phone" ? Phone : Desktop;

    /// <summary>A fresh browser context (own sessionStorage) with a page on the console, at <see cref="Desktop"/> unless told.</summary>
    public async Task<IPage> OpenConsoleAsync(ViewportSize? viewport = null)
    {
        var browser = await BrowserAsync();
        var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = Gateway.BaseUrl.ToString().TrimEnd('/'),
            ViewportSize = viewport ?? Desktop,
            AcceptDownloads = true,
        });
        context.SetDefaultTimeout(15_000);
        var page = await context.NewPageAsync();
        await page.GotoAsync("/");
        return page;
    }

    public async Task<IPage> SignInAsync(string key, ViewportSize? viewport = null)
    {
        var page = await OpenConsoleAsync(viewport);
        await page.GetByLabel("API key").FillAsync(key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await page.Locator("#shell").WaitForAsync();
        return page;
    }

    /// <summary>True when nothing on the page is wider than the viewport (no sideways scroll).</summary>
    public static Task<bool> FitsAsync(IPage page) =>
        page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth");

    public static async Task ScreenshotAsync(IPage page, string name)
    {
        Directory.CreateDirectory(ScreenshotFolder);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotFolder, $"{name}.png"), FullPage = true });
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null) await _browser.CloseAsync();
        _playwright?.Dispose();
        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
    }
}
