using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ImageGateway.IntegrationTests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace ImageGateway.IntegrationTests.Console;

/// <summary>
/// The web console (DESIGN §10) in a real headless Chromium against the gateway as a real process:
/// each page's main path, driven the way a person would, checked against the public API.
/// </summary>
public sealed class ConsoleTests(ConsoleFixture fixture) : IClassFixture<ConsoleFixture>
{
    private GatewayProcess Gateway => fixture.Gateway;

    static ConsoleTests() => SetDefaultExpectTimeout(15_000);

    [SkippableFact]
    public async Task Sign_in_works_with_the_keyboard_and_sign_out_forgets_the_key()
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 1000m);
        var page = await fixture.OpenConsoleAsync();

        // A wrong key is refused in words and the console stays closed.
        await page.GetByLabel("API key").FillAsync("uc_" + new string('x', 45));
        await page.GetByLabel("API key").PressAsync("Enter");
        await Expect(page.Locator("#signin-error")).ToContainTextAsync("not accepted");
        await Expect(page.Locator("#shell")).ToBeHiddenAsync();

        // Enter in the key field submits the form: no mouse needed.
        await page.GetByLabel("API key").FillAsync(key);
        await page.GetByLabel("API key").PressAsync("Enter");
        await Expect(page.Locator("#shell")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("balance")).ToHaveTextAsync("1,000.00 credits");
        Assert.Equal(key, await page.EvaluateAsync<string>("() => sessionStorage.getItem('igw.console.key')"));

        // A user key does not see the admin page, not even by typing its address.
        await Expect(page.Locator("#nav-admin")).ToBeHiddenAsync();
        await page.GotoAsync("/#/admin");
        await Expect(page.Locator("main")).ToHaveAttributeAsync("data-page", "generate");
        await ConsoleFixture.ScreenshotAsync(page, "generate-empty");

        // Responsive: on a phone-sized screen nothing runs off the side.
        await page.SetViewportSizeAsync(390, 844);
        await Expect(page.Locator("#generate-btn")).ToBeVisibleAsync();
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways at 390 px");
        await ConsoleFixture.ScreenshotAsync(page, "generate-mobile");
        await page.SetViewportSizeAsync(ConsoleFixture.Desktop.Width, ConsoleFixture.Desktop.Height);

        // A reload keeps the tab signed in; sign-out forgets the key.
        await page.ReloadAsync();
        await Expect(page.Locator("#shell")).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(page.Locator("#signin")).ToBeVisibleAsync();
        Assert.Null(await page.EvaluateAsync<string?>("() => sessionStorage.getItem('igw.console.key')"));
        await ConsoleFixture.ScreenshotAsync(page, "signin");
    }

    [SkippableFact]
    public async Task Estimate_follows_model_n_and_size_and_the_button_is_disabled_when_credits_are_short()
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 10m);
        var page = await fixture.SignInAsync(key);
        var cost = page.Locator("#estimate-cost");
        var button = page.Locator("#generate-btn");

        await page.GetByLabel("Model").SelectOptionAsync("builtin-preview");
        await Expect(cost).ToHaveAttributeAsync("data-value", "1.2");          // 1 credit × 1.2 managed
        await Expect(page.Locator("#estimate-after")).ToHaveTextAsync("8.80 credits");
        await Expect(button).ToBeEnabledAsync();

        await page.GetByLabel("Images").FillAsync("3");
        await Expect(cost).ToHaveAttributeAsync("data-value", "3.6");
        await Expect(button).ToHaveTextAsync("Generate 3 images");

        // Only the chosen model's choices are offered.
        await page.GetByLabel("Model").SelectOptionAsync("dall-e-2");
        var dalle2Sizes = await page.Locator("#size option").EvaluateAllAsync<string[]>("os => os.map(o => o.value)");
        Assert.Equal(["256x256", "512x512", "1024x1024"], dalle2Sizes);
        await Expect(page.Locator("#style")).ToBeHiddenAsync();

        // dall-e-3: the size changes the price (40 → 80 base); 48 × 3 is far more than 10 credits.
        await page.GetByLabel("Model").SelectOptionAsync("dall-e-3");
        await page.GetByLabel("Images").FillAsync("1");
        await page.GetByLabel("Size").SelectOptionAsync("1024x1024");
        await Expect(cost).ToHaveAttributeAsync("data-value", "48");
        await page.GetByLabel("Size").SelectOptionAsync("1792x1024");
        await Expect(cost).ToHaveAttributeAsync("data-value", "96");
        await Expect(page.Locator("#style option")).ToHaveCountAsync(3);      // Default, vivid, natural
        await Expect(button).ToBeDisabledAsync();
        await Expect(page.Locator("#estimate-short")).ToContainTextAsync("Not enough credits");

        // Back to something affordable: the button comes back.
        await page.GetByLabel("Model").SelectOptionAsync("builtin-preview");
        await Expect(cost).ToHaveAttributeAsync("data-value", "1.2");
        await Expect(button).ToBeEnabledAsync();
        Assert.Equal(10m, await Gateway.CreditsAsync(key));                    // estimates charge nothing
    }

    [SkippableFact]
    public async Task A_per_token_model_shows_about_x_at_most_y_and_affordability_follows_the_hold()
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 70m);
        var page = await fixture.SignInAsync(key);
        await page.GetByLabel("Prompt").FillAsync("a kite"); // 6 UTF-8 bytes

        await page.GetByLabel("Model").SelectOptionAsync("gpt-image-2");
        await page.GetByLabel("Size").SelectOptionAsync("1024x1024");
        await page.GetByLabel("Quality").SelectOptionAsync("medium");

        // About: (1,767 × 30 + 6 × 5) × 1.2 = 63.648; at most: (2,209 × 30 + 30) × 1.2 = 79.56 (DESIGN §12.4).
        await Expect(page.Locator("#estimate-cost")).ToHaveAttributeAsync("data-value", "63.648");
        await Expect(page.Locator("#estimate-max")).ToHaveAttributeAsync("data-value", "79.56");
        await Expect(page.GetByTestId("estimate")).ToContainTextAsync("About");
        await Expect(page.GetByTestId("estimate")).ToContainTextAsync("At most");
        // 70 credits cover the estimate but not the hold: the button stays disabled and says why.
        await Expect(page.Locator("#generate-btn")).ToBeDisabledAsync();
        await Expect(page.Locator("#estimate-short")).ToContainTextAsync("needs 9.56 more");

        await page.GetByLabel("Quality").SelectOptionAsync("low");
        await Expect(page.Locator("#estimate-max")).ToHaveAttributeAsync("data-value", "9.036"); // (250 × 30 + 30) × 1.2
        await Expect(page.Locator("#estimate-short")).ToHaveCountAsync(0);

        await page.GetByLabel("Model").SelectOptionAsync("builtin-preview");
        await Expect(page.Locator("#estimate-max")).ToHaveCountAsync(0); // per image: one exact price
        Assert.Equal(70m, await Gateway.CreditsAsync(key));
    }

    [SkippableFact]
    public async Task Generating_builtin_preview_shows_the_images_with_expiry_and_the_balance_drops_by_the_estimate()
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 100m);
        var page = await fixture.SignInAsync(key);
        await page.GetByLabel("Prompt").FillAsync("A lighthouse on a cliff at dawn, watercolor");
        await page.GetByLabel("Model").SelectOptionAsync("builtin-preview");
        await page.GetByLabel("Size").SelectOptionAsync("512x512");
        await page.GetByLabel("Images").FillAsync("2");
        await Expect(page.Locator("#estimate-cost")).ToHaveAttributeAsync("data-value", "2.4");
        await Expect(page.GetByTestId("balance")).ToHaveTextAsync("100.00 credits");

        await page.Locator("#generate-btn").ClickAsync();
        await Expect(page.Locator("#gen-done")).ToContainTextAsync("2 images");
        var images = page.Locator("#gallery .shot img");
        await Expect(images).ToHaveCountAsync(2);
        await page.WaitForFunctionAsync("() => [...document.querySelectorAll('#gallery img')].every(i => i.complete && i.naturalWidth > 0)");
        Assert.Equal(512, await images.First.EvaluateAsync<int>("i => i.naturalWidth"));
        await Expect(page.Locator("#gallery .expiry").First).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^Link expires in 59:\d\d$"));
        var before = await page.Locator("#gallery .expiry").First.TextContentAsync();
        await Expect(page.Locator("#gallery .expiry").First).Not.ToHaveTextAsync(before!);   // it counts down
        await Expect(page.Locator("#gallery .shot .prompt").First).ToContainTextAsync("lighthouse");

        // The balance shown dropped by exactly the estimate, and agrees with the API.
        await Expect(page.GetByTestId("balance")).ToHaveTextAsync("97.60 credits");
        Assert.Equal(97.6m, await Gateway.CreditsAsync(key));

        // Download gives the PNG itself.
        var download = await page.RunAndWaitForDownloadAsync(() => page.Locator("#gallery .shot a[download]").First.ClickAsync());
        var path = await download.PathAsync();
        var bytes = await File.ReadAllBytesAsync(path);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
        Assert.EndsWith(".png", download.SuggestedFilename);

        await page.Mouse.MoveAsync(0, 0);
        await ConsoleFixture.ScreenshotAsync(page, "generate");
    }

    [SkippableFact]
    public async Task A_402_is_explained_in_words_with_a_link_to_credits()
    {
        var (userId, key) = await Gateway.CreateUserAsync("managed", 2m);
        var page = await fixture.SignInAsync(key);
        await page.GetByLabel("Prompt").FillAsync("A red bicycle");
        await page.GetByLabel("Model").SelectOptionAsync("builtin-preview");
        await Expect(page.Locator("[data-testid=estimate]:not([data-pending])")).ToBeVisibleAsync();
        // An estimate still due (the model list's, then the change's after its 200 ms debounce) would see the
        // balance gone and disable the button: let the last one run and settle before taking the credits.
        await page.WaitForTimeoutAsync(400);
        await Expect(page.Locator("[data-testid=estimate]:not([data-pending])")).ToBeVisibleAsync();
        await Expect(page.Locator("#generate-btn")).ToBeEnabledAsync();

        // The balance is taken away after the estimate: the request itself meets the 402.
        using (var admin = Gateway.Client(GatewayProcess.AdminKey))
            Assert.Equal(HttpStatusCode.OK, (await admin.PostAsJsonAsync($"/api/v1/admin/users/{userId}/credits", new { amount = -2, reason = "test" })).StatusCode);
        await page.Locator("#generate-btn").ClickAsync();

        var alert = page.Locator("#gen-status .alert");
        await Expect(alert).ToContainTextAsync("Not enough credits");
        await Expect(alert).ToContainTextAsync("Insufficient credits. Balance: 0.00, Estimated cost: 1.20 credits");
        await Expect(alert).ToContainTextAsync("Nothing was charged");
        await alert.GetByRole(AriaRole.Link).ClickAsync();
        // #/credits is now an alias of the usage page, where the balance is.
        await Expect(page.Locator("main")).ToHaveAttributeAsync("data-page", "usage");
        await Expect(page.Locator("#credits-balance")).ToHaveTextAsync("0.00");
    }

    [SkippableFact]
    public async Task A_429_says_when_to_try_again()
    {
        var (_, key) = await Gateway.CreateUserAsync("free", 100m);            // free: 2 images a minute
        // Filling the minute and the refused click must fall in one calendar minute; signing in
        // and estimating take a few seconds, more on a busy CI host.
        await MinuteWindow.EnsureLeftAsync(TimeSpan.FromSeconds(40));
        using (var client = Gateway.Client(key))
            for (var i = 0; i < 2; i++)
                Assert.Equal(HttpStatusCode.OK, (await client.PostAsJsonAsync("/api/v1/llm/images/generations",
                    new { prompt = $"limit {i}", model = "builtin-preview", size = "256x256" })).StatusCode);
        var page = await fixture.SignInAsync(key);
        await page.GetByLabel("Prompt").FillAsync("One too many");
        await page.GetByLabel("Model").SelectOptionAsync("builtin-preview");
        await Expect(page.Locator("[data-testid=estimate]:not([data-pending])")).ToBeVisibleAsync();
        await page.GetByLabel("Prompt").PressAsync("Control+Enter");        // the keyboard shortcut submits

        var alert = page.Locator("#gen-status .alert");
        await Expect(alert).ToContainTextAsync("rate limit reached");
        await Expect(alert).ToContainTextAsync(new System.Text.RegularExpressions.Regex(@"try again in \d+ (s|min)"));
        Assert.Equal(97m, await Gateway.CreditsAsync(key));                    // the refused request cost nothing
    }

    [SkippableFact]
    public async Task Credits_page_shows_the_settle_entries_paginates_and_charts_today()
    {
        var (_, key) = await Gateway.CreateUserAsync("enterprise", 500m);
        using (var client = Gateway.Client(key))
            for (var i = 0; i < 6; i++)
            {
                var response = await client.PostAsJsonAsync("/api/v1/llm/images/generations",
                    new { prompt = $"history {i}", model = "builtin-preview", size = "256x256" });
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
        // grant + 6 × (reserve, settle) = 13 entries.
        var page = await fixture.SignInAsync(key);
        await page.GetByRole(AriaRole.Link, new() { Name = "Usage & limits" }).ClickAsync();

        await Expect(page.Locator("#credits-balance")).ToHaveTextAsync("492.80");   // 500 − 6 × 1.2
        await Expect(page.Locator("#credits-tier")).ToHaveTextAsync("enterprise");
        // The ledger is one click from the usage page.
        await page.GetByRole(AriaRole.Link, new() { Name = "View the ledger" }).ClickAsync();
        await Expect(page.Locator("main")).ToHaveAttributeAsync("data-page", "ledger");
        await Expect(page.Locator("main h1")).ToHaveTextAsync("Ledger");
        await Expect(page.Locator("#history tbody tr")).ToHaveCountAsync(10);
        await Expect(page.Locator("#history-range")).ToHaveTextAsync("1–10 of 13");
        var settle = page.Locator("#history tbody tr[data-type=settle]").First;
        await Expect(settle).ToContainTextAsync("builtin-preview ×1 256x256");
        await Expect(settle).ToContainTextAsync("−1.20");

        await page.Locator("#history-next").ClickAsync();
        await Expect(page.Locator("#history-range")).ToHaveTextAsync("11–13 of 13");
        await Expect(page.Locator("#history tbody tr")).ToHaveCountAsync(3);
        await Expect(page.Locator("#history tbody tr[data-type=grant]")).ToHaveCountAsync(1);
        await Expect(page.Locator("#history-next")).ToBeDisabledAsync();

        // The chart's bars sum to what was delivered and charged: all of it today.
        var images = await page.Locator("#chart-images rect").EvaluateAllAsync<double[]>("rs => rs.map(r => Number(r.dataset.value))");
        Assert.Equal(30, images.Length);
        Assert.Equal(6, images.Sum());
        Assert.Equal(6, images[^1]);
        var spent = await page.Locator("#chart-credits rect").EvaluateAllAsync<double[]>("rs => rs.map(r => Number(r.dataset.value))");
        Assert.Equal(7.2, Math.Round(spent.Sum(), 3));
        await ConsoleFixture.ScreenshotAsync(page, "credits");
    }

    [SkippableFact]
    public async Task A_created_key_is_shown_once_listed_by_prefix_and_revoked_after_confirmation()
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 10m);
        var page = await fixture.SignInAsync(key);
        await page.GetByRole(AriaRole.Link, new() { Name = "API keys" }).ClickAsync();
        await page.GetByLabel("Name").FillAsync("ci pipeline");
        await page.GetByLabel("Name").PressAsync("Enter");

        var secret = page.Locator("#key-created [data-testid=secret]");
        await Expect(secret).ToContainTextAsync("uc_");
        var newKey = (await secret.TextContentAsync())!.Trim();
        using (var client = Gateway.Client(newKey))
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/llm/credits")).StatusCode);
        await Expect(page.Locator("#key-created button")).ToHaveTextAsync("Copy");
        await ConsoleFixture.ScreenshotAsync(page, "keys");

        // Once the page is left, the full key is nowhere: the list shows only its prefix.
        await page.GetByRole(AriaRole.Link, new() { Name = "Generate" }).ClickAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "API keys" }).ClickAsync();
        var row = page.Locator("#keys tbody tr", new() { HasText = "ci pipeline" });
        await Expect(row).ToHaveCountAsync(1);
        await Expect(page.Locator("#keys tbody tr", new() { HasText = "this session" })).ToHaveCountAsync(1);
        var prefix = (await row.Locator(".key-prefix").TextContentAsync())!.TrimEnd('…');
        Assert.StartsWith(prefix, newKey);
        Assert.True(prefix.Length < newKey.Length - 20, $"prefix '{prefix}' shows too much of the key");
        Assert.DoesNotContain(newKey, await page.ContentAsync());

        // Cancel keeps it; confirming revokes it.
        await row.GetByRole(AriaRole.Button, new() { Name = "Revoke" }).ClickAsync();
        await Expect(page.Locator("#confirm")).ToBeVisibleAsync();
        await page.Locator("#confirm-cancel").ClickAsync();
        await Expect(row).ToContainTextAsync("Active");
        await row.GetByRole(AriaRole.Button, new() { Name = "Revoke" }).ClickAsync();
        await page.Locator("#confirm-ok").ClickAsync();
        await Expect(row).ToContainTextAsync("Revoked");
        using (var client = Gateway.Client(newKey))
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/v1/llm/credits")).StatusCode);
        // The signed-in key is untouched.
        Assert.Equal(10m, await Gateway.CreditsAsync(key));
    }

    [SkippableFact]
    public async Task A_byok_key_is_masked_after_saving_and_can_be_toggled_and_deleted()
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 10m);
        const string providerKey = "sk-or-v1-0123456789abcdef0123456789abcdefCONSOLE";
        var page = await fixture.SignInAsync(key);
        await page.GetByRole(AriaRole.Link, new() { Name = "Your provider keys" }).ClickAsync();
        var card = page.Locator("[data-provider=openrouter]");
        await card.GetByLabel("API key").FillAsync(providerKey);
        await card.GetByLabel("API key").PressAsync("Enter");

        var masked = page.GetByTestId("byok-openrouter-masked");
        await Expect(masked).ToBeVisibleAsync();
        var shown = (await masked.TextContentAsync())!;
        Assert.EndsWith("SOLE", shown);
        Assert.NotEqual(providerKey, shown);
        Assert.DoesNotContain(providerKey, await page.ContentAsync());
        await Expect(card.GetByRole(AriaRole.Switch)).ToBeCheckedAsync();
        await ConsoleFixture.ScreenshotAsync(page, "byok");

        await card.GetByRole(AriaRole.Switch).ClickAsync();
        await Expect(card.Locator(".badge")).ToHaveTextAsync("Disabled");
        Assert.False(await ByokEnabledAsync(key, "openrouter"));
        await card.GetByRole(AriaRole.Switch).ClickAsync();
        await Expect(card.Locator(".badge")).ToHaveTextAsync("In use");
        Assert.True(await ByokEnabledAsync(key, "openrouter"));

        await card.GetByRole(AriaRole.Button, new() { Name = "Delete" }).ClickAsync();
        await page.Locator("#confirm-ok").ClickAsync();
        await Expect(card.Locator(".badge")).ToHaveTextAsync("Not set");
        Assert.Null(await ByokEnabledAsync(key, "openrouter"));
    }

    [SkippableFact]
    public async Task Provider_health_shows_an_open_circuit_even_for_a_provider_without_a_platform_key()
    {
        var page = await fixture.SignInAsync(GatewayProcess.AdminKey);
        // The page is fed what the API reports for a provider whose circuit opened without a
        // platform key (issue 23: BYOK calls once shared that circuit): it must say so, not "Not configured".
        await page.RouteAsync("**/api/v1/admin/providers", route => route.FulfillAsync(new()
        {
            Status = 200, ContentType = "application/json",
            Body = """{"data":[{"name":"openai","kind":"openai","configured":false,"base_url":"https://api.openai.com/v1","circuit":"open","recent_failures":[{"at":1764700000,"reason":"HTTP 500"}]},{"name":"stability","kind":"stability","configured":false,"base_url":null,"circuit":"closed","recent_failures":[]}]}""",
        }));
        await page.Locator(".sidebar a[data-page=providers]").ClickAsync();
        await Expect(page.Locator("main")).ToHaveAttributeAsync("data-page", "providers");

        await Expect(page.Locator("#providers tr[data-provider=openai]")).ToContainTextAsync("Circuit open");
        await Expect(page.Locator("#providers tr[data-provider=openai]")).Not.ToContainTextAsync("Not configured");
        await Expect(page.Locator("#providers tr[data-provider=stability]")).ToContainTextAsync("Not configured");
    }

    [SkippableFact]
    public async Task An_admin_creates_a_user_with_credits_grants_more_and_the_user_sees_them()
    {
        var page = await fixture.SignInAsync(GatewayProcess.AdminKey);
        await Expect(page.Locator("#nav-admin")).ToBeVisibleAsync();
        await page.Locator(".sidebar a[data-page=providers]").ClickAsync();
        await Expect(page.Locator("#providers tr[data-provider=builtin]")).ToContainTextAsync("Healthy");
        await page.Locator("#nav-admin").ClickAsync();

        var name = "Console Co " + Guid.NewGuid().ToString("N")[..6];
        await page.GetByLabel("Name").FillAsync(name);
        await page.Locator("#new-user-tier").SelectOptionAsync("starter");
        await page.GetByLabel("Starting credits").FillAsync("50");
        await page.GetByLabel("Starting credits").PressAsync("Enter");
        var secret = page.Locator("#user-created [data-testid=secret]");
        await Expect(secret).ToContainTextAsync("uc_");
        var userKey = (await secret.TextContentAsync())!.Trim();
        Assert.Equal(50m, await Gateway.CreditsAsync(userKey));

        // The user signs in elsewhere and sees 50.
        var userPage = await fixture.SignInAsync(userKey);
        await Expect(userPage.GetByTestId("balance")).ToHaveTextAsync("50.00 credits");
        await Expect(userPage.Locator("#tier-pill")).ToHaveTextAsync("starter");

        // The admin finds the user by name (other tests add users too) and grants 25 through the dialog.
        await page.Locator("#user-search").FillAsync(name);
        await Expect(page.Locator("#users-total")).ToContainTextAsync("1 of");
        var row = page.Locator("#users tbody tr", new() { HasText = name });
        await Expect(row).ToContainTextAsync("50.00");
        await row.GetByRole(AriaRole.Button, new() { Name = "Credits" }).ClickAsync();
        await page.SetViewportSizeAsync(ConsoleFixture.Phone.Width, ConsoleFixture.Phone.Height);
        var box = await page.Locator("#confirm").BoundingBoxAsync();
        Assert.True(box is { X: >= 0, Y: >= 0 } && box.X + box.Width <= ConsoleFixture.Phone.Width && box.Y + box.Height <= ConsoleFixture.Phone.Height,
            $"the grant dialog runs off a 390 px screen: {box?.X},{box?.Y} {box?.Width}x{box?.Height}");
        await page.SetViewportSizeAsync(ConsoleFixture.Desktop.Width, ConsoleFixture.Desktop.Height);
        await page.GetByLabel("Amount").FillAsync("25");
        await page.GetByLabel("Reason").FillAsync("console test");
        await page.Locator("#confirm-ok").ClickAsync();
        await Expect(row.Locator(".user-balance")).ToHaveTextAsync("75.00");

        // …and a tier change.
        await row.GetByRole(AriaRole.Button, new() { Name = "Tier" }).ClickAsync();
        await page.Locator("#tier-select").SelectOptionAsync("professional");
        await page.Locator("#confirm-ok").ClickAsync();
        await Expect(row).ToContainTextAsync("professional");
        await ConsoleFixture.ScreenshotAsync(page, "admin");

        await userPage.ReloadAsync();
        await Expect(userPage.GetByTestId("balance")).ToHaveTextAsync("75.00 credits");
        await Expect(userPage.Locator("#tier-pill")).ToHaveTextAsync("professional");
        Assert.Equal(75m, await Gateway.CreditsAsync(userKey));
    }

    [SkippableFact]
    public async Task The_stream_reader_parses_events_split_anywhere_with_crlf_cr_comments_done_and_no_event_line()
    {
        var page = await fixture.OpenConsoleAsync();
        var json = await page.EvaluateAsync<string>("""
            async () => {
              const { readEvents } = await import('/js/sse.js');
              const text =
                'event: image_generation.partial_image\r\n' +
                'data: {"type":"image_generation.partial_image","b64_json":"iVBORw0KGgo=","partial_image_index":0}\r\n\r\n' +
                ': a comment\n\n' +
                'data: {"type":"image_generation.partial_image","b64_json":"AAAA","partial_image_index":1,"note":"café ☕"}\n\n' +
                'event: image_generation.completed\r' +
                'data: {"type":"image_generation.completed",\r' +
                'data: "url":"http://h/i.png?sig=a:b","_metadata":{"cost_incurred":1.2}}\r\r' +
                'event: error\n' +
                'data: {"type":"error","error":{"message":"boom","type":"api_error","code":"upstream_failed","param":null}}\n\n' +
                'data: [DONE]\n\n';
              const bytes = new TextEncoder().encode(text);
              const find = (s) => {
                const needle = new TextEncoder().encode(s);
                outer: for (let i = 0; i <= bytes.length - needle.length; i++) {
                  for (let j = 0; j < needle.length; j++) if (bytes[i + j] !== needle[j]) continue outer;
                  return i;
                }
                throw new Error('not found: ' + s);
              };
              const read = async (chunks) => {
                const body = new ReadableStream({ start(c) { for (const chunk of chunks) c.enqueue(chunk); c.close(); } });
                const out = [];
                for await (const e of readEvents(new Response(body))) out.push(e);
                return out;
              };
              const cut = (at) => [0, ...at].map((start, i, all) => bytes.slice(start, all[i + 1] ?? bytes.length));
              // Mid-CRLF, mid-field name, inside a multi-byte character, between CR and the next line, inside [DONE].
              const awkward = [find('\r\n') + 1, find('data:') + 2, find('☕') + 1, find('data: "url"'), find('[DO') + 3].sort((a, b) => a - b);
              return JSON.stringify({
                whole: await read([bytes]),
                bytes: await read([...bytes].map((b) => new Uint8Array([b]))),
                awkward: await read(cut(awkward)),
                unterminated: await read([new TextEncoder().encode('event: image_edit.completed\r\ndata: {"type":"image_edit.completed","url":"u"}')]),
              });
            }
            """);
        using var doc = JsonDocument.Parse(json);
        var whole = doc.RootElement.GetProperty("whole");
        Assert.Equal(whole.GetRawText(), doc.RootElement.GetProperty("bytes").GetRawText());
        Assert.Equal(whole.GetRawText(), doc.RootElement.GetProperty("awkward").GetRawText());

        var events = whole.EnumerateArray().ToArray();
        Assert.Equal(["image_generation.partial_image", "image_generation.partial_image", "image_generation.completed", "error"],
            events.Select(e => e.GetProperty("event").GetString()));
        Assert.Equal("iVBORw0KGgo=", events[0].GetProperty("data").GetProperty("b64_json").GetString());
        Assert.Equal(1, events[1].GetProperty("data").GetProperty("partial_image_index").GetInt32());   // named by its type
        Assert.Equal("café ☕", events[1].GetProperty("data").GetProperty("note").GetString());
        Assert.Equal("http://h/i.png?sig=a:b", events[2].GetProperty("data").GetProperty("url").GetString()); // two data lines, one JSON
        Assert.Equal(1.2m, events[2].GetProperty("data").GetProperty("_metadata").GetProperty("cost_incurred").GetDecimal());
        Assert.Equal("boom", events[3].GetProperty("data").GetProperty("error").GetProperty("message").GetString());

        var last = Assert.Single(doc.RootElement.GetProperty("unterminated").EnumerateArray());
        Assert.Equal("image_edit.completed", last.GetProperty("event").GetString());
        Assert.Equal("u", last.GetProperty("data").GetProperty("url").GetString());
    }

    [SkippableFact]
    public async Task Streaming_builtin_preview_shows_partial_images_before_the_final_one_and_the_balance_drops_by_the_cost()
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 100m);
        var page = await fixture.SignInAsync(key);
        await page.GetByLabel("Prompt").FillAsync("A paper boat on a pond");
        await page.GetByLabel("Model").SelectOptionAsync("builtin-preview");
        await page.GetByLabel("Size").SelectOptionAsync("256x256");
        await Expect(page.Locator("[data-testid=estimate]:not([data-pending])")).ToBeVisibleAsync();

        // Every image the gallery gains, in order (each preview is a new element, so none is missed).
        await page.EvaluateAsync("""
            () => {
              window.seen = [];
              new MutationObserver((records) => {
                for (const r of records) for (const n of r.addedNodes) {
                  if (!(n instanceof Element)) continue;
                  for (const img of [n, ...n.querySelectorAll('img')].filter((e) => e.tagName === 'IMG'))
                    window.seen.push({ testid: img.dataset.testid || 'result', index: img.dataset.index ?? null, src: img.getAttribute('src').slice(0, 22) });
                }
              }).observe(document.getElementById('gallery'), { childList: true, subtree: true });
            }
            """);
        var answered = page.WaitForResponseAsync(r => r.Url.EndsWith("/image/generations"));
        await page.Locator("#generate-btn").ClickAsync();
        var response = await answered;
        Assert.StartsWith("text/event-stream", response.Headers["content-type"]);
        using (var sent = JsonDocument.Parse(response.Request.PostData!))
        {
            Assert.True(sent.RootElement.GetProperty("stream").GetBoolean());
            Assert.Equal(2, sent.RootElement.GetProperty("partial_images").GetInt32());
            Assert.Equal("url", sent.RootElement.GetProperty("response_format").GetString());
        }

        await Expect(page.Locator("#gen-done")).ToContainTextAsync("1 image");
        var seen = (await page.EvaluateAsync<JsonElement>("() => window.seen")).EnumerateArray()
            .Select(e => (Id: e.GetProperty("testid").GetString(), Index: e.GetProperty("index").GetString(), Src: e.GetProperty("src").GetString()!)).ToArray();
        var partials = seen.TakeWhile(e => e.Id == "partial").ToArray();
        Assert.Equal(2, partials.Length);                                     // as many as asked for
        Assert.Equal(Enumerable.Range(0, partials.Length).Select(i => i.ToString(CultureInfo.InvariantCulture)), partials.Select(p => p.Index));
        Assert.All(partials, p => Assert.StartsWith("data:image/png;base64", p.Src));
        var rest = seen[partials.Length..];
        Assert.NotEmpty(rest);
        Assert.DoesNotContain(rest, e => e.Id == "partial");                  // no preview after the final image
        Assert.Equal("final", rest[0].Id);
        Assert.StartsWith("http", rest[0].Src);                               // the signed URL replaces the preview

        var image = page.Locator("#gallery .shot:not(.pending) img");
        await Expect(image).ToHaveCountAsync(1);
        await page.WaitForFunctionAsync("() => [...document.querySelectorAll('#gallery img')].every(i => i.complete && i.naturalWidth > 0)");
        Assert.Equal(256, await image.EvaluateAsync<int>("i => i.naturalWidth"));

        // The balance drops by the _metadata's cost, which is the estimate.
        var cost = decimal.Parse((await page.Locator("#gen-done").GetAttributeAsync("data-cost"))!, CultureInfo.InvariantCulture);
        Assert.Equal(1.2m, cost);
        await Expect(page.GetByTestId("balance")).ToHaveTextAsync($"{(100m - cost).ToString("#,0.00", CultureInfo.InvariantCulture)} credits");
        Assert.Equal(100m - cost, await Gateway.CreditsAsync(key));
        await ConsoleFixture.ScreenshotAsync(page, "generate-streamed");
    }

    [SkippableFact]
    public async Task An_error_event_mid_stream_is_explained_and_its_preview_card_removed()
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 100m);
        var page = await fixture.SignInAsync(key);
        // The gateway sends an error event only when an upstream fails after the first event; a routed answer stands in.
        await page.RouteAsync("**/image/generations", route => route.FulfillAsync(new()
        {
            Status = 200,
            ContentType = "text/event-stream",
            Body = "event: image_generation.partial_image\n"
                + "data: {\"type\":\"image_generation.partial_image\",\"b64_json\":\"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=\",\"output_format\":\"png\",\"partial_image_index\":0}\n\n"
                + "event: error\n"
                + "data: {\"type\":\"error\",\"error\":{\"message\":\"The upstream failed mid-stream.\",\"type\":\"api_error\",\"code\":\"upstream_error\",\"param\":null}}\n\n",
        }));
        await page.GetByLabel("Prompt").FillAsync("A storm at sea");
        await page.GetByLabel("Model").SelectOptionAsync("builtin-preview");
        await Expect(page.Locator("[data-testid=estimate]:not([data-pending])")).ToBeVisibleAsync();
        await page.Locator("#generate-btn").ClickAsync();

        var alert = page.Locator("#gen-status .alert");
        await Expect(alert).ToContainTextAsync("The image provider failed");
        await Expect(alert).ToContainTextAsync("The upstream failed mid-stream.");
        await Expect(page.GetByTestId("live")).ToHaveCountAsync(0);
        await Expect(page.GetByTestId("partial")).ToHaveCountAsync(0);
        await Expect(page.Locator("#gallery")).ToContainTextAsync("No images yet");
        await Expect(page.Locator("#generate-btn")).ToBeEnabledAsync();
        await Expect(page.GetByTestId("balance")).ToHaveTextAsync("100.00 credits");
    }

    [SkippableFact]
    public async Task Editing_a_result_paints_a_mask_and_puts_the_edit_at_the_top_at_the_source_size()
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 100m);
        var page = await GenerateOneAsync(key, "A red barn in a green field", "1536x1024");
        var edit = page.Locator("#gallery .shot").First.GetByRole(AriaRole.Button, new() { Name = "Edit" });

        // Esc closes the editor and gives focus back to the button; Enter opens it again.
        await edit.ClickAsync();
        await Expect(page.GetByTestId("editor")).ToBeVisibleAsync();
        await Expect(page.GetByLabel("Describe the change")).ToBeFocusedAsync();
        await page.Keyboard.PressAsync("Escape");
        await Expect(page.GetByTestId("editor")).ToHaveCountAsync(0);
        await Expect(edit).ToBeFocusedAsync();
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.Locator("#editor[data-ready]")).ToBeVisibleAsync();

        // Only models that edit are offered, builtin-preview first choice.
        await Expect(page.Locator("#editor-model")).ToHaveValueAsync("builtin-preview");
        var offered = await page.Locator("#editor-model option").EvaluateAllAsync<string[]>("os => os.map(o => o.value)");
        Assert.Contains("gpt-image-2", offered);
        Assert.DoesNotContain("dall-e-3", offered);
        Assert.DoesNotContain("stable-diffusion-xl", offered);

        await Expect(page.Locator("#editor-clear")).ToBeDisabledAsync();
        await PaintAsync(page, (400, 500), (1100, 520));
        await Expect(page.Locator("#editor-clear")).ToBeEnabledAsync();
        await ConsoleFixture.ScreenshotAsync(page, "editor");
        await page.GetByLabel("Describe the change").FillAsync("Paint the barn blue");
        var answered = page.WaitForResponseAsync(r => r.Url.EndsWith("/images/edits"));
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply edit" }).ClickAsync();
        var answer = await answered;
        Assert.Equal(200, answer.Status);
        Assert.StartsWith("text/event-stream", answer.Headers["content-type"]); // builtin-preview edits stream too

        await Expect(page.GetByTestId("editor")).ToHaveCountAsync(0);
        await Expect(page.Locator("#gen-done")).ToContainTextAsync("1 image");
        await Expect(page.Locator("#gallery .shot")).ToHaveCountAsync(2);
        var first = page.Locator("#gallery .shot").First;
        await Expect(first.Locator(".prompt")).ToContainTextAsync("Paint the barn blue");
        await page.WaitForFunctionAsync("() => [...document.querySelectorAll('#gallery img')].every(i => i.complete && i.naturalWidth > 0)");
        Assert.Equal(new[] { 1536, 1024 }, await first.Locator("img").EvaluateAsync<int[]>("i => [i.naturalWidth, i.naturalHeight]"));

        var cost = decimal.Parse((await page.Locator("#gen-done").GetAttributeAsync("data-cost"))!, CultureInfo.InvariantCulture);
        Assert.Equal(100m - 1.2m - cost, await Gateway.CreditsAsync(key));
        await Expect(page.GetByTestId("balance")).ToHaveTextAsync($"{(100m - 1.2m - cost).ToString("#,0.00", CultureInfo.InvariantCulture)} credits");
        await ConsoleFixture.ScreenshotAsync(page, "edited");
    }

    [SkippableFact]
    public async Task The_editors_mask_is_a_png_of_the_image_size_with_alpha_0_exactly_where_painted()
    {
        var (_, key) = await Gateway.CreateUserAsync("managed", 100m);
        var page = await GenerateOneAsync(key, "A white cat on a sofa", "256x256");
        await page.Locator("#gallery .shot").First.GetByRole(AriaRole.Button, new() { Name = "Edit" }).ClickAsync();
        await Expect(page.Locator("#editor[data-ready]")).ToBeVisibleAsync();
        await page.GetByLabel("Brush size").FillAsync("20");

        // Keep what the editor sends, to read the mask it built.
        await page.EvaluateAsync("""
            () => {
              const send = window.fetch;
              window.fetch = (url, init) => { if (init && init.body instanceof FormData) window.sentForm = init.body; return send(url, init); };
            }
            """);
        await PaintAsync(page, (40, 128), (216, 128));
        await page.GetByLabel("Describe the change").FillAsync("Make the cat black");
        await page.GetByRole(AriaRole.Button, new() { Name = "Apply edit" }).ClickAsync();
        await page.WaitForFunctionAsync("() => window.sentForm");

        var found = await page.EvaluateAsync<JsonElement>("""
            async () => {
              const form = window.sentForm;
              const mask = form.get('mask'), image = form.get('image');
              const [m, i] = [await createImageBitmap(mask), await createImageBitmap(image)];
              const canvas = new OffscreenCanvas(m.width, m.height);
              const g = canvas.getContext('2d');
              g.drawImage(m, 0, 0);
              const alpha = g.getImageData(0, 0, m.width, m.height).data;
              // Distance of a pixel's centre from the stroke (40,128)–(216,128); the brush radius is 10.
              const distance = (x, y) => Math.hypot(Math.max(40 - x, 0, x - 216), y - 128);
              let zero = 0, neither = 0, unpaintedInside = 0, paintedOutside = 0;
              for (let y = 0; y < m.height; y++) for (let x = 0; x < m.width; x++) {
                const a = alpha[(y * m.width + x) * 4 + 3], d = distance(x + .5, y + .5);
                if (a === 0) zero++;
                if (a !== 0 && a !== 255) neither++;
                if (d <= 10 - 1.5 && a !== 0) unpaintedInside++;
                if (d >= 10 + 1.5 && a !== 255) paintedOutside++;
              }
              return { type: mask.type, imageType: image.type, width: m.width, height: m.height, imageWidth: i.width, imageHeight: i.height,
                zero, neither, unpaintedInside, paintedOutside, model: form.get('model'), format: form.get('response_format') };
            }
            """);
        Assert.Equal("image/png", found.GetProperty("type").GetString());
        Assert.Equal("image/png", found.GetProperty("imageType").GetString());
        Assert.Equal(256, found.GetProperty("width").GetInt32());
        Assert.Equal(256, found.GetProperty("height").GetInt32());
        Assert.Equal(256, found.GetProperty("imageWidth").GetInt32());
        Assert.Equal(256, found.GetProperty("imageHeight").GetInt32());
        Assert.Equal(0, found.GetProperty("neither").GetInt32());            // alpha is 0 or 255, nothing between
        Assert.Equal(0, found.GetProperty("unpaintedInside").GetInt32());
        Assert.Equal(0, found.GetProperty("paintedOutside").GetInt32());
        Assert.InRange(found.GetProperty("zero").GetInt32(), 176 * 18, 176 * 22 + 400); // about the stroke's area, 176 × 20 + π × 10²
        Assert.Equal("builtin-preview", found.GetProperty("model").GetString());
        Assert.Equal("url", found.GetProperty("format").GetString());
    }

    /// <summary>Signs in and makes one builtin-preview image of <paramref name="size"/>, the gallery's first result.</summary>
    private async Task<IPage> GenerateOneAsync(string key, string prompt, string size)
    {
        var page = await fixture.SignInAsync(key);
        await page.GetByLabel("Prompt").FillAsync(prompt);
        await page.GetByLabel("Model").SelectOptionAsync("builtin-preview");
        await page.GetByLabel("Size").SelectOptionAsync(size);
        await Expect(page.Locator("[data-testid=estimate]:not([data-pending])")).ToBeVisibleAsync();
        await page.Locator("#generate-btn").ClickAsync();
        await Expect(page.Locator("#gen-done")).ToContainTextAsync("1 image");
        await Expect(page.Locator("#gallery .shot:not(.pending)")).ToHaveCountAsync(1);
        return page;
    }

    /// <summary>Drags the mouse across the editor's canvas between two points given in image pixels.</summary>
    private static async Task PaintAsync(IPage page, (double X, double Y) from, (double X, double Y) to)
    {
        var canvas = page.Locator("#editor-mask");
        var box = (await canvas.BoundingBoxAsync())!;
        var size = await canvas.EvaluateAsync<int[]>("c => [c.width, c.height]");
        (float, float) At((double X, double Y) p) => ((float)(box.X + p.X * box.Width / size[0]), (float)(box.Y + p.Y * box.Height / size[1]));
        var (x0, y0) = At(from);
        var (x1, y1) = At(to);
        await page.Mouse.MoveAsync(x0, y0);
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync(x1, y1, new() { Steps = 12 });
        await page.Mouse.UpAsync();
    }

    private async Task<bool?> ByokEnabledAsync(string key, string provider)
    {
        using var client = Gateway.Client(key);
        using var json = JsonDocument.Parse(await client.GetStringAsync("/api/v1/llm/byok/keys"));
        foreach (var k in json.RootElement.GetProperty("data").EnumerateArray())
            if (k.GetProperty("provider").GetString() == provider) return k.GetProperty("enabled").GetBoolean();
        return null;
    }
}

/// <summary>How the console is served: without a key, and never in the way of the API's own answers.</summary>
public sealed class ConsoleServingTests(ConsoleFixture fixture) : IClassFixture<ConsoleFixture>
{
    [Fact]
    public async Task The_console_is_served_without_a_key_and_unknown_api_paths_stay_json_404()
    {
        using var client = fixture.Gateway.Client();
        var index = await client.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, index.StatusCode);
        Assert.Equal("text/html", index.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<script type=\"module\" src=\"js/app.js\">", await index.Content.ReadAsStringAsync());
        var script = await client.GetAsync("/js/app.js");
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);

        foreach (var path in new[] { "/api/v1/nope", "/v1/index.html", "/api/v1/llm/app.css" })
        {
            var response = await client.GetAsync(path);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal("not_found", json.RootElement.GetProperty("error").GetProperty("code").GetString());
        }
        // API routes still demand a key.
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/v1/llm/credits")).StatusCode);
    }
}
