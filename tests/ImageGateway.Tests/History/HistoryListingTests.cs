using System.Net;
using System.Text.Json;
using ImageGateway.History;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.History;

public sealed class SqliteHistoryListingTests : HistoryListingTests
{
    protected override DbKind Kind => DbKind.Sqlite;
}

/// <summary>
/// Listing (cursor pages, search, filters), KeepPrompts, deleting, pruning and one account never
/// reaching another's entries, on each database kind (PostgresHistoryListingTests in
/// ImageGateway.IntegrationTests runs them on PostgreSQL).
/// </summary>
public abstract class HistoryListingTests : DualDatabaseTests
{
    private readonly GatewayFactory _gateway = new();

    protected override bool CreatesDatabase => false; // the gateway gets its own, of Kind

    public override Task InitializeAsync() => UseKindAsync(_gateway);

    public override Task DisposeAsync()
    {
        _gateway.Dispose();
        return Task.CompletedTask;
    }

    private async Task<HttpClient> ClientAsync(decimal credits = 100m) =>
        _gateway.ClientWithKey((await _gateway.CreateUserAsync("managed", credits)).Key);

    [Fact]
    public async Task Cursor_pages_return_every_entry_once_newest_first()
    {
        var client = await ClientAsync();
        for (var i = 0; i < 7; i++)
        {
            await client.GenerateBuiltinAsync(prompt: $"picture {i}", format: "b64_json");
            if (i != 2 && i != 4) _gateway.Time.Advance(TimeSpan.FromSeconds(1)); // entries 2-3 and 4-5 share their millisecond
        }

        var seen = new List<JsonElement>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await client.HistoryPageAsync("?limit=3" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor)));
            Assert.True(page.Entries().Length <= 3);
            seen.AddRange(page.Entries());
            cursor = page.GetProperty("next_cursor").GetString();
            Assert.Equal(cursor is not null, page.GetProperty("has_more").GetBoolean());
            pages++;
        } while (cursor is not null && pages < 10);

        Assert.Equal(3, pages);
        Assert.Equal(7, seen.Select(e => e.Str("id")).Distinct().Count());
        Assert.Equal(Enumerable.Range(0, 7).Select(i => $"picture {i}").Order(), seen.Select(e => e.Str("prompt")!).Order());
        var times = seen.Select(e => e.GetProperty("created_at").GetInt64()).ToArray();
        Assert.Equal(times.OrderDescending(), times);
        Assert.Equal("picture 6", seen[0].Str("prompt"));
        Assert.Equal(7, (await client.HistoryPageAsync()).Entries().Length); // the default limit (20) covers all 7
    }

    [Fact]
    public async Task Search_matches_a_prompt_substring_case_insensitively_and_filters_by_model_and_status()
    {
        var client = await ClientAsync();
        await client.GenerateBuiltinAsync(prompt: "A Red Fox at dusk", format: "b64_json");
        await client.GenerateBuiltinAsync(prompt: "a blue whale", format: "b64_json");
        await client.GenerateBuiltinAsync(prompt: "red_panda 100% cute", format: "b64_json");

        string[] Prompts(JsonElement page) => page.Entries().Select(e => e.Str("prompt")!).Order().ToArray();
        Assert.Equal(["A Red Fox at dusk", "red_panda 100% cute"], Prompts(await client.HistoryPageAsync("?q=RED")));
        Assert.Equal(["red_panda 100% cute"], Prompts(await client.HistoryPageAsync("?q=" + Uri.EscapeDataString("0%"))));
        Assert.Equal(["red_panda 100% cute"], Prompts(await client.HistoryPageAsync("?q=_")));
        Assert.Empty(Prompts(await client.HistoryPageAsync("?q=dragon")));
        Assert.Equal(3, Prompts(await client.HistoryPageAsync($"?model={Api.Builtin}&status=succeeded")).Length);
        Assert.Empty(Prompts(await client.HistoryPageAsync("?model=gpt-image-2")));
        Assert.Empty(Prompts(await client.HistoryPageAsync("?status=failed")));
    }

    [Theory]
    [InlineData("?limit=0", "limit")]
    [InlineData("?limit=101", "limit")]
    [InlineData("?cursor=not-a-cursor", "cursor")]
    [InlineData("?status=lost", "status")]
    public async Task Bad_listing_parameters_are_a_400_naming_the_parameter(string query, string param)
    {
        var client = await ClientAsync();

        var error = await Api.AssertErrorAsync(await client.GetAsync(HistoryKit.Path + query), HttpStatusCode.BadRequest, "invalid_request_error",
            "invalid_value", param);

        Assert.Contains($"'{param}'", error.Str("message"));
    }

    [Fact]
    public async Task With_KeepPrompts_false_an_entry_is_kept_without_its_prompt()
    {
        _gateway.Settings["Gateway:History:KeepPrompts"] = "false";
        var client = await ClientAsync();
        await client.GenerateBuiltinAsync(prompt: "a secret garden", format: "b64_json");

        var entry = await client.OnlyEntryAsync();
        Assert.Equal(JsonValueKind.Null, entry.GetProperty("prompt").ValueKind);
        Assert.Equal("succeeded", entry.Str("status"));
        var detail = await client.EntryAsync(entry.Str("id")!);
        Assert.False(detail.GetProperty("request").TryGetProperty("prompt", out _));
        Assert.Empty((await client.HistoryPageAsync("?q=secret")).Entries());
        var account = (await client.CreditsAsync()).Str("user_id")!;
        var row = await _gateway.Service<HistoryStore>().GetAsync(account, entry.Str("id")!, CancellationToken.None);
        Assert.Null(row!.Prompt);
        Assert.DoesNotContain("secret", row.Request);
    }

    [Fact]
    public async Task Deleting_one_entry_and_then_all_leaves_the_ledger_and_usage_alone()
    {
        var client = await ClientAsync();
        for (var i = 0; i < 3; i++) await client.GenerateBuiltinAsync(prompt: $"boat {i}", format: "b64_json");
        var ledgerBefore = (await client.HistoryAsync()).GetRawText();
        var usageBefore = (await (await client.GetAsync("/api/v1/llm/usage")).OkJsonAsync()).GetProperty("totals").GetRawText();
        var id = (await client.HistoryPageAsync()).Entries()[0].Str("id")!;

        Assert.Equal(1, (await (await client.DeleteAsync($"{HistoryKit.Path}/{id}")).OkJsonAsync()).GetProperty("deleted").GetInt64());
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"{HistoryKit.Path}/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.DeleteAsync($"{HistoryKit.Path}/{id}")).StatusCode);
        Assert.Equal(2, (await client.HistoryPageAsync()).Entries().Length);

        Assert.Equal(2, (await (await client.DeleteAsync(HistoryKit.Path)).OkJsonAsync()).GetProperty("deleted").GetInt64());
        Assert.Empty((await client.HistoryPageAsync()).Entries());
        Assert.Equal(ledgerBefore, (await client.HistoryAsync()).GetRawText());
        Assert.Equal(usageBefore, (await (await client.GetAsync("/api/v1/llm/usage")).OkJsonAsync()).GetProperty("totals").GetRawText());
    }

    [Fact]
    public async Task Another_account_can_neither_read_nor_delete_an_entry()
    {
        var owner = await ClientAsync();
        var other = await ClientAsync();
        await owner.GenerateBuiltinAsync(prompt: "only mine", format: "b64_json");
        var id = (await owner.OnlyEntryAsync()).Str("id")!;

        await Api.AssertErrorAsync(await other.GetAsync($"{HistoryKit.Path}/{id}"), HttpStatusCode.NotFound, "not_found_error", "not_found");
        await Api.AssertErrorAsync(await other.DeleteAsync($"{HistoryKit.Path}/{id}"), HttpStatusCode.NotFound, "not_found_error", "not_found");
        Assert.Empty((await other.HistoryPageAsync()).Entries());
        Assert.Empty((await other.HistoryPageAsync("?q=mine")).Entries());
        Assert.Equal(0, (await (await other.DeleteAsync(HistoryKit.Path)).OkJsonAsync()).GetProperty("deleted").GetInt64());
        Assert.Equal("only mine", (await owner.EntryAsync(id)).Str("prompt"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await _gateway.AnonymousClient().GetAsync(HistoryKit.Path)).StatusCode);
    }

    [Fact]
    public async Task Housekeeping_prunes_entries_older_than_KeepDays()
    {
        _gateway.Settings["Gateway:History:KeepDays"] = "2";
        var client = await ClientAsync();
        await client.GenerateBuiltinAsync(prompt: "old", format: "b64_json");
        _gateway.Time.Advance(TimeSpan.FromDays(2) + TimeSpan.FromMinutes(1));
        await client.GenerateBuiltinAsync(prompt: "new", format: "b64_json");

        await _gateway.Service<ImageGateway.Hosting.Housekeeping>().RunOnceAsync(CancellationToken.None);

        Assert.Equal("new", (await client.OnlyEntryAsync()).Str("prompt"));
    }

    [Fact]
    public async Task Daily_spend_sums_each_day_and_a_refusal_is_listed_on_this_database()
    {
        var client = await ClientAsync(3m);
        Assert.Equal(Kind == DbKind.Postgres ? "postgres" : "sqlite", _gateway.Service<ImageGateway.Data.Database>().Dialect.Name);
        await client.GenerateBuiltinAsync(n: 2, format: "b64_json");
        _gateway.Time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(HttpStatusCode.PaymentRequired, (await client.PostJsonAsync("/api/v1/llm/images/generations", Api.BuiltinBody())).StatusCode);

        var daily = await (await client.GetAsync("/api/v1/llm/usage/daily?from=2026-11-22&to=2026-11-24")).OkJsonAsync();
        var day = Assert.Single(daily.GetProperty("days").EnumerateArray());
        Assert.Equal(("2026-11-23", 2L, 2.4m), (day.Str("date"), day.GetProperty("images").GetInt64(), day.Dec("credits")));
        Assert.Equal(2.4m, daily.Dec("total_credits"));
        var refused = Assert.Single((await client.HistoryPageAsync("?status=refused")).Entries());
        Assert.Equal("insufficient_credits", refused.GetProperty("error").Str("code"));
    }
}
