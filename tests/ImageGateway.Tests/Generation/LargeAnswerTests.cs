using System.Net;
using System.Text.Json;
using ImageGateway.Providers;
using ImageGateway.Storage;
using ImageGateway.Tests.Providers;
using ImageGateway.Tests.Support;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace ImageGateway.Tests.Generation;

/// <summary>
/// Photographic-size answers: written with their length and their base64 spliced in where the
/// envelope marks it, held within the body budget (waiting, never failing), and stored as files
/// past the page cache.
/// </summary>
public sealed class LargeAnswerTests : IAsyncLifetime
{
    private static readonly byte[] Photo = FakeUpstream.Png(1024, 3); // noisy: well over the 64 KB pooling threshold
    private readonly GatewayFactory _gateway = new GatewayFactory().WithoutUpstreamKeys().ServeAsItself("dall-e-3");
    private FakeUpstream _openai = null!;
    private string _revisedPrompt = "A revised prompt";

    public async Task InitializeAsync()
    {
        _openai = await FakeUpstream.StartAsync();
        _openai.Handler = (ctx, request) =>
        {
            var n = request.BodyJson().TryGetProperty("n", out var nn) ? nn.GetInt32() : 1;
            var data = Enumerable.Range(0, n).Select(_ => new { b64_json = Convert.ToBase64String(Photo), revised_prompt = _revisedPrompt }).ToArray();
            return FakeUpstream.Json(ctx, 200, JsonSerializer.Serialize(new { created = 1, data }));
        };
        _gateway.UseOpenAi("openai", _openai, maxRetries: 0);
    }

    public async Task DisposeAsync()
    {
        _gateway.Dispose();
        await _openai.DisposeAsync();
    }

    private async Task<HttpClient> ClientAsync()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10_000m);
        return _gateway.ClientWithKey(key);
    }

    [Fact]
    public async Task A_b64_json_answer_carries_its_exact_length_and_every_image_in_place()
    {
        // A control character, quotes and a backslash in the text around the images: escaped, never taken for an image's place.
        _revisedPrompt = "a \u0000 \"quoted\" \\ prompt";
        using var client = await ClientAsync();

        var response = await client.PostJsonAsync(OpenAiKit.GeneratePath, new { model = "dall-e-3", prompt = "p", size = "1024x1024", response_format = "b64_json", n = 2 });
        var text = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(text.Length, response.Content.Headers.ContentLength);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain((byte)0, text);
        using var json = JsonDocument.Parse(text);
        var data = json.RootElement.GetProperty("data");
        Assert.Equal(2, data.GetArrayLength());
        foreach (var datum in data.EnumerateArray())
        {
            Assert.Equal(Photo, Convert.FromBase64String(datum.GetProperty("b64_json").GetString()!));
            Assert.Equal(_revisedPrompt, datum.GetProperty("revised_prompt").GetString());
        }
        Assert.Equal(2, json.RootElement.GetProperty("_metadata").GetProperty("images_generated").GetInt32());
    }

    [Fact]
    public async Task Requests_over_the_body_budget_wait_for_room_and_all_succeed()
    {
        // Room for one answer at a time: the others wait for it to be written, and none fails.
        _gateway.Settings["Gateway:BodyBudgetBytes"] = (Convert.ToBase64String(Photo).Length + 200).ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var client = await ClientAsync();
        var budget = _gateway.Services.GetRequiredService<BodyBudget>();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var arrived = 0;
        var inner = _openai.Handler;
        _openai.Handler = async (ctx, request) =>
        {
            // All six answers leave the upstream at the same moment.
            if (Interlocked.Increment(ref arrived) == 6) gate.TrySetResult();
            await gate.Task.WaitAsync(TimeSpan.FromSeconds(30));
            await inner(ctx, request);
        };

        var answers = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => client.PostJsonAsync(OpenAiKit.GeneratePath,
            OpenAiKit.DallE3(format: i % 2 == 0 ? "b64_json" : "url"))));

        foreach (var answer in answers) await answer.OkJsonAsync();
        Assert.True(budget.Waits >= 1, $"waits: {budget.Waits}");
        Assert.Equal(0, budget.InUse);
        Assert.Equal(0, budget.Waiting);
    }

    [Fact]
    public async Task A_url_answer_is_stored_whole_and_downloads_byte_for_byte()
    {
        using var client = await ClientAsync();

        var json = await (await client.PostJsonAsync(OpenAiKit.GeneratePath, OpenAiKit.DallE3(format: "url"))).OkJsonAsync();
        var url = json.GetProperty("data")[0].GetProperty("url").GetString()!;

        using var anonymous = _gateway.CreateClient();
        Assert.Equal(Photo, await anonymous.GetByteArrayAsync(url));
        var store = Assert.IsType<FileSystemImageStore>(_gateway.Services.GetRequiredService<IImageStore>());
        Assert.Equal(DirectFile.Supported, store.WritesDirect); // the test folder's file system takes O_DIRECT
    }
}
