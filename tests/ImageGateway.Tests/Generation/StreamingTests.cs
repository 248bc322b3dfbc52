using System.Net;
using System.Text;
using System.Text.Json;
using ImageGateway.Billing;
using ImageGateway.Tests.Providers;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Generation;

/// <summary>One server-sent event as a client reads it.</summary>
public sealed record SseEvent(string? Event, string Data)
{
    public JsonElement Json => JsonDocument.Parse(Data).RootElement.Clone();

    /// <summary>Splits a whole <c>text/event-stream</c> body into events (blank-line separated; <c>event:</c> and <c>data:</c> lines).</summary>
    public static IReadOnlyList<SseEvent> Parse(string body)
    {
        var events = new List<SseEvent>();
        foreach (var block in body.Replace("\r\n", "\n").Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            string? name = null;
            var data = new StringBuilder();
            foreach (var line in block.Split('\n'))
            {
                if (line.StartsWith("event: ", StringComparison.Ordinal)) name = line[7..];
                else if (line.StartsWith("data: ", StringComparison.Ordinal)) data.Append(line[6..]);
            }
            events.Add(new SseEvent(name, data.ToString()));
        }
        return events;
    }
}

/// <summary>
/// stream: true (DESIGN §12, issue 22) on builtin-preview, offline: OpenAI's events in order, each
/// valid against the spec, real partial renders, one charge at completed, and the replay of an
/// Idempotency-Key as a stream.
/// </summary>
public sealed class StreamingTests : IDisposable
{
    private readonly GatewayFactory _gateway = new GatewayFactory().WithoutUpstreamKeys();

    public void Dispose() => _gateway.Dispose();

    private async Task<(HttpClient Client, string UserId)> UserAsync(decimal credits = 100m)
    {
        var (userId, key) = await _gateway.CreateUserAsync("managed", credits);
        return (_gateway.ClientWithKey(key), userId);
    }

    private static async Task<IReadOnlyList<SseEvent>> StreamAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        return SseEvent.Parse(body);
    }

    [Theory]
    [InlineData("/v1/images/generations")]
    [InlineData("/api/v1/llm/images/generations")]
    public async Task Partial_images_then_completed_each_valid_decoding_and_charged_once(string path)
    {
        var (client, userId) = await UserAsync();

        var events = await StreamAsync(await client.PostJsonAsync(path,
            new { model = "builtin-preview", prompt = "a red kite", size = "1024x1024", stream = true, partial_images = 2, response_format = "b64_json" }));

        Assert.Equal(["image_generation.partial_image", "image_generation.partial_image", "image_generation.completed"], events.Select(e => e.Event).ToArray());
        Assert.Equal(events.Select(e => e.Event), events.Select(e => e.Json.Str("type")));
        Assert.Equal([0, 1], events.Take(2).Select(e => e.Json.GetProperty("partial_image_index").GetInt32()).ToArray());
        Assert.Empty(OpenAiSpec.Errors(events[0].Data, "ImageGenPartialImageEvent"));
        Assert.Empty(OpenAiSpec.Errors(events[1].Data, "ImageGenPartialImageEvent"));
        Assert.Empty(OpenAiSpec.Errors(events[2].Data, "ImageGenCompletedEvent"));
        var images = events.Select(e => Convert.FromBase64String(e.Json.Str("b64_json")!)).ToArray();
        Assert.All(images, bytes => Assert.Equal((1024, 1024), Api.PngSize(bytes)));
        Assert.Equal(3, images.Select(Convert.ToBase64String).Distinct().Count()); // real, different passes
        Assert.Equal(1.2m, events[2].Json.GetProperty("_metadata").Dec("cost_incurred"));
        var tx = (await client.HistoryAsync()).Transactions();
        Assert.Equal(["settle", "reserve", "grant"], tx.Select(t => t.Str("type")!).ToArray());
        Assert.Equal(-1.2m, tx[0].Dec("amount"));
        Assert.Empty(await _gateway.Service<CreditLedger>().VerifyAsync(userId));
    }

    [Fact]
    public async Task Zero_partial_images_is_one_completed_event_and_url_mode_adds_a_signed_url()
    {
        var (client, _) = await UserAsync();

        var events = await StreamAsync(await client.PostJsonAsync("/v1/images/generations",
            new { model = "builtin-preview", prompt = "a red kite", size = "1024x1024", stream = true, response_format = "url" }));

        var completed = Assert.Single(events);
        Assert.Equal("image_generation.completed", completed.Event);
        Assert.Empty(OpenAiSpec.Errors(completed.Data, "ImageGenCompletedEvent"));
        var url = new Uri(completed.Json.Str("url")!);
        var stored = await client.GetByteArrayAsync(url.PathAndQuery);
        Assert.Equal(Convert.FromBase64String(completed.Json.Str("b64_json")!), stored);
    }

    [Fact]
    public async Task Each_of_n_images_gets_its_completed_event_and_the_charge_is_for_n()
    {
        var (client, _) = await UserAsync();

        var events = await StreamAsync(await client.PostJsonAsync("/v1/images/generations",
            new { model = "builtin-preview", prompt = "a red kite", size = "256x256", n = 3, stream = true, partial_images = 1 }));

        var completed = events.Where(e => e.Event == "image_generation.completed").ToArray();
        Assert.Equal(3, completed.Length);
        Assert.Equal(3, completed.Select(e => e.Json.Str("b64_json")).Distinct().Count());
        Assert.All(completed, e => Assert.Equal(3.6m, e.Json.GetProperty("_metadata").Dec("cost_incurred")));
        Assert.Equal(100m - 3.6m, (await client.CreditsAsync()).Dec("credits_remaining"));
    }

    [Fact]
    public async Task An_edit_streams_image_edit_events()
    {
        var (client, _) = await UserAsync();

        var events = await StreamAsync(await client.PostAsync("/v1/images/edits", EditEndpointTests.Form(
            [("image", EditEndpointTests.Png(1024, 1024))], ("model", "builtin-preview"), ("prompt", "a red kite"),
            ("stream", "true"), ("partial_images", "2"))));

        Assert.Equal(["image_edit.partial_image", "image_edit.partial_image", "image_edit.completed"], events.Select(e => e.Event).ToArray());
        Assert.Empty(OpenAiSpec.Errors(events[0].Data, "ImageEditPartialImageEvent"));
        Assert.Empty(OpenAiSpec.Errors(events[2].Data, "ImageEditCompletedEvent"));
    }

    [Fact]
    public async Task Failures_before_the_first_event_are_ordinary_json_errors_with_their_status()
    {
        var (client, userId) = await UserAsync(credits: 0.5m);

        var response = await client.PostJsonAsync("/v1/images/generations",
            new { model = "builtin-preview", prompt = "a red kite", stream = true, partial_images = 2 });

        await Api.AssertErrorAsync(response, HttpStatusCode.PaymentRequired, "insufficient_quota", "insufficient_credits");
        Assert.Empty(await _gateway.Service<CreditLedger>().VerifyAsync(userId));
    }

    [Fact]
    public async Task An_idempotent_stream_replays_its_completed_events_without_the_partials_and_charges_once()
    {
        var (client, _) = await UserAsync();
        var body = new { model = "builtin-preview", prompt = "a red kite", size = "256x256", stream = true, partial_images = 2, response_format = "b64_json" };
        using var first = new HttpRequestMessage(HttpMethod.Post, "/v1/images/generations") { Content = Api.Json(body) };
        first.Headers.Add("Idempotency-Key", "stream-1");
        using var again = new HttpRequestMessage(HttpMethod.Post, "/v1/images/generations") { Content = Api.Json(body) };
        again.Headers.Add("Idempotency-Key", "stream-1");

        var original = await StreamAsync(await client.SendAsync(first));
        var replayResponse = await client.SendAsync(again);
        var replay = await StreamAsync(replayResponse);

        Assert.Equal("true", replayResponse.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(original.Where(e => e.Event == "image_generation.completed").Select(e => e.Data), replay.Select(e => e.Data));
        Assert.DoesNotContain(replay, e => e.Event == "image_generation.partial_image");
        Assert.Equal(100m - 1.2m, (await client.CreditsAsync()).Dec("credits_remaining"));
    }

    [Theory]
    [InlineData("dall-e-3")]
    [InlineData("stable-diffusion-xl")]
    public async Task A_model_that_cannot_stream_is_a_400_naming_stream(string model)
    {
        var (client, _) = await UserAsync();

        var response = await client.PostJsonAsync("/v1/images/generations", new { model, prompt = "a red kite", stream = true });

        await Api.AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "invalid_value", "stream");
    }
}
