using ImageGateway.IntegrationTests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace ImageGateway.IntegrationTests.Console;

/// <summary>
/// Every page the sidebar offers, as a user and as an operator, on a laptop and on a phone: each
/// fits the screen (no sideways scroll), logs no console error, and is kept as a screenshot
/// (<c>page-{name}-{viewport}.png</c>, copied to <c>artifacts/screenshots</c> by the test script).
/// The pages are read from the sidebar, so a new page is covered without editing this test.
/// </summary>
public sealed class ConsoleEveryPageTests(ConsoleFixture fixture) : IClassFixture<ConsoleFixture>
{
    static ConsoleEveryPageTests() => SetDefaultExpectTimeout(15_000);

    public static TheoryData<string, bool> Screens => new()
    {
        { "desktop", false }, { "phone", false }, { "desktop", true }, { "phone", true },
    };

    [SkippableTheory]
    [MemberData(nameof(Screens))]
    public async Task Every_page_fits_the_screen_and_logs_no_error(string screen, bool asAdmin)
    {
        var viewport = ConsoleFixture.Viewport(screen);
        var key = asAdmin ? GatewayProcess.AdminKey : (await fixture.Gateway.CreateUserAsync("managed", 500m)).Key;
        var page = await fixture.OpenConsoleAsync(viewport);
        var errors = ConsoleErrors.Watch(page);

        await page.GetByLabel("API key").FillAsync(key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.Locator("main")).ToHaveAttributeAsync("data-page", "generate");

        var names = await page.Locator(".sidebar nav a[data-page]:not([hidden])")
            .EvaluateAllAsync<string[]>("links => links.map(a => a.dataset.page)");
        Assert.Contains("generate", names);
        Assert.Equal(asAdmin, names.Contains("admin"));
        foreach (var name in names)
        {
            await page.GotoAsync($"/#/{name}");
            await Expect(page.Locator("main")).ToHaveAttributeAsync("data-page", name);
            await Expect(page.Locator("main h1")).ToBeVisibleAsync();
            await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
            // Focus moves to the new page's heading, so a screen reader announces where it landed.
            Assert.Equal("H1", await page.EvaluateAsync<string>("() => document.activeElement.tagName"));
            Assert.True(await ConsoleFixture.FitsAsync(page), $"{name} scrolls sideways at {viewport.Width} px");
            await ConsoleFixture.ScreenshotAsync(page, $"page-{name}{(asAdmin ? "-admin" : "")}-{screen}");
        }
        errors.AssertNone();
    }
}

/// <summary>Collects what the page logs as an error: console.error, failed loads (4xx/5xx) and uncaught exceptions.</summary>
public sealed class ConsoleErrors
{
    private readonly List<string> _errors = [];

    public static ConsoleErrors Watch(IPage page)
    {
        var watch = new ConsoleErrors();
        page.Console += (_, message) => { if (message.Type == "error") lock (watch._errors) watch._errors.Add(message.Text); };
        page.PageError += (_, error) => { lock (watch._errors) watch._errors.Add(error); };
        return watch;
    }

    public void AssertNone()
    {
        lock (_errors) Assert.True(_errors.Count == 0, "console errors: " + string.Join(" | ", _errors));
    }
}
