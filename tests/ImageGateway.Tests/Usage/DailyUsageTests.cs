using System.Globalization;
using System.Net;
using System.Text.Json;
using ImageGateway.Tests.Providers;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Usage;

/// <summary>GET /usage/daily: spend per UTC day and model, as JSON and as CSV, from the same usage events the charges were settled with.</summary>
public sealed class DailyUsageTests : GptImageGateway
{
    private const string Daily = "/api/v1/llm/usage/daily";

    private static async Task<(string Model, decimal Cost)> GenerateAsync(HttpClient client, object body)
    {
        var (response, text) = await client.GenerateAsync(body);
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var meta = JsonDocument.Parse(text).RootElement.GetProperty("_metadata");
        return (meta.Str("model_used")!, meta.Dec("cost_incurred"));
    }

    /// <summary>Two days of a builtin and a gpt-image-2 user, with a failed request and another account's spend in between.</summary>
    private async Task<(HttpClient Client, Dictionary<(string Day, string Model), decimal> Costs)> TwoDaysAsync()
    {
        var (client, _) = await UserAsync();
        var (other, _) = await UserAsync();
        var costs = new Dictionary<(string, string), decimal>();
        void Add(string day, (string Model, decimal Cost) c) => costs[(day, c.Model)] = costs.GetValueOrDefault((day, c.Model)) + c.Cost;
        var kite = new { model = "gpt-image-2", prompt = "a red kite", size = "1024x1024", quality = "low", response_format = "b64_json" };

        Add("2026-11-23", await GenerateAsync(client, Api.BuiltinBody(n: 2, format: "b64_json")));
        Add("2026-11-23", await GenerateAsync(client, kite));
        Fake.FailWith(FakeGptImage.Failure.ServerError, times: 1);
        Assert.Equal(HttpStatusCode.BadGateway, (await client.PostJsonAsync(OpenAiKit.GeneratePath, kite)).StatusCode);
        await GenerateAsync(other, Api.BuiltinBody(n: 3, format: "b64_json"));
        Gateway.Time.Advance(TimeSpan.FromDays(1));
        Add("2026-11-24", await GenerateAsync(client, Api.BuiltinBody(format: "b64_json")));
        Add("2026-11-24", await GenerateAsync(client, kite));
        return (client, costs);
    }

    [Fact]
    public async Task Daily_spend_per_model_matches_the_ledger_charges_across_two_days()
    {
        var (client, costs) = await TwoDaysAsync();

        var json = await (await client.GetAsync($"{Daily}?from=2026-11-23&to=2026-11-24")).OkJsonAsync();

        Assert.Equal("2026-11-23", json.Str("from"));
        Assert.Equal("2026-11-24", json.Str("to"));
        var days = json.GetProperty("days").EnumerateArray().ToArray();
        Assert.Equal([("2026-11-23", Api.Builtin), ("2026-11-23", "gpt-image-2"), ("2026-11-24", Api.Builtin), ("2026-11-24", "gpt-image-2")],
            days.Select(d => (d.Str("date")!, d.Str("model")!)).ToArray());
        Assert.All(days, d => Assert.Equal(costs[(d.Str("date")!, d.Str("model")!)], d.Dec("credits")));
        Assert.Equal([2L, 1L, 1L, 1L], days.Select(d => d.GetProperty("images").GetInt64()).ToArray());
        Assert.Equal(2, days[1].GetProperty("requests").GetInt64()); // the failed request counts, with 0 images and 0 credits
        var charged = -(await client.HistoryAsync()).Transactions().Where(t => t.Str("type") == "settle").Sum(t => t.Dec("amount"));
        Assert.Equal(charged, json.Dec("total_credits"));
        Assert.Equal(days.Sum(d => d.Dec("credits")), json.Dec("total_credits"));
        Assert.Equal(5, json.GetProperty("total_images").GetInt64());

        var secondDay = await (await client.GetAsync($"{Daily}?from=2026-11-24&to=2026-11-24")).OkJsonAsync();
        Assert.Equal(costs[("2026-11-24", Api.Builtin)] + costs[("2026-11-24", "gpt-image-2")], secondDay.Dec("total_credits"));
        var defaults = await (await client.GetAsync(Daily)).OkJsonAsync(); // the last 30 days to today
        Assert.Equal("2026-11-24", defaults.Str("to"));
        Assert.Equal(charged, defaults.Dec("total_credits"));
    }

    [Theory]
    [InlineData("?format=csv", null)]
    [InlineData("", "text/csv")]
    public async Task Csv_export_has_a_header_row_and_the_same_rows_as_the_json(string format, string? accept)
    {
        var (client, _) = await TwoDaysAsync();
        var range = "from=2026-11-23&to=2026-11-24";
        var json = await (await client.GetAsync($"{Daily}?{range}")).OkJsonAsync();

        using var request = new HttpRequestMessage(HttpMethod.Get, $"{Daily}{(format == "" ? "?" : format + "&")}{range}");
        if (accept is not null) request.Headers.Accept.ParseAdd(accept);
        var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("attachment", response.Content.Headers.ContentDisposition?.DispositionType);
        Assert.Equal("usage-2026-11-23-to-2026-11-24.csv", response.Content.Headers.ContentDisposition?.FileName?.Trim('"'));
        var lines = (await response.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("date,model,requests,images,credits", lines[0]);
        var expected = json.GetProperty("days").EnumerateArray().Select(d => string.Join(',', d.Str("date"), d.Str("model"),
            d.GetProperty("requests").GetInt64(), d.GetProperty("images").GetInt64(), d.Dec("credits").ToString(CultureInfo.InvariantCulture)));
        Assert.Equal(expected, lines[1..]);
        Assert.Equal(json.Dec("total_credits"), lines[1..].Sum(l => decimal.Parse(l.Split(',')[4], CultureInfo.InvariantCulture)));
    }

    [Theory]
    [InlineData("?from=2026-11-24&to=2026-11-23", "from")]
    [InlineData("?from=2025-01-01&to=2026-01-02", "to")]
    [InlineData("?from=2026-13-01", "from")]
    [InlineData("?to=24.11.2026", "to")]
    [InlineData("?format=xml", "format")]
    public async Task A_bad_range_or_format_is_a_400_naming_the_parameter(string query, string param)
    {
        var (client, _) = await UserAsync();

        await Api.AssertErrorAsync(await client.GetAsync(Daily + query), HttpStatusCode.BadRequest, "invalid_request_error", "invalid_value", param);
    }
}
