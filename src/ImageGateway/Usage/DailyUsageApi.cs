using System.Globalization;
using System.Text;
using ImageGateway.Accounts;
using ImageGateway.Billing;
using ImageGateway.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace ImageGateway.Usage;

public sealed record DailyUsageRow(string Date, string Model, long Requests, long Images, Millicredits Credits);

public sealed record DailyUsageResponse(string From, string To, IReadOnlyList<DailyUsageRow> Days, long TotalImages, Millicredits TotalCredits);

/// <summary>
/// The caller's spend per UTC day and model over a range of days (both ends included), from the
/// usage events the ledger's charges were written with; as JSON or as a CSV download. Days without
/// a request have no row. Platform and BYOK requests are summed together (BYOK ones cost 0).
/// </summary>
public static class DailyUsageApi
{
    public const string CsvHeader = "date,model,requests,images,credits";

    public static IEndpointRouteBuilder MapDailyUsageApi(this IEndpointRouteBuilder group)
    {
        group.MapGet("/usage/daily", GetDailyAsync).RequireGatewayKey().WithTags(ApiDocs.Tags.Money).Produces(200, contentType: "text/csv").ProducesErrors(400);
        return group;
    }

    /// <summary>Get your spend per day</summary>
    /// <remarks>
    /// Requests, images and credits per UTC day and model between <c>from</c> and <c>to</c> (both included,
    /// at most the usage window), as JSON or, with <c>format=csv</c> or <c>Accept: text/csv</c>, a CSV download.
    /// </remarks>
    /// <param name="from">First day, YYYY-MM-DD (UTC); default 29 days before today.</param>
    /// <param name="to">Last day, YYYY-MM-DD (UTC); default today.</param>
    /// <param name="format"><c>json</c> or <c>csv</c>; without it the Accept header decides.</param>
    public static async Task<Results<JsonOk<DailyUsageResponse>, FileContentHttpResult, ApiError>> GetDailyAsync(Caller caller, UsageStore usage,
        TimeProvider time, HttpRequest request, CancellationToken ct, string? from = null, string? to = null, string? format = null)
    {
        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        if (!TryDate(from, today.AddDays(-29), out var first)) return ApiError.Invalid("from", "'from' must be a date as YYYY-MM-DD (UTC).");
        if (!TryDate(to, today, out var last)) return ApiError.Invalid("to", "'to' must be a date as YYYY-MM-DD (UTC).");
        if (first > last) return ApiError.Invalid("from", "'from' must not be after 'to'.");
        if (last.DayNumber - first.DayNumber + 1 > UsageApi.MaxDays)
            return ApiError.Invalid("to", $"The range may span at most {UsageApi.MaxDays} days.");
        var csv = format is null ? request.Headers.Accept.ToString().Contains("text/csv", StringComparison.OrdinalIgnoreCase)
            : format.Equals("csv", StringComparison.OrdinalIgnoreCase) ? true
            : format.Equals("json", StringComparison.OrdinalIgnoreCase) ? false : (bool?)null;
        if (csv is null) return ApiError.Invalid("format", "'format' must be 'json' or 'csv'.");

        var since = new DateTimeOffset(first.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var until = new DateTimeOffset(last.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var rows = (await usage.AggregateAsync(since, caller.AccountId, ct, until))
            .GroupBy(r => (r.Day, r.Model))
            .Select(g => new DailyUsageRow(g.Key.Day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), g.Key.Model, g.Sum(r => r.Requests),
                g.Sum(r => r.Images), new Millicredits(g.Sum(r => r.Credits.Value))))
            .OrderBy(r => r.Date, StringComparer.Ordinal).ThenBy(r => r.Model, StringComparer.Ordinal).ToArray();
        var body = new DailyUsageResponse(Iso(first), Iso(last), rows, rows.Sum(r => r.Images), new Millicredits(rows.Sum(r => r.Credits.Value)));
        if (csv == false) return ApiResults.Ok(body, GatewayJson.Context.DailyUsageResponse);
        return TypedResults.File(Encoding.UTF8.GetBytes(Csv(body)), "text/csv; charset=utf-8", $"usage-{body.From}-to-{body.To}.csv");
    }

    /// <summary>One row per day and model; credits as the JSON shows them (a decimal number of credits, '.' as the point).</summary>
    public static string Csv(DailyUsageResponse body)
    {
        var text = new StringBuilder(CsvHeader).Append("\r\n");
        foreach (var r in body.Days)
            text.Append(r.Date).Append(',').Append(Field(r.Model)).Append(',').Append(r.Requests.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(r.Images.ToString(CultureInfo.InvariantCulture)).Append(',').Append(r.Credits.ToString()).Append("\r\n");
        return text.ToString();
    }

    private static string Field(string value) =>
        value.IndexOfAny([',', '"', '\r', '\n']) < 0 ? value : "\"" + value.Replace("\"", "\"\"") + "\"";

    private static string Iso(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static bool TryDate(string? text, DateOnly fallback, out DateOnly day)
    {
        if (string.IsNullOrEmpty(text)) { day = fallback; return true; }
        return DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out day);
    }
}
