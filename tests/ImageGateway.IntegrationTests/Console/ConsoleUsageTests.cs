using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ImageGateway.IntegrationTests.Support;
using ImageGateway.Tests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace ImageGateway.IntegrationTests.Console;

/// <summary>
/// The Usage &amp; limits page (issue 26 points 3 and 4): the activity list with every outcome, spend
/// per day by model (chart, table, CSV) checked against <c>/usage/daily</c>, the limits card against
/// <c>/api/v1/limits</c>, and the ledger one click away.
/// </summary>
public sealed class ConsoleUsageTests(ConsoleFixture fixture) : IClassFixture<ConsoleFixture>
{
    private GatewayProcess Gateway => fixture.Gateway;

    static ConsoleUsageTests() => SetDefaultExpectTimeout(15_000);

    /// <summary>As the console's <c>credits()</c> writes a number: en-US grouping, 2 to 3 decimals.</summary>
    private static string Credits(decimal value) => value.ToString("#,##0.00#", CultureInfo.InvariantCulture);

    private static async Task<HttpStatusCode> GenerateAsync(HttpClient client, string prompt, string model = "builtin-preview", string size = "256x256") =>
        (await client.PostAsJsonAsync("/api/v1/llm/images/generations", new { prompt, model, size })).StatusCode;

    [SkippableTheory]
    [InlineData("desktop")]
    [InlineData("phone")]
    public async Task Activity_lists_succeeded_and_refused_requests_with_the_message_and_filters_by_status(string screen)
    {
        // managed: ×1.2, so 2 credits pay for one 1-credit image and not for a second one.
        var (_, key) = await Gateway.CreateUserAsync("managed", 2m);
        using (var client = Gateway.Client(key))
        {
            Assert.Equal(HttpStatusCode.OK, await GenerateAsync(client, "A lighthouse at dusk"));
            Assert.Equal(HttpStatusCode.PaymentRequired, await GenerateAsync(client, "One more lighthouse"));
        }
        string refusal;
        using (var client = Gateway.Client(key))
        using (var json = JsonDocument.Parse(await client.GetStringAsync("/api/v1/activity?status=refused")))
            refusal = json.RootElement.GetProperty("data")[0].GetProperty("error").GetProperty("message").GetString()!;
        Assert.Contains("Insufficient credits", refusal);

        var page = await fixture.SignInAsync(key, ConsoleFixture.Viewport(screen));
        var errors = ConsoleErrors.Watch(page);
        await page.GotoAsync("/#/usage");
        await Expect(page.Locator("main")).ToHaveAttributeAsync("data-page", "usage");

        var rows = page.Locator("#activity-table tbody tr");
        await Expect(rows).ToHaveCountAsync(2);
        var refused = page.Locator("#activity-table tbody tr[data-status=refused]");
        await Expect(refused).ToContainTextAsync("Refused");
        await Expect(refused.Locator(".usage-error")).ToContainTextAsync(refusal);
        await Expect(refused).ToContainTextAsync("0.00");
        var succeeded = page.Locator("#activity-table tbody tr[data-status=succeeded]");
        await Expect(succeeded).ToContainTextAsync("Generate · builtin-preview · 256x256");
        await Expect(succeeded).ToContainTextAsync("1.20");
        await Expect(succeeded.Locator(".usage-error")).ToHaveCountAsync(0);
        var id = await succeeded.GetAttributeAsync("data-id");
        await Expect(succeeded.Locator("a")).ToHaveAttributeAsync("href", $"#/history/{id}");

        await page.Locator("#activity-status").SelectOptionAsync("refused");
        await Expect(rows).ToHaveCountAsync(1);
        await Expect(rows.First).ToHaveAttributeAsync("data-status", "refused");
        await page.Locator("#activity-status").SelectOptionAsync("succeeded");
        await Expect(rows).ToHaveCountAsync(1);
        await Expect(rows.First).ToHaveAttributeAsync("data-status", "succeeded");
        await page.Locator("#activity-status").SelectOptionAsync("failed");
        await Expect(page.Locator("#activity-empty")).ToContainTextAsync("No failed requests");
        await page.Locator("#activity-status").SelectOptionAsync("");
        await Expect(rows).ToHaveCountAsync(2);

        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
        Assert.True(await ConsoleFixture.FitsAsync(page), $"the usage page scrolls sideways at {screen}");
        await ConsoleFixture.ScreenshotAsync(page, $"page-usage-{screen}");
        errors.AssertNone();
    }

    [SkippableFact]
    public async Task Activity_pages_by_cursor_with_load_more()
    {
        var (userId, key) = await Gateway.CreateUserAsync("enterprise", 100m);
        // Enterprise allows 20 images a minute: this account gets more of its own.
        using (var admin = Gateway.Client(GatewayProcess.AdminKey))
            Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/api/v1/admin/users/{userId}/limits", new { per_minute = 100 })).StatusCode);
        using (var client = Gateway.Client(key))
            for (var i = 0; i < 22; i++) Assert.Equal(HttpStatusCode.OK, await GenerateAsync(client, $"page {i}"));
        var page = await fixture.SignInAsync(key);
        await page.GotoAsync("/#/usage");
        await Expect(page.Locator("#limits [data-window=minute] .usage-limit-value")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^\d+/100 images$"));
        await Expect(page.Locator("#limits")).ToContainTextAsync("Set for your account");
        var rows = page.Locator("#activity-table tbody tr");
        await Expect(rows).ToHaveCountAsync(20);
        await page.Locator("#activity-more").ClickAsync();
        await Expect(rows).ToHaveCountAsync(22);
        await Expect(page.Locator("#activity-more")).ToHaveCountAsync(0);
        await Expect(page.Locator("#activity-count")).ToHaveTextAsync("22 requests");
        // Newest first, no entry twice.
        var prompts = await rows.Locator(".usage-prompt").AllTextContentsAsync();
        Assert.Equal(Enumerable.Range(0, 22).Reverse().Select(i => $"page {i}"), prompts);
    }

    [SkippableFact]
    public async Task Spend_per_day_by_model_matches_the_api_re_queries_the_range_and_exports_csv()
    {
        // Two models: builtin-preview, and dall-e-3 served by a local fake of OpenAI (as gpt-image-2); one failed request.
        await using var compat = await CompatGatewayScope.StartAsync();
        var gateway = compat.Gateway.Gateway;
        var (_, key) = await gateway.CreateUserAsync("managed", 1000m);
        using var client = gateway.Client(key);
        Assert.Equal(HttpStatusCode.OK, await GenerateAsync(client, "A red kite"));
        Assert.Equal(HttpStatusCode.OK, await GenerateAsync(client, "A blue kite", size: "512x512"));
        Assert.Equal(HttpStatusCode.OK, await GenerateAsync(client, "A green kite", "dall-e-3", "1024x1024"));
        compat.Gateway.Upstream.GptImage.FailWith(FakeGptImage.Failure.ContentPolicy, 1);
        Assert.NotEqual(HttpStatusCode.OK, await GenerateAsync(client, "A forbidden kite", "dall-e-3", "1024x1024"));

        using var daily = JsonDocument.Parse(await client.GetStringAsync("/api/v1/llm/usage/daily"));
        var days = daily.RootElement.GetProperty("days").EnumerateArray()
            .Select(d => (Date: d.GetProperty("date").GetString()!, Model: d.GetProperty("model").GetString()!, Images: d.GetProperty("images").GetInt64(),
                Credits: d.GetProperty("credits").GetDecimal())).ToArray();
        Assert.Equal(2, days.Select(d => d.Model).Distinct().Count());
        var totalCredits = daily.RootElement.GetProperty("total_credits").GetDecimal();
        var totalImages = daily.RootElement.GetProperty("total_images").GetInt64();
        var (from, to) = (daily.RootElement.GetProperty("from").GetString()!, daily.RootElement.GetProperty("to").GetString()!);

        var page = await OpenAsync(gateway, key, ConsoleFixture.Desktop);
        var errors = ConsoleErrors.Watch(page);
        await page.GotoAsync("/#/usage");
        await Expect(page.Locator("#spend-from")).ToHaveValueAsync(from);
        await Expect(page.Locator("#spend-to")).ToHaveValueAsync(to);
        await Expect(page.Locator("#spend-table tbody tr")).ToHaveCountAsync(days.Length);
        foreach (var d in days)
            await Expect(page.Locator($"#spend-table tbody tr[data-date='{d.Date}'][data-model='{d.Model}']")).ToContainTextAsync(Credits(d.Credits));
        await Expect(page.Locator("#spend-table-credits")).ToHaveTextAsync(Credits(totalCredits));
        await Expect(page.Locator("#spend-table-images")).ToHaveTextAsync(totalImages.ToString(CultureInfo.InvariantCulture));
        await Expect(page.Locator("#spend-total-credits")).ToHaveTextAsync(Credits(totalCredits));
        await Expect(page.Locator("#spend-legend [data-model]")).ToHaveCountAsync(2);
        // The stacked bars add up to the total, one colour per model.
        var bars = await page.Locator("#spend-chart rect").EvaluateAllAsync<double[]>("rs => rs.map(r => Number(r.dataset.value))");
        Assert.Equal((double)totalCredits, Math.Round(bars.Sum(), 3));
        var colours = await page.Locator("#spend-chart rect").EvaluateAllAsync<string[]>("rs => rs.map(r => r.dataset.model + '=' + r.getAttribute('class'))");
        Assert.Equal(2, colours.Distinct().Count());

        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
        await ConsoleFixture.ScreenshotAsync(page, "usage-spend-desktop");
        await page.EmulateMediaAsync(new() { ColorScheme = ColorScheme.Dark });
        await ConsoleFixture.ScreenshotAsync(page, "usage-spend-desktop-dark");
        await page.EmulateMediaAsync(new() { ColorScheme = ColorScheme.Light });

        // The failed request is in the activity with the upstream's message, and cost nothing.
        var failed = page.Locator("#activity-table tbody tr[data-status=failed]");
        await Expect(failed).ToHaveCountAsync(1);
        await Expect(failed).ToContainTextAsync("Failed");
        await Expect(failed.Locator(".usage-error")).Not.ToBeEmptyAsync();

        // The CSV comes with the key, as a file named after the range.
        var download = await page.RunAndWaitForDownloadAsync(() => page.Locator("#spend-export").ClickAsync());
        Assert.Equal($"usage-{from}-{to}.csv", download.SuggestedFilename);
        var csv = await File.ReadAllTextAsync((await download.PathAsync())!);
        Assert.StartsWith("date,model,requests,images,credits\r\n", csv);
        foreach (var d in days) Assert.Contains($"{d.Date},{d.Model},", csv);
        Assert.Equal(days.Length + 1, csv.Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Length);

        // A range in the past asks again and shows the empty state.
        var asked = new List<string>();
        page.Request += (_, r) => { if (r.Url.Contains("/usage/daily")) lock (asked) asked.Add(r.Url); };
        await page.Locator("#spend-to").FillAsync("2020-01-31");
        await Expect(page.Locator("#spend-error")).ToContainTextAsync("after the end date");   // from is still this month
        await page.Locator("#spend-from").FillAsync("2020-01-01");
        await Expect(page.Locator("#spend-empty")).ToContainTextAsync("No usage from 1 Jan 2020 to 31 Jan 2020");
        await Expect(page.Locator("#spend-error")).ToBeHiddenAsync();
        lock (asked) Assert.Equal(["from=2020-01-01&to=2020-01-31"], asked.Select(u => u[(u.IndexOf('?') + 1)..]));

        // From after to: said in words, and nothing is asked.
        await page.Locator("#spend-from").FillAsync("2020-02-10");
        await Expect(page.Locator("#spend-error")).ToContainTextAsync("The start date (10 Feb 2020) is after the end date (31 Jan 2020)");
        await Expect(page.Locator("#spend-table")).ToHaveCountAsync(0);
        await page.WaitForTimeoutAsync(300);
        lock (asked) Assert.Single(asked);
        errors.AssertNone();
    }

    [SkippableFact]
    public async Task Limits_card_shows_the_minute_window_in_images_the_multiplier_and_the_monthly_cap()
    {
        var (_, key) = await Gateway.CreateUserAsync("free", 100m);            // free: ×1.5, 2 images a minute, cap 1000
        await MinuteWindow.EnsureLeftAsync(TimeSpan.FromSeconds(40));
        using var client = Gateway.Client(key);
        for (var i = 0; i < 2; i++) Assert.Equal(HttpStatusCode.OK, await GenerateAsync(client, $"limit {i}"));
        using var limits = JsonDocument.Parse(await client.GetStringAsync("/api/v1/limits"));
        var minute = limits.RootElement.GetProperty("windows")[0];
        Assert.Equal("minute", minute.GetProperty("window").GetString());
        Assert.Equal(2, minute.GetProperty("used").GetInt32());

        var page = await fixture.SignInAsync(key, ConsoleFixture.Phone);
        await page.GotoAsync("/#/usage");
        var card = page.Locator("#limits");
        await Expect(card.Locator("[data-window=minute] .usage-limit-value")).ToHaveTextAsync("2/2 images");
        await Expect(card.Locator("[data-window=minute] [role=meter]")).ToHaveAttributeAsync("aria-valuenow", "100");
        await Expect(card.Locator("[data-window=minute]")).ToContainTextAsync("0 images left · resets in");
        await Expect(card.Locator("[data-window=hour] .usage-limit-value")).ToHaveTextAsync("2/10 images");
        await Expect(card.Locator("[data-window=month] .usage-limit-value")).ToHaveTextAsync("2/200 images");
        await Expect(page.Locator("#limits-multiplier")).ToHaveTextAsync("×1.5 price");
        await Expect(card).ToContainTextAsync("Limits count images");
        await Expect(page.Locator("#limits-cap")).ToHaveTextAsync($"{Credits(limits.RootElement.GetProperty("monthly_cap").GetDecimal())} credits");
        await Expect(page.Locator("#limits-month-remaining")).ToHaveTextAsync(Credits(limits.RootElement.GetProperty("month_remaining").GetDecimal()));
        await Expect(page.Locator("#limits-month-remaining")).ToHaveTextAsync("997.00");   // 1000 − 2 × 1.5
        Assert.True(await ConsoleFixture.FitsAsync(page));
        await ConsoleFixture.ScreenshotAsync(page, "usage-limits-phone");
    }

    [SkippableFact]
    public async Task Limits_card_says_unlimited_for_a_window_without_a_limit()
    {
        var (_, key) = await Gateway.CreateUserAsync("enterprise", 10m);      // enterprise: no month limit, no cap
        var page = await fixture.SignInAsync(key);
        await page.GotoAsync("/#/usage");
        await Expect(page.Locator("#limits [data-window=month] .usage-limit-value")).ToHaveTextAsync("Unlimited");
        await Expect(page.Locator("#limits [data-window=month] [role=meter]")).ToHaveCountAsync(0);
        await Expect(page.Locator("#limits-cap")).ToHaveTextAsync("No cap");
        await Expect(page.Locator("#limits-multiplier")).ToHaveTextAsync("×1.2 price");
    }

    [SkippableFact]
    public async Task The_ledger_is_one_click_from_the_usage_page()
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 50m);
        using (var client = Gateway.Client(key)) Assert.Equal(HttpStatusCode.OK, await GenerateAsync(client, "A ledger line"));
        var page = await fixture.SignInAsync(key);
        await page.GetByRole(AriaRole.Link, new() { Name = "Usage & limits" }).ClickAsync();
        await Expect(page.Locator("main")).ToHaveAttributeAsync("data-page", "usage");

        await page.GetByRole(AriaRole.Link, new() { Name = "View the ledger" }).ClickAsync();
        await Expect(page.Locator("main")).ToHaveAttributeAsync("data-page", "ledger");
        await Expect(page.Locator("main h1")).ToHaveTextAsync("Ledger");
        await Expect(page.Locator("#history tbody tr[data-type=reserve]")).ToContainTextAsync("Hold");
        await Expect(page.Locator("#history tbody tr[data-type=settle]")).ToContainTextAsync("Charge");
        await Expect(page.Locator("#history tbody tr[data-type=settle]")).ToContainTextAsync("−1.20");
        // The sidebar still lights Usage & limits, and the way back is one click too.
        await Expect(page.Locator(".sidebar nav a[data-page=usage]")).ToHaveAttributeAsync("aria-current", "page");
        await page.GetByRole(AriaRole.Link, new() { Name = "← Usage & limits" }).ClickAsync();
        await Expect(page.Locator("main")).ToHaveAttributeAsync("data-page", "usage");
    }

    /// <summary>Signs in on a console served by another gateway than the fixture's.</summary>
    private async Task<IPage> OpenAsync(GatewayProcess gateway, string key, ViewportSize viewport)
    {
        var browser = await fixture.BrowserAsync();
        var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = gateway.BaseUrl.ToString().TrimEnd('/'), ViewportSize = viewport, AcceptDownloads = true,
        });
        context.SetDefaultTimeout(15_000);
        var page = await context.NewPageAsync();
        await page.GotoAsync("/");
        await page.GetByLabel("API key").FillAsync(key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await page.Locator("#shell").WaitForAsync();
        return page;
    }

    /// <summary>A <see cref="CompatGateway"/> (OpenAI faked locally) for one test.</summary>
    private sealed class CompatGatewayScope : IAsyncDisposable
    {
        public CompatGateway Gateway { get; } = new();

        public static async Task<CompatGatewayScope> StartAsync()
        {
            var scope = new CompatGatewayScope();
            await scope.Gateway.InitializeAsync();
            return scope;
        }

        public async ValueTask DisposeAsync() => await Gateway.DisposeAsync();
    }
}
