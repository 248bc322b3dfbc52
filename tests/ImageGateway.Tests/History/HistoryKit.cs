using System.Text.Json;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.History;

internal static class HistoryKit
{
    public const string Path = "/api/v1/history";

    public static async Task<JsonElement> HistoryPageAsync(this HttpClient client, string query = "") =>
        await (await client.GetAsync(Path + query)).OkJsonAsync();

    public static JsonElement[] Entries(this JsonElement page) => page.GetProperty("data").EnumerateArray().ToArray();

    public static async Task<JsonElement> OnlyEntryAsync(this HttpClient client) => Assert.Single((await client.HistoryPageAsync()).Entries());

    public static async Task<JsonElement> EntryAsync(this HttpClient client, string id) =>
        await (await client.GetAsync($"{Path}/{id}")).OkJsonAsync();
}
