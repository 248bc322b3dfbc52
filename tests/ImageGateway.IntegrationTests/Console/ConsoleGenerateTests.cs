using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using ImageGateway.IntegrationTests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace ImageGateway.IntegrationTests.Console;

/// <summary>
/// The generate page's issue-26 fixes in Chromium, on a laptop and on a phone: a BYOK user with no
/// credits generates on their own key, a model nobody serves cannot be picked, a 429 counts images
/// and keeps Generate disabled with a countdown, and the gallery comes back after a reload.
/// </summary>
public sealed class ConsoleGenerateTests(ConsoleFixture fixture) : IClassFixture<ConsoleFixture>
{
    private GatewayProcess Gateway => fixture.Gateway;

    static ConsoleGenerateTests() => SetDefaultExpectTimeout(15_000);

    [SkippableTheory]
    [MemberData(nameof(ConsoleFixture.Screens), MemberType = typeof(ConsoleFixture))]
    public async Task A_byok_user_with_no_credits_sees_their_own_key_and_generates_on_it(string screen)
    {
        var (_, key) = await Gateway.CreateUserAsync("byok", 0m);
        const string ownKey = "sk-own-console-key-0123456789abcdef";
        using (var client = Gateway.Client(key))
            Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/api/v1/llm/byok/keys", new { provider = "openai", api_key = ownKey })).StatusCode);
        var page = await fixture.SignInAsync(key, ConsoleFixture.Viewport(screen));
        var errors = ConsoleErrors.Watch(page);

        await page.GetByLabel("Model").SelectOptionAsync("gpt-image-2");
        await Expect(page.Locator("#model option[value='gpt-image-2']")).ToContainTextAsync("your OpenAI key");
        await Expect(page.Locator("#estimate-byok")).ToHaveTextAsync("Your OpenAI key");
        await Expect(page.Locator("#estimate-cost")).ToHaveTextAsync("0 credits");
        await Expect(page.Locator("#estimate-note")).ToContainTextAsync("On the platform's providers it would cost");
        await Expect(page.Locator("#estimate-short")).ToHaveCountAsync(0);
        var button = page.Locator("#generate-btn");
        await Expect(button).ToBeEnabledAsync();
        Assert.True(await ConsoleFixture.FitsAsync(page), $"the generate page scrolls sideways at {ConsoleFixture.Viewport(screen).Width} px");
        await ConsoleFixture.ScreenshotAsync(page, $"generate-byok-{screen}");

        var before = fixture.Upstream.Calls.Count;
        await page.GetByLabel("Prompt").FillAsync("a paper boat on my own key");
        await button.ClickAsync();
        await Expect(page.Locator("#gen-done")).ToContainTextAsync("billed to your own key");
        Assert.Equal(0m, await Gateway.CreditsAsync(key));
        // The upstream was called with the user's key, never the platform's.
        Assert.Contains(fixture.Upstream.Calls.Skip(before), c => c.Authorization == $"Bearer {ownKey}");
        Assert.DoesNotContain(fixture.Upstream.Calls.Skip(before), c => c.Authorization!.Contains(ConsoleFixture.UpstreamKey));
        errors.AssertNone();
    }

    [SkippableTheory]
    [MemberData(nameof(ConsoleFixture.Screens), MemberType = typeof(ConsoleFixture))]
    public async Task A_model_without_a_provider_is_marked_and_cannot_be_picked(string screen)
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 100m);
        var page = await fixture.SignInAsync(key, ConsoleFixture.Viewport(screen));
        var errors = ConsoleErrors.Watch(page);

        // stable-diffusion-xl has no provider here: listed, marked, disabled; gpt-image-2 is served.
        var sdxl = page.Locator("#model option[value='stable-diffusion-xl']");
        await Expect(sdxl).ToHaveTextAsync("stable-diffusion-xl (not available here)");
        await Expect(sdxl).ToBeDisabledAsync();
        await Expect(page.Locator("#model option[value='gpt-image-2']")).ToBeEnabledAsync();
        await Expect(page.Locator("#model option[value='gpt-image-2']")).ToHaveTextAsync("gpt-image-2");
        // The model chosen at first is one that can be used.
        var chosen = await page.Locator("#model").InputValueAsync();
        Assert.True(await page.Locator($"#model option[value='{chosen}']").IsEnabledAsync(), $"{chosen} was chosen but is disabled");
        // Nothing in the page names an environment variable or a circuit.
        var text = await page.Locator("main").InnerTextAsync();
        Assert.DoesNotMatch(new Regex("Gateway__|circuit", RegexOptions.IgnoreCase), text);
        errors.AssertNone();
    }

    [SkippableFact]
    public async Task A_429_counts_images_and_keeps_generate_disabled_with_a_countdown()
    {
        var (_, key) = await Gateway.CreateUserAsync("free", 100m);            // free: 2 images a minute
        await MinuteWindow.EnsureLeftAsync(TimeSpan.FromSeconds(40));
        using (var client = Gateway.Client(key))
            Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/api/v1/llm/images/generations",
                new { prompt = "two at once", model = "builtin-preview", size = "256x256", n = 2 })).StatusCode);
        var page = await fixture.SignInAsync(key, ConsoleFixture.Phone);
        await page.GetByLabel("Model").SelectOptionAsync("builtin-preview");
        await page.GetByLabel("Prompt").FillAsync("a third one");
        await Expect(page.Locator("[data-testid=estimate]:not([data-pending])")).ToBeVisibleAsync();
        var button = page.Locator("#generate-btn");
        await button.ClickAsync();

        var alert = page.Locator("#gen-status .alert");
        await Expect(alert).ToContainTextAsync("2 images per minute");
        await Expect(alert).ToContainTextAsync("counts images");
        await Expect(button).ToBeDisabledAsync();
        await Expect(button).ToHaveTextAsync(new Regex(@"^Try again in \d+ s$"));
        var first = Seconds(await button.TextContentAsync());
        await Expect(button).Not.ToHaveTextAsync($"Try again in {first} s", new() { Timeout = 5_000 });
        var later = Seconds(await button.TextContentAsync());
        Assert.True(later < first, $"the countdown went from {first} to {later}");
        // It counts down to the end of the minute the limit counts, no further.
        Assert.True(first <= 60 - DateTimeOffset.UtcNow.Second + 2, $"{first} s is past the minute's end");
        Assert.Equal(97m, await Gateway.CreditsAsync(key));                    // 2 × 1.5 (free); the refusal cost nothing
        await ConsoleFixture.ScreenshotAsync(page, "generate-429-phone");
    }

    private static int Seconds(string? text) => int.Parse(Regex.Match(text ?? "", @"\d+").Value);

    [SkippableFact]
    public async Task The_gallery_comes_back_after_a_reload_from_the_history()
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 100m);
        var page = await fixture.SignInAsync(key);
        await page.GetByLabel("Model").SelectOptionAsync("builtin-preview");
        await page.GetByLabel("Size").SelectOptionAsync("256x256");
        await page.GetByLabel("Prompt").FillAsync("a lighthouse that survives reloads");
        await page.Locator("#generate-btn").ClickAsync();
        await Expect(page.Locator("#gen-done")).ToBeVisibleAsync();

        await page.ReloadAsync();
        var card = page.Locator("#gallery .shot").First;
        await Expect(card).ToContainTextAsync("a lighthouse that survives reloads");
        await Expect(card).ToContainTextAsync("builtin-preview · 256×256");
        await Expect(card.Locator(".expiry")).ToContainTextAsync("Link expires in");

        // The card is the history's entry, and its image is the stored one.
        using var client = Gateway.Client(key);
        using var history = JsonDocument.Parse(await client.GetStringAsync("/api/v1/history?limit=1"));
        var entry = history.RootElement.GetProperty("data")[0];
        Assert.Equal(entry.GetProperty("id").GetString(), await card.GetAttributeAsync("data-history-id"));
        var src = await card.Locator("img").GetAttributeAsync("src");
        Assert.Equal(entry.GetProperty("images")[0].GetProperty("url").GetString(), src);
        // An opaque image gets no transparency checkerboard.
        await Expect(card.Locator(".frame img")).ToHaveJSPropertyAsync("complete", true);
        await Expect(card.Locator(".frame")).Not.ToHaveClassAsync(new Regex(@"\balpha\b"));
    }

    [SkippableFact]
    public async Task The_sidebar_links_the_api_reference()
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 10m);
        var page = await fixture.SignInAsync(key);
        var link = page.Locator(".sidebar nav a#nav-docs");
        await Expect(link).ToHaveTextAsync("API reference");
        var popup = await page.Context.RunAndWaitForPageAsync(() => link.ClickAsync());
        await popup.WaitForLoadStateAsync(LoadState.DOMContentLoaded);
        Assert.StartsWith("/docs", new Uri(popup.Url).AbsolutePath);
        Assert.Contains("ImageGateway", await popup.TitleAsync());
    }
}
