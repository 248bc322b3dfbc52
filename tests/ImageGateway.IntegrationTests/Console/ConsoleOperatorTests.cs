using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ImageGateway.IntegrationTests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace ImageGateway.IntegrationTests.Console;

/// <summary>
/// The operator pages (issue 26 point 8) in a real Chromium, on a laptop and on a phone: users
/// search, one user's detail (credits, tier, limits, keys, suspension), platform usage and provider
/// health, each checked against the admin API it shows.
/// </summary>
public sealed class ConsoleOperatorTests(ConsoleFixture fixture) : IClassFixture<ConsoleFixture>
{
    private GatewayProcess Gateway => fixture.Gateway;

    static ConsoleOperatorTests() => SetDefaultExpectTimeout(15_000);

    private static string Credits(decimal value) => value.ToString("#,##0.00#", CultureInfo.InvariantCulture);

    private async Task<JsonElement> AdminGetAsync(string path)
    {
        using var admin = Gateway.Client(GatewayProcess.AdminKey);
        var response = await admin.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private async Task<HttpStatusCode> CreditsStatusAsync(string key, string? expectCode = null)
    {
        using var client = Gateway.Client(key);
        var response = await client.GetAsync("/api/v1/llm/credits");
        if (expectCode is not null)
            Assert.Contains($"\"{expectCode}\"", await response.Content.ReadAsStringAsync());
        return response.StatusCode;
    }

    private static async Task AssertFitsAsync(IPage page, string what, ViewportSize viewport) =>
        Assert.True(await ConsoleFixture.FitsAsync(page), $"{what} scrolls sideways at {viewport.Width} px");

    [SkippableTheory]
    [MemberData(nameof(ConsoleFixture.Screens), MemberType = typeof(ConsoleFixture))]
    public async Task Users_search_finds_exactly_the_matching_users_and_shows_the_total(string screen)
    {
        var fragment = "srch" + Guid.NewGuid().ToString("N")[..8];
        using (var admin = Gateway.Client(GatewayProcess.AdminKey))
            foreach (var n in new[] { $"Alpha {fragment}", $"beta-{fragment.ToUpperInvariant()}", $"Gamma {fragment} Ltd" })
                Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/v1/admin/users", new { name = n, tier = "starter", credits = 5m })).StatusCode);
        var viewport = ConsoleFixture.Viewport(screen);
        var page = await fixture.SignInAsync(GatewayProcess.AdminKey, viewport);
        var errors = ConsoleErrors.Watch(page);
        await page.GotoAsync("/#/admin");

        var all = await AdminGetAsync("/api/v1/admin/users?limit=1");
        await Expect(page.Locator("#users-total")).ToHaveTextAsync($"{all.GetProperty("total").GetInt64()} users");

        await page.Locator("#user-search").FillAsync(fragment);
        var api = await AdminGetAsync($"/api/v1/admin/users?q={fragment}");
        Assert.Equal(3, api.GetProperty("total").GetInt64());
        await Expect(page.Locator("#users-total")).ToHaveTextAsync($"3 of {all.GetProperty("total").GetInt64()} match");
        await Expect(page.Locator("#users tbody tr")).ToHaveCountAsync(3);
        var shown = await page.Locator("#users tbody tr").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.userId)");
        Assert.Equal(api.GetProperty("data").EnumerateArray().Select(u => u.GetProperty("id").GetString()!).Order(), shown.Order());
        await AssertFitsAsync(page, "the users page", viewport);
        await ConsoleFixture.ScreenshotAsync(page, $"page-admin-search-{screen}");

        // A row opens the user's detail; its breadcrumb comes back to the same search.
        await page.Locator("#users tbody tr", new() { HasText = "Alpha" }).GetByRole(AriaRole.Link, new() { Name = $"Alpha {fragment}", Exact = true }).ClickAsync();
        await Expect(page.Locator("main h1")).ToHaveTextAsync($"Alpha {fragment}");
        await page.Locator(".breadcrumb a", new() { HasText = "Users" }).ClickAsync();
        await Expect(page.Locator("#user-search")).ToHaveValueAsync(fragment);
        await Expect(page.Locator("#users tbody tr")).ToHaveCountAsync(3);

        await page.Locator("#user-search").FillAsync("no-such-user-" + fragment);
        await Expect(page.Locator("#users-total")).ToContainTextAsync("0 of");
        await Expect(page.Locator("#users")).ToHaveCountAsync(0);
        errors.AssertNone();
    }

    [SkippableTheory]
    [MemberData(nameof(ConsoleFixture.Screens), MemberType = typeof(ConsoleFixture))]
    public async Task The_user_detail_grants_credits_changes_tier_limits_keys_and_suspension(string screen)
    {
        var (userId, userKey) = await Gateway.CreateUserAsync("managed", 100m);
        var viewport = ConsoleFixture.Viewport(screen);
        var page = await fixture.SignInAsync(GatewayProcess.AdminKey, viewport);
        var errors = ConsoleErrors.Watch(page);
        await page.GotoAsync($"/#/admin/users/{userId}");
        await Expect(page.Locator("#user-balance")).ToHaveTextAsync("100.00");
        await Expect(page.Locator("#user-keys tbody tr")).ToHaveCountAsync(1);
        await AssertFitsAsync(page, "the user detail", viewport);
        await ConsoleFixture.ScreenshotAsync(page, $"page-admin-user-{screen}");

        // Grant 25: the dialog fits the screen (a phone included), the balance and the API agree.
        await page.Locator("#user-grant").ClickAsync();
        await Expect(page.Locator("#confirm")).ToBeVisibleAsync();
        var box = await page.Locator("#confirm").BoundingBoxAsync();
        Assert.True(box is { X: >= 0, Y: >= 0 } && box.X + box.Width <= viewport.Width && box.Y + box.Height <= viewport.Height,
            $"the grant dialog runs off a {viewport.Width} px screen: {box?.X},{box?.Y} {box?.Width}x{box?.Height}");
        await page.Locator("#grant-amount").FillAsync("25");
        await page.Locator("#grant-reason").FillAsync("operator test");
        await page.Locator("#confirm-ok").ClickAsync();
        await Expect(page.Locator("#user-balance")).ToHaveTextAsync("125.00");
        Assert.Equal(125m, await Gateway.CreditsAsync(userKey));
        await Expect(page.Locator("#user-ledger tbody tr").First).ToContainTextAsync("operator test");

        // Tier change.
        await page.Locator("#user-tier").SelectOptionAsync("professional");
        await page.Locator("#user-tier-save").ClickAsync();
        await Expect(page.Locator("#user-tier-name")).ToHaveTextAsync("professional");
        Assert.Equal("professional", (await AdminGetAsync($"/api/v1/admin/users/{userId}")).GetProperty("tier").GetString());

        // Limits: 3 a minute in effect, then back to the tier's.
        var perMinute = page.Locator("#user-limits tr[data-limit=per_minute] .effective");
        await page.Locator("#limit-per_minute").FillAsync("3");
        await page.Locator("#limits-save").ClickAsync();
        await Expect(perMinute).ToHaveTextAsync("3");
        await Expect(page.Locator("#limits-kind")).ToHaveTextAsync("Custom for this user");
        Assert.Equal(3, (await AdminGetAsync($"/api/v1/admin/users/{userId}/limits")).GetProperty("effective").GetProperty("per_minute").GetInt32());
        await page.Locator("#limit-per_minute").FillAsync("");
        await page.Locator("#limits-save").ClickAsync();
        var tiers = await AdminGetAsync($"/api/v1/admin/users/{userId}/limits");
        var tierValue = tiers.GetProperty("effective").GetProperty("per_minute").GetInt32();
        Assert.NotEqual(3, tierValue);
        Assert.Equal(JsonValueKind.Null, tiers.GetProperty("overrides").GetProperty("per_minute").ValueKind);
        await Expect(perMinute).ToHaveTextAsync(tierValue.ToString(CultureInfo.InvariantCulture));
        await Expect(page.Locator("#limit-per_minute")).ToHaveValueAsync("");

        // Issue a key: shown once, and it works.
        await page.Locator("#user-key-name").FillAsync("ops test");
        await page.Locator("#user-key-create").ClickAsync();
        var secret = page.Locator("#user-key-created [data-testid=secret]");
        await Expect(secret).ToContainTextAsync("uc_");
        var newKey = (await secret.TextContentAsync())!.Trim();
        Assert.Equal(HttpStatusCode.OK, await CreditsStatusAsync(newKey));
        await Expect(page.Locator("#user-keys tbody tr")).ToHaveCountAsync(2);

        // Revoke it: the row says so and the key gets 401; the secret leaves the screen.
        var row = page.Locator("#user-keys tbody tr", new() { HasText = "ops test" });
        await row.GetByRole(AriaRole.Button, new() { Name = "Revoke" }).ClickAsync();
        await page.Locator("#confirm-ok").ClickAsync();
        await Expect(row).ToContainTextAsync("Revoked");
        await Expect(secret).ToHaveCountAsync(0);
        Assert.Equal(HttpStatusCode.Unauthorized, await CreditsStatusAsync(newKey));
        Assert.Equal(HttpStatusCode.OK, await CreditsStatusAsync(userKey));

        // Suspend (a danger confirm): the user's key gets 403 account_suspended; unsuspend: it works again.
        await page.Locator("#user-suspend").ClickAsync();
        await Expect(page.Locator("#confirm-ok")).ToHaveClassAsync(new System.Text.RegularExpressions.Regex("btn-danger"));
        await page.Locator("#confirm-ok").ClickAsync();
        await Expect(page.Locator("#user-status")).ToHaveTextAsync("Suspended");
        await Expect(page.Locator("#user-suspended")).ToBeVisibleAsync();
        Assert.Equal(HttpStatusCode.Forbidden, await CreditsStatusAsync(userKey, "account_suspended"));
        await AssertFitsAsync(page, "the suspended user's detail", viewport);
        await page.Locator("#user-unsuspend").ClickAsync();
        await Expect(page.Locator("#user-status")).ToHaveTextAsync("Active");
        Assert.Equal(HttpStatusCode.OK, await CreditsStatusAsync(userKey));
        errors.AssertNone();
    }

    [SkippableTheory]
    [MemberData(nameof(ConsoleFixture.Screens), MemberType = typeof(ConsoleFixture))]
    public async Task Platform_usage_shows_the_totals_and_per_model_numbers_of_the_admin_api(string screen)
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 500m);
        using (var client = Gateway.Client(key))
            for (var i = 0; i < 2; i++)
            {
                var response = await client.PostAsJsonAsync("/api/v1/llm/images/generations", new { prompt = "a lighthouse " + i, model = "builtin-preview", size = "256x256" });
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
        var usage = await AdminGetAsync("/api/v1/admin/usage?days=30");
        var totals = usage.GetProperty("totals");
        Assert.True(totals.GetProperty("requests").GetInt64() >= 2);

        var viewport = ConsoleFixture.Viewport(screen);
        var page = await fixture.SignInAsync(GatewayProcess.AdminKey, viewport);
        var errors = ConsoleErrors.Watch(page);
        await page.GotoAsync("/#/platform");
        await Expect(page.Locator("#platform-requests")).ToHaveTextAsync(totals.GetProperty("requests").GetInt64().ToString("N0", CultureInfo.InvariantCulture));
        await Expect(page.Locator("#platform-images")).ToHaveTextAsync(totals.GetProperty("images").GetInt64().ToString("N0", CultureInfo.InvariantCulture));
        await Expect(page.Locator("#platform-credits")).ToHaveTextAsync(Credits(totals.GetProperty("credits").GetDecimal()));

        var margins = usage.GetProperty("margins").EnumerateArray().ToDictionary(m => m.GetProperty("model").GetString()!);
        var models = usage.GetProperty("data").EnumerateArray().GroupBy(r => r.GetProperty("model").GetString()!).ToArray();
        Assert.Contains(models, g => g.Key == "builtin-preview");
        await Expect(page.Locator("#platform-models tbody tr")).ToHaveCountAsync(models.Length);
        foreach (var g in models)
        {
            var row = page.Locator($"#platform-models tr[data-model='{g.Key}']");
            await Expect(row.Locator(".requests")).ToHaveTextAsync(g.Sum(r => r.GetProperty("requests").GetInt64()).ToString("N0", CultureInfo.InvariantCulture));
            await Expect(row.Locator(".images")).ToHaveTextAsync(g.Sum(r => r.GetProperty("images").GetInt64()).ToString("N0", CultureInfo.InvariantCulture));
            await Expect(row.Locator(".credits")).ToHaveTextAsync(Credits(g.Sum(r => r.GetProperty("credits").GetDecimal())));
            if (!margins.ContainsKey(g.Key)) await Expect(row.Locator("td").Last).ToHaveTextAsync("—");
        }
        await Expect(page.Locator("#margin-note")).ToContainTextAsync("upstream reported a cost");
        var days = usage.GetProperty("data").EnumerateArray().Select(r => r.GetProperty("day").GetString()).Distinct().Count();
        await Expect(page.Locator("#platform-days-table tbody tr")).ToHaveCountAsync(days);

        await page.Locator("#platform-days").SelectOptionAsync("7");
        await Expect(page.Locator("#platform-requests")).ToHaveTextAsync(
            (await AdminGetAsync("/api/v1/admin/usage?days=7")).GetProperty("totals").GetProperty("requests").GetInt64().ToString("N0", CultureInfo.InvariantCulture));
        await AssertFitsAsync(page, "platform usage", viewport);
        await ConsoleFixture.ScreenshotAsync(page, $"page-platform-{screen}");
        errors.AssertNone();
    }

    [SkippableTheory]
    [MemberData(nameof(ConsoleFixture.Screens), MemberType = typeof(ConsoleFixture))]
    public async Task Providers_page_shows_each_providers_circuit_state(string screen)
    {
        var labels = new Dictionary<string, string> { ["closed"] = "Healthy", ["open"] = "Circuit open", ["half_open"] = "Recovering", ["isolated"] = "Isolated" };
        var viewport = ConsoleFixture.Viewport(screen);
        var page = await fixture.SignInAsync(GatewayProcess.AdminKey, viewport);
        var errors = ConsoleErrors.Watch(page);
        await page.Locator(".sidebar a[data-page=providers]").ClickAsync();
        await Expect(page.Locator("main h1")).ToHaveTextAsync("Providers");

        var providers = (await AdminGetAsync("/api/v1/admin/providers")).GetProperty("data").EnumerateArray().ToArray();
        Assert.NotEmpty(providers);
        await Expect(page.Locator("#providers tbody tr")).ToHaveCountAsync(providers.Length);
        foreach (var p in providers)
        {
            var row = page.Locator($"#providers tr[data-provider='{p.GetProperty("name").GetString()}']");
            var circuit = p.GetProperty("circuit").GetString()!;
            await Expect(row).ToHaveAttributeAsync("data-circuit", circuit);
            var expected = circuit == "closed" && !p.GetProperty("configured").GetBoolean() ? "Not configured" : labels[circuit];
            await Expect(row.Locator(".badge")).ToHaveTextAsync(expected);
        }
        await Expect(page.Locator("#providers tr[data-provider=builtin] .badge")).ToHaveTextAsync("Healthy");

        await page.Locator("#providers-refresh").ClickAsync();
        await Expect(page.Locator("#providers-checked")).ToContainTextAsync("Checked");
        await Expect(page.Locator("#providers tbody tr")).ToHaveCountAsync(providers.Length);
        await AssertFitsAsync(page, "the providers page", viewport);
        await ConsoleFixture.ScreenshotAsync(page, $"page-providers-{screen}");
        errors.AssertNone();
    }
}
