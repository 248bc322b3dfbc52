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

    private ILocator Cards(IPage page) => page.Locator("#history-list .history-card");

    [SkippableTheory]
    [MemberData(nameof(ConsoleFixture.Screens), MemberType = typeof(ConsoleFixture))]
    public async Task History_survives_a_reload_and_fits_the_screen(string screen)
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 100m);
        using var client = Gateway.Client(key);
        await GenerateAsync(client, "A red fox in the snow");
        await GenerateAsync(client, "A blue whale under the sea");
        var page = await fixture.SignInAsync(key, ConsoleFixture.Viewport(screen));
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
        await ImagesLoadedAsync(page, ".history-images img");
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
        await Expect(Cards(page).First).ToContainTextAsync(new Regex("builtin-preview.*Succeeded.*256×256 · Standard.*1\\.20 cr"));
        await Expect(page.Locator("#history-list .history-card img")).ToHaveCountAsync(2);
        await ImagesLoadedAsync(page, "#history-list img");
        await Expect(page.Locator("#history-more")).ToBeHiddenAsync();
    }

    [SkippableFact]
    public async Task Search_status_and_model_filters_narrow_the_list_and_load_more_pages_by_cursor()
    {
        var (userId, key) = await UnlimitedUserAsync(100m);
        using var client = Gateway.Client(key);
        await GenerateAsync(client, "A red fox in the snow");
        await GenerateAsync(client, "A blue whale under the sea");
        for (var i = 0; i < 26; i++) await GenerateAsync(client, $"Filler picture number {i}");
        await RefusedAsync(userId, key, client, "A green frog on a leaf");
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
        await Expect(refusedCard).ToHaveTextAsync(new Regex(@"^No image.*green frog.*Refused.*0\.00 cr"));
        await Expect(refusedCard.Locator("img")).ToHaveCountAsync(0);
        // Its detail says why.
        await refusedCard.Locator("a.history-link").ClickAsync();
        await Expect(page.Locator("main .alert")).ToContainTextAsync("Refused: HTTP 402 · insufficient_credits");
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
        var id = await GenerateAsync(client, "A lighthouse at dusk", new { seed = 42 });
        await GenerateAsync(other, "Someone else's cat");
        var page = await fixture.SignInAsync(key);
        var errors = ConsoleErrors.Watch(page);
        await page.GotoAsync("/#/history");
        await Cards(page).First.Locator("a.history-link").ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex($"#/history/{Regex.Escape(id)}$"));

        foreach (var (name, value) in new[] { ("Prompt", "A lighthouse at dusk"), ("Model", "builtin-preview"), ("Size", "256×256"), ("Quality", "Standard"),
            ("Seed", "42"), ("Images", "1"), ("Response format", "url"), ("Cost", "1.20 credits"), ("Provider", "builtin"), ("Your key (BYOK)", "no"), ("Status", "Succeeded") })
            await Expect(page.Locator($"#history-params dd[data-param='{name}']")).ToHaveTextAsync(value);
        await Expect(page.GetByTestId("expiry")).ToHaveTextAsync(new Regex("^Link expires "));
        Assert.StartsWith("http", await page.Locator(".history-images a[download]").GetAttributeAsync("href"));

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
        Assert.Equal("Someone else's cat", Assert.Single(await ListAsync(other)).GetProperty("prompt").GetString());
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
        await using var context = await (await fixture.BrowserAsync()).NewContextAsync(new() { BaseURL = gateway.BaseUrl.ToString().TrimEnd('/') });
        await context.AddInitScriptAsync($"sessionStorage.setItem('igw.console.key', '{key}')");   // signed in, as after a reload
        var page = await context.NewPageAsync();
        var errors = ConsoleErrors.Watch(page);
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
    [MemberData(nameof(ConsoleFixture.Screens), MemberType = typeof(ConsoleFixture))]
    public async Task Cards_are_equal_in_height_and_only_transparent_images_get_the_checkerboard(string screen)
    {
        var (userId, key) = await Gateway.CreateUserAsync("managed", 100m);
        using var client = Gateway.Client(key);
        await GenerateAsync(client, "Fox");
        await GenerateAsync(client, "A very long prompt about a quiet harbour town at night, lanterns on the water, fishing boats, gulls asleep on the masts, "
            + "rain on the cobbles and a single lit window above the bakery where someone is already kneading tomorrow's bread");
        await GenerateAsync(client, "A medium prompt: mountains at sunrise");
        var transparent = await GenerateAsync(client, "Shapes on nothing", new { background = "transparent", output_format = "png" });
        // A b64_json answer's images were only in the response: its card says so instead of a picture.
        await GenerateAsync(client, "Sent inline only", new { response_format = "b64_json" });
        await RefusedAsync(userId, key, client, "Refused");
        var viewport = ConsoleFixture.Viewport(screen);
        var page = await fixture.SignInAsync(key, viewport);
        await page.GotoAsync("/#/history");
        await Expect(Cards(page)).ToHaveCountAsync(6);
        await Expect(Cards(page).GetByTestId("missing")).ToHaveTextAsync(["No image", "Not stored (b64_json)"]);
        // The thumbnails load lazily: bring each into view (on a phone they are one below the other).
        for (var i = 0; i < 6; i++) await Cards(page).Nth(i).ScrollIntoViewIfNeededAsync();
        await Expect(page.Locator("#history-list img")).ToHaveCountAsync(4);
        await ImagesLoadedAsync(page, "#history-list img");
        // Only builtin-preview's transparent image has transparent pixels; the opaque ones get no checkerboard.
        await Expect(page.Locator($"#history-list .history-card[data-id='{transparent}'] .frame.alpha")).ToHaveCountAsync(1);
        await page.WaitForTimeoutAsync(300);                                   // the load handlers run after `complete`
        await Expect(page.Locator("#history-list .frame.alpha")).ToHaveCountAsync(1);

        var boxes = new List<LocatorBoundingBoxResult>();
        for (var i = 0; i < 6; i++) boxes.Add((await Cards(page).Nth(i).BoundingBoxAsync())!);
        // Every card as tall as the first: a row of four on a laptop (and the next row's), one column on a phone.
        if (screen == "desktop") Assert.Equal(4, boxes.Count(b => Math.Abs(b.Y - boxes[0].Y) < 1));
        Assert.All(boxes, b => Assert.Equal(boxes[0].Height, b.Height, 0.5));
        Assert.All(boxes, b => Assert.True(b.X >= 0 && b.X + b.Width <= viewport.Width, $"a card spills out: {b.X}+{b.Width}"));
        Assert.True(await ConsoleFixture.FitsAsync(page));
        await ConsoleFixture.ScreenshotAsync(page, $"history-cards-{screen}");
        await page.EmulateMediaAsync(new() { ColorScheme = ColorScheme.Dark });
        await ConsoleFixture.ScreenshotAsync(page, $"history-cards-dark-{screen}");
    }

    /// <summary>A builtin-preview 256×256 request through the API (more fields in <paramref name="extra"/>); returns its history id.</summary>
    private static async Task<string> GenerateAsync(HttpClient client, string prompt, object? extra = null, HttpStatusCode expect = HttpStatusCode.OK)
    {
        var body = new Dictionary<string, object> { ["prompt"] = prompt, ["model"] = "builtin-preview", ["size"] = "256x256" };
        foreach (var p in extra?.GetType().GetProperties() ?? []) body[p.Name] = p.GetValue(extra)!;
        var response = await client.PostAsJsonAsync("/api/v1/llm/images/generations", body);
        Assert.True(response.StatusCode == expect, $"generate: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return (await ListAsync(client, 1))[0].GetProperty("id").GetString()!;
    }

    /// <summary>With no credits left a request is refused before any provider is asked, and recorded as refused.</summary>
    private async Task<string> RefusedAsync(string userId, string key, HttpClient client, string prompt)
    {
        using var admin = Gateway.Client(GatewayProcess.AdminKey);
        var response = await admin.PostAsJsonAsync($"/api/v1/admin/users/{userId}/credits", new { amount = -await Gateway.CreditsAsync(key), reason = "test" });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await GenerateAsync(client, prompt, expect: HttpStatusCode.PaymentRequired);
    }

    private static async Task<JsonElement[]> ListAsync(HttpClient client, int limit = 100)
    {
        using var json = JsonDocument.Parse(await client.GetStringAsync($"/api/v1/history?limit={limit}"));
        return json.RootElement.GetProperty("data").EnumerateArray().Select(e => e.Clone()).ToArray();
    }

    private static Task ImagesLoadedAsync(IPage page, string images) => page.WaitForFunctionAsync(
        "s => [...document.querySelectorAll(s)].every(i => i.complete && i.naturalWidth > 0)", images);

    /// <summary>A managed user whose rate limits are lifted, so a test can make a few dozen requests at once.</summary>
    private async Task<(string UserId, string Key)> UnlimitedUserAsync(decimal credits)
    {
        var (userId, key) = await Gateway.CreateUserAsync("managed", credits);
        using var admin = Gateway.Client(GatewayProcess.AdminKey);
        var response = await admin.PutAsJsonAsync($"/api/v1/admin/users/{userId}/limits", new { per_minute = 0, per_hour = 0, per_day = 0, per_month = 0 });
        Assert.True(response.IsSuccessStatusCode, $"set limits: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return (userId, key);
    }
}
