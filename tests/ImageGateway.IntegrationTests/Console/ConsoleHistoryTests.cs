using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using ImageGateway.IntegrationTests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace ImageGateway.IntegrationTests.Console;

/// <summary>
/// The console's History page (issue 26 point 2) in a real Chromium: the caller's own record of
/// requests, read from <c>/api/v1/history</c>, survives a reload, searches, filters and pages, and
/// its detail view re-runs, edits and deletes, checked against the API.
/// </summary>
public sealed class ConsoleHistoryTests(ConsoleFixture fixture) : IClassFixture<ConsoleFixture>
{
    private GatewayProcess Gateway => fixture.Gateway;

    static ConsoleHistoryTests() => SetDefaultExpectTimeout(15_000);

    public static TheoryData<string> Screens => new() { "desktop", "phone" };

    private static ViewportSize Viewport(string screen) => screen == "phone" ? ConsoleFixture.Phone : ConsoleFixture.Desktop;

    private ILocator Cards(IPage page) => page.Locator("#history-list .history-card");

    [SkippableTheory]
    [MemberData(nameof(Screens))]
    public async Task History_survives_a_reload_and_fits_the_screen(string screen)
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 100m);
        using (var client = Gateway.Client(key))
        {
            await GenerateAsync(client, "A red fox in the snow");
            await GenerateAsync(client, "A blue whale under the sea");
        }
        var page = await fixture.SignInAsync(key, Viewport(screen));
        var errors = ConsoleErrors.Watch(page);
        await page.GetByRole(AriaRole.Link, new() { Name = "History", Exact = true }).ClickAsync();
        await Expect(page.Locator("main")).ToHaveAttributeAsync("data-page", "history");

        await ExpectTwoCardsAsync(page);
        await page.ReloadAsync();
        await Expect(page.Locator("main")).ToHaveAttributeAsync("data-page", "history");
        await ExpectTwoCardsAsync(page);
        Assert.True(await ConsoleFixture.FitsAsync(page), $"the history list scrolls sideways at {screen}");
        await ConsoleFixture.ScreenshotAsync(page, $"page-history-list-{screen}");

        // The detail view has an address of its own and fits too.
        await Cards(page).First.Locator("a.history-link").ClickAsync();
        await Expect(page.Locator("#history-params")).ToContainTextAsync("A blue whale under the sea");
        await page.WaitForFunctionAsync("() => [...document.querySelectorAll('.history-images img')].every(i => i.complete && i.naturalWidth > 0)");
        Assert.True(await ConsoleFixture.FitsAsync(page), $"the history detail scrolls sideways at {screen}");
        await ConsoleFixture.ScreenshotAsync(page, $"page-history-detail-{screen}");
        errors.AssertNone();
    }

    private async Task ExpectTwoCardsAsync(IPage page)
    {
        await Expect(Cards(page)).ToHaveCountAsync(2);
        // Newest first, each with its picture, model, size, quality as people write it, cost and status.
        await Expect(Cards(page).Nth(0).Locator(".prompt")).ToHaveTextAsync(new Regex("blue whale"));
        await Expect(Cards(page).Nth(1).Locator(".prompt")).ToHaveTextAsync(new Regex("red fox"));
        var first = Cards(page).First;
        await Expect(first).ToContainTextAsync("builtin-preview");
        await Expect(first).ToContainTextAsync("256×256 · Standard");
        await Expect(first).ToContainTextAsync("1.20 cr");
        await Expect(first.GetByTestId("status")).ToHaveTextAsync("Succeeded");
        await Expect(page.Locator("#history-list .history-card img")).ToHaveCountAsync(2);
        await page.WaitForFunctionAsync("() => [...document.querySelectorAll('#history-list img')].every(i => i.complete && i.naturalWidth === 256)");
        await Expect(page.Locator("#history-more")).ToBeHiddenAsync();
    }

    [SkippableFact]
    public async Task Search_status_and_model_filters_narrow_the_list_and_load_more_pages_by_cursor()
    {
        var (userId, key) = await UnlimitedUserAsync(100m);
        using (var client = Gateway.Client(key))
        {
            await GenerateAsync(client, "A red fox in the snow");
            await GenerateAsync(client, "A blue whale under the sea");
            for (var i = 0; i < 26; i++) await GenerateAsync(client, $"Filler picture number {i}");
            // With no credits left the next request is refused before any provider: recorded as refused.
            await SetCreditsToZeroAsync(userId, await Gateway.CreditsAsync(key));
            var refused = await client.PostAsJsonAsync("/api/v1/llm/images/generations", new { prompt = "A green frog on a leaf", model = "builtin-preview", size = "256x256" });
            Assert.Equal(HttpStatusCode.PaymentRequired, refused.StatusCode);
        }
        var page = await fixture.SignInAsync(key);
        var errors = ConsoleErrors.Watch(page);
        await page.GotoAsync("/#/history");

        // 29 entries: a page of 24, then Load more brings the last 5 and goes away.
        await Expect(Cards(page)).ToHaveCountAsync(24);
        await Expect(Cards(page).First).ToHaveAttributeAsync("data-status", "refused");
        await Expect(page.Locator("#history-more")).ToBeVisibleAsync();
        await page.Locator("#history-more").ClickAsync();
        await Expect(Cards(page)).ToHaveCountAsync(29);
        await Expect(page.Locator("#history-more")).ToBeHiddenAsync();
        await Expect(Cards(page).Nth(24).Locator("a.history-link")).ToBeFocusedAsync();   // focus goes to the first new card
        await Expect(Cards(page).Last.Locator(".prompt")).ToHaveTextAsync(new Regex("red fox"));
        var ids = await Cards(page).EvaluateAllAsync<string[]>("cs => cs.map(c => c.dataset.id)");
        Assert.Equal(29, ids.Distinct().Count());

        // Typing searches (debounced): only the whale.
        await page.GetByLabel("Search prompts").FillAsync("whale");
        await Expect(Cards(page)).ToHaveCountAsync(1);
        await Expect(Cards(page).First.Locator(".prompt")).ToHaveTextAsync(new Regex("blue whale"));
        await page.GetByLabel("Search prompts").FillAsync("");
        await Expect(Cards(page)).ToHaveCountAsync(24);

        // The status filter shows the refused request, with no picture and what it cost.
        await page.GetByLabel("Status").SelectOptionAsync("refused");
        await Expect(Cards(page)).ToHaveCountAsync(1);
        var refusedCard = Cards(page).First;
        await Expect(refusedCard.Locator(".prompt")).ToHaveTextAsync(new Regex("green frog"));
        await Expect(refusedCard.GetByTestId("status")).ToHaveTextAsync("Refused");
        await Expect(refusedCard.GetByTestId("missing")).ToHaveTextAsync("No image");
        await Expect(refusedCard).ToContainTextAsync("0.00 cr");
        await Expect(refusedCard.Locator("img")).ToHaveCountAsync(0);

        // Its detail says why.
        await refusedCard.Locator("a.history-link").ClickAsync();
        await Expect(page.Locator("main .alert")).ToContainTextAsync("HTTP 402");
        await Expect(page.Locator("main .alert")).ToContainTextAsync("insufficient_credits");
        await page.Locator("#history-back").ClickAsync();
        await Expect(Cards(page)).ToHaveCountAsync(24);

        // The model filter: everything is builtin-preview, nothing is dall-e-3.
        await page.GetByLabel("Model").SelectOptionAsync("dall-e-3");
        await Expect(page.Locator("#history-list .empty")).ToContainTextAsync("Nothing matches");
        await Expect(Cards(page)).ToHaveCountAsync(0);
        await page.GetByLabel("Model").SelectOptionAsync("builtin-preview");
        await Expect(Cards(page)).ToHaveCountAsync(24);
        await page.GetByLabel("Status").SelectOptionAsync("succeeded");
        await page.GetByLabel("Search prompts").FillAsync("Filler picture");
        await page.GetByLabel("Search prompts").PressAsync("Enter");
        await Expect(Cards(page)).ToHaveCountAsync(24);
        await page.Locator("#history-more").ClickAsync();
        await Expect(Cards(page)).ToHaveCountAsync(26);
        await Expect(page.Locator("#history-more")).ToBeHiddenAsync();
        errors.AssertNone();
    }

    [SkippableFact]
    public async Task Detail_shows_the_parameters_and_rerun_edit_delete_and_delete_all_work()
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 100m);
        var (_, otherKey) = await Gateway.CreateUserAsync("managed", 100m);
        using var client = Gateway.Client(key);
        using var other = Gateway.Client(otherKey);
        var id = await GenerateAsync(client, "A lighthouse at dusk", seed: 42);
        await GenerateAsync(other, "Someone else's cat");
        var page = await fixture.SignInAsync(key);
        var errors = ConsoleErrors.Watch(page);
        await page.GotoAsync("/#/history");
        await Cards(page).First.Locator("a.history-link").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex($"#/history/{Regex.Escape(id)}$"));

        var param = (string name) => page.Locator($"#history-params dd[data-param='{name}']");
        await Expect(param("Prompt")).ToHaveTextAsync("A lighthouse at dusk");
        await Expect(param("Model")).ToHaveTextAsync("builtin-preview");
        await Expect(param("Size")).ToHaveTextAsync("256×256");
        await Expect(param("Quality")).ToHaveTextAsync("Standard");
        await Expect(param("Seed")).ToHaveTextAsync("42");
        await Expect(param("Images")).ToHaveTextAsync("1");
        await Expect(param("Response format")).ToHaveTextAsync("url");
        await Expect(param("Cost")).ToHaveTextAsync("1.20 credits");
        await Expect(param("Provider")).ToHaveTextAsync("builtin");
        await Expect(param("Your key (BYOK)")).ToHaveTextAsync("no");
        await Expect(param("Status")).ToHaveTextAsync("Succeeded");
        await Expect(page.GetByTestId("expiry")).ToHaveTextAsync(new Regex("^Link expires "));
        var download = page.Locator(".history-images a[download]");
        Assert.StartsWith("http", await download.GetAttributeAsync("href"));

        // Re-run fills the generate form and shows the price; nothing is sent or charged.
        var balance = await Gateway.CreditsAsync(key);
        await page.Locator("#history-rerun").ClickAsync();
        await Expect(page.Locator("main")).ToHaveAttributeAsync("data-page", "generate");
        await Expect(page.Locator("#generate-form textarea[name=prompt]")).ToHaveValueAsync("A lighthouse at dusk");
        await Expect(page.Locator("#generate-form select[name=model]")).ToHaveValueAsync("builtin-preview");
        await Expect(page.Locator("#generate-form select[name=size]")).ToHaveValueAsync("256x256");
        await Expect(page.Locator("#estimate-cost")).ToHaveAttributeAsync("data-value", "1.2");
        Assert.Equal(balance, await Gateway.CreditsAsync(key));
        Assert.Single(await ListAsync(client));

        // Edit opens the generate page's editor on the stored image.
        await page.GotoAsync($"/#/history/{id}");
        await page.Locator(".history-images").GetByRole(AriaRole.Button, new() { Name = "Edit" }).ClickAsync();
        await Expect(page.Locator("main")).ToHaveAttributeAsync("data-page", "generate");
        await Expect(page.Locator("#editor[data-ready]")).ToBeVisibleAsync();
        await page.Keyboard.PressAsync("Escape");
        await Expect(page.GetByTestId("editor")).ToHaveCountAsync(0);
        Assert.Equal(balance, await Gateway.CreditsAsync(key));

        // Delete, after a danger confirmation, removes the entry and goes back to the list.
        await page.GotoAsync($"/#/history/{id}");
        await page.Locator("#history-delete").ClickAsync();
        await Expect(page.Locator("#confirm-ok")).ToHaveClassAsync(new Regex("btn-danger"));
        await page.Locator("#confirm-ok").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("#/history$"));
        await Expect(page.Locator("#history-list .empty")).ToContainTextAsync("No history yet");
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/api/v1/history/{id}")).StatusCode);

        // Delete all empties the list, says how many went, and leaves another user's history alone.
        await GenerateAsync(client, "One more");
        await GenerateAsync(client, "And another");
        await page.ReloadAsync();
        await Expect(Cards(page)).ToHaveCountAsync(2);
        await page.Locator("#history-delete-all").ClickAsync();
        await page.Locator("#confirm-cancel").ClickAsync();
        await Expect(Cards(page)).ToHaveCountAsync(2);                      // Cancel deletes nothing
        await page.Locator("#history-delete-all").ClickAsync();
        await page.Locator("#confirm-ok").ClickAsync();
        await Expect(page.Locator(".toast")).ToContainTextAsync("Deleted 2 entries");
        await Expect(page.Locator("#history-list .empty")).ToContainTextAsync("No history yet");
        Assert.Empty(await ListAsync(client));
        var others = await ListAsync(other);
        Assert.Single(others);
        Assert.Equal("Someone else's cat", others[0].GetProperty("prompt").GetString());
        errors.AssertNone();

        // A deleted entry's address says it is gone rather than breaking.
        await page.GotoAsync($"/#/history/{id}");
        await Expect(page.Locator("#history-detail .empty")).ToContainTextAsync("No such entry");
    }

    [SkippableFact]
    public async Task Where_prompts_are_not_kept_the_page_says_so_and_rerun_fills_the_other_fields()
    {
        await using var gateway = await GatewayProcess.StartAsync(new Dictionary<string, string> { ["Gateway__History__KeepPrompts"] = "false" });
        var (_, key) = await gateway.CreateUserAsync("managed", 100m);
        using (var client = gateway.Client(key)) await GenerateAsync(client, "A prompt the deployment must not keep");
        var browser = await fixture.BrowserAsync();
        await using var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = gateway.BaseUrl.ToString().TrimEnd('/'), ViewportSize = ConsoleFixture.Desktop,
        });
        var page = await context.NewPageAsync();
        var errors = ConsoleErrors.Watch(page);
        await page.GotoAsync("/");
        await page.GetByLabel("API key").FillAsync(key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await page.Locator("#shell").WaitForAsync();
        await page.GotoAsync("/#/history");

        await Expect(Cards(page)).ToHaveCountAsync(1);
        await Expect(Cards(page).First.Locator(".prompt")).ToHaveTextAsync("Prompt not kept");
        await Cards(page).First.Locator("a.history-link").ClickAsync();
        await Expect(page.Locator("#history-prompt")).ToHaveTextAsync("Prompt not kept");
        await Expect(page.Locator("#history-params")).Not.ToContainTextAsync("must not keep");
        await page.Locator("#history-rerun").ClickAsync();
        await Expect(page.Locator("main")).ToHaveAttributeAsync("data-page", "generate");
        await Expect(page.Locator("#generate-form select[name=size]")).ToHaveValueAsync("256x256");
        await Expect(page.Locator("#generate-form select[name=model]")).ToHaveValueAsync("builtin-preview");
        await Expect(page.Locator("#generate-form textarea[name=prompt]")).ToHaveValueAsync("");
        errors.AssertNone();
    }

    [SkippableTheory]
    [MemberData(nameof(Screens))]
    public async Task Cards_are_equal_in_height_and_opaque_images_get_no_checkerboard(string screen)
    {
        var (userId, key) = await Gateway.CreateUserAsync("managed", 100m);
        using (var client = Gateway.Client(key))
        {
            await GenerateAsync(client, "Fox");
            await GenerateAsync(client, "A very long prompt about a quiet harbour town at night, lanterns on the water, fishing boats, gulls asleep on the masts, "
                + "rain on the cobbles and a single lit window above the bakery where someone is already kneading tomorrow's bread");
            await GenerateAsync(client, "A medium prompt: mountains at sunrise");
            // A b64_json answer's images were only in the response: its card says so instead of a picture.
            var b64 = await client.PostAsJsonAsync("/api/v1/llm/images/generations",
                new { prompt = "Sent inline only", model = "builtin-preview", size = "256x256", response_format = "b64_json" });
            Assert.Equal(HttpStatusCode.OK, b64.StatusCode);
            await SetCreditsToZeroAsync(userId, await Gateway.CreditsAsync(key));
            Assert.Equal(HttpStatusCode.PaymentRequired,
                (await client.PostAsJsonAsync("/api/v1/llm/images/generations", new { prompt = "Refused", model = "builtin-preview", size = "256x256" })).StatusCode);
        }
        var viewport = Viewport(screen);
        var page = await fixture.SignInAsync(key, viewport);
        await page.GotoAsync("/#/history");
        await Expect(Cards(page)).ToHaveCountAsync(5);
        await Expect(Cards(page).Nth(1).GetByTestId("missing")).ToHaveTextAsync("Not stored (b64_json)");
        await Expect(Cards(page).Nth(0).GetByTestId("missing")).ToHaveTextAsync("No image");
        // The thumbnails load lazily: bring each into view (on a phone they are one below the other).
        for (var i = 0; i < 5; i++) await Cards(page).Nth(i).ScrollIntoViewIfNeededAsync();
        await page.WaitForFunctionAsync("() => [...document.querySelectorAll('#history-list img')].length === 3 && [...document.querySelectorAll('#history-list img')].every(i => i.complete && i.naturalWidth > 0)");
        // The load handlers that decide the checkerboard run after `complete`: give them a moment.
        await page.WaitForTimeoutAsync(300);
        await Expect(page.Locator("#history-list .frame.alpha")).ToHaveCountAsync(0);

        var boxes = new List<LocatorBoundingBoxResult>();
        for (var i = 0; i < 5; i++) boxes.Add((await Cards(page).Nth(i).BoundingBoxAsync())!);
        if (screen == "desktop")
        {
            var row = boxes.Where(b => Math.Abs(b.Y - boxes[0].Y) < 1).ToList();
            Assert.Equal(4, row.Count);                                        // one row of four on a laptop
            Assert.All(boxes, b => Assert.Equal(row[0].Height, b.Height, 0.5));   // and the next row's match
        }
        else
        {
            Assert.All(boxes, b => Assert.True(b.X >= 0 && b.X + b.Width <= viewport.Width, $"a card spills out: {b.X}+{b.Width}"));
            Assert.All(boxes, b => Assert.Equal(boxes[0].Height, b.Height, 0.5));
        }
        Assert.True(await ConsoleFixture.FitsAsync(page));
        await ConsoleFixture.ScreenshotAsync(page, $"history-cards-{screen}");
        await page.EmulateMediaAsync(new() { ColorScheme = ColorScheme.Dark });
        await ConsoleFixture.ScreenshotAsync(page, $"history-cards-dark-{screen}");
    }

    [SkippableFact]
    public async Task Only_an_image_with_transparent_pixels_gets_the_checkerboard()
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 100m);
        string opaque, transparent;
        using (var client = Gateway.Client(key))
        {
            opaque = await GenerateAsync(client, "Opaque shapes");
            var response = await client.PostAsJsonAsync("/api/v1/llm/images/generations",
                new { prompt = "Shapes on nothing", model = "builtin-preview", size = "256x256", background = "transparent", output_format = "png" });
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            transparent = (await ListAsync(client, 1))[0].GetProperty("id").GetString()!;
        }
        var page = await fixture.SignInAsync(key);
        await page.GotoAsync("/#/history");
        await Expect(Cards(page)).ToHaveCountAsync(2);
        await Expect(page.Locator($"#history-list .history-card[data-id='{transparent}'] .frame.alpha")).ToHaveCountAsync(1);
        await page.WaitForFunctionAsync("() => [...document.querySelectorAll('#history-list img')].every(i => i.complete && i.naturalWidth > 0)");
        await page.WaitForTimeoutAsync(300);
        await Expect(page.Locator($"#history-list .history-card[data-id='{opaque}'] .frame.alpha")).ToHaveCountAsync(0);

        await page.GotoAsync($"/#/history/{transparent}");
        await Expect(page.Locator("#history-params dd[data-param='Background']")).ToHaveTextAsync("transparent");
        await Expect(page.Locator(".history-images .frame.alpha")).ToHaveCountAsync(1);
    }

    /// <summary>A builtin-preview 256×256 image through the API; returns its history id.</summary>
    private static async Task<string> GenerateAsync(HttpClient client, string prompt, long? seed = null)
    {
        object body = seed is null
            ? new { prompt, model = "builtin-preview", size = "256x256" }
            : new { prompt, model = "builtin-preview", size = "256x256", seed };
        var response = await client.PostAsJsonAsync("/api/v1/llm/images/generations", body);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"generate: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        var list = await ListAsync(client, 1);
        return list[0].GetProperty("id").GetString()!;
    }

    private static async Task<JsonElement[]> ListAsync(HttpClient client, int limit = 100)
    {
        using var json = JsonDocument.Parse(await client.GetStringAsync($"/api/v1/history?limit={limit}"));
        return json.RootElement.GetProperty("data").EnumerateArray().Select(e => e.Clone()).ToArray();
    }

    /// <summary>A managed user whose rate limits are lifted, so a test can make a few dozen requests at once.</summary>
    private async Task<(string UserId, string Key)> UnlimitedUserAsync(decimal credits)
    {
        var (userId, key) = await Gateway.CreateUserAsync("managed", credits);
        using var admin = Gateway.Client(GatewayProcess.AdminKey);
        var response = await admin.PutAsJsonAsync($"/api/v1/admin/users/{userId}/limits", new { per_minute = 0, per_hour = 0, per_day = 0, per_month = 0 });
        Assert.True(response.IsSuccessStatusCode, $"set limits: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return (userId, key);
    }

    private async Task SetCreditsToZeroAsync(string userId, decimal balance)
    {
        using var admin = Gateway.Client(GatewayProcess.AdminKey);
        var response = await admin.PostAsJsonAsync($"/api/v1/admin/users/{userId}/credits", new { amount = -balance, reason = "test" });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
