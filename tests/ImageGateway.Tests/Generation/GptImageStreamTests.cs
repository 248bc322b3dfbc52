using System.Net;
using System.Text.Json;
using ImageGateway.Billing;
using ImageGateway.Tests.Providers;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Generation;

/// <summary>
/// gpt-image-2 edits and streams through the whole gateway against the fake that streams and
/// edits as OpenAI does: the upstream's partials passed on, one charge from the completed usage
/// (image-input tokens included), a failure mid-stream as an error event with nothing charged,
/// and a client that leaves cancelling the upstream call.
/// </summary>
public sealed class GptImageStreamTests : GptImageGateway
{
    private static object Streamed(int partials = 2) =>
        new { model = "gpt-image-2", prompt = "a red kite", size = "1024x1024", quality = "low", stream = true, partial_images = partials };

    [Fact]
    public async Task The_upstreams_partials_are_passed_on_and_the_completed_usage_is_charged_once()
    {
        var (client, userId) = await UserAsync();
        Fake.UsageOverride = new FakeGptImage.ImageUsage(50, 0, 1767);

        var response = await client.PostJsonAsync("/v1/images/generations", Streamed());
        var events = SseEvent.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(["image_generation.partial_image", "image_generation.partial_image", "image_generation.completed"], events.Select(e => e.Event).ToArray());
        Assert.Empty(OpenAiSpec.Errors(events[0].Data, "ImageGenPartialImageEvent"));
        Assert.Empty(OpenAiSpec.Errors(events[2].Data, "ImageGenCompletedEvent"));
        var sent = JsonSerializer.Deserialize<JsonElement>(Assert.Single(OpenAi.Generations()).BodyText);
        Assert.True(sent.GetProperty("stream").GetBoolean());
        Assert.Equal(2, sent.GetProperty("partial_images").GetInt32());
        Assert.Equal(1767, events[2].Json.GetProperty("usage").GetProperty("output_tokens").GetInt32());
        Assert.Equal(63.912m, events[2].Json.GetProperty("_metadata").Dec("cost_incurred"));
        var tx = (await client.HistoryAsync()).Transactions();
        Assert.Equal(["settle", "reserve", "grant"], tx.Select(t => t.Str("type")!).ToArray());
        Assert.Empty(await Gateway.Service<CreditLedger>().VerifyAsync(userId));
    }

    [Theory]
    [InlineData(FakeGptImage.StreamBreak.ServerError)]
    [InlineData(FakeGptImage.StreamBreak.ModerationBlocked)]
    [InlineData(FakeGptImage.StreamBreak.Drop)]
    public async Task A_failure_after_the_first_event_is_an_error_event_and_nothing_is_charged(FakeGptImage.StreamBreak how)
    {
        var (client, userId) = await UserAsync();
        Fake.FailAfterPartials(1, how);

        var response = await client.PostJsonAsync("/v1/images/generations", Streamed());
        var events = SseEvent.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode); // the stream had started
        Assert.Equal(["image_generation.partial_image", "error"], events.Select(e => e.Event).ToArray());
        var error = events[1].Json;
        Assert.Equal("error", error.Str("type"));
        Assert.Empty(OpenAiSpec.Errors(JsonSerializer.Serialize(new { error = error.GetProperty("error") }), "ErrorResponse"));
        await Gateway.AssertNothingChargedAsync(client, userId, 1000m, (await client.HistoryAsync()).Transactions()[1].Dec("hold"));
    }

    [Fact]
    public async Task A_client_that_leaves_mid_stream_cancels_the_upstream_call_and_is_not_charged()
    {
        var (client, userId) = await UserAsync();
        Fake.EventDelay = TimeSpan.FromMilliseconds(400);

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/images/generations") { Content = Api.Json(Streamed(partials: 3)) };
        using (var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.Equal("event: image_generation.partial_image", await reader.ReadLineAsync());
        } // the client goes away after the first partial image

        Assert.True(await Fake.WaitForCancelledStreamsAsync(1, TimeSpan.FromSeconds(10)), "the upstream never saw the cancellation");
        await WaitForAsync(async () => (await client.CreditsAsync()).Dec("reserved") == 0m);
        var tx = (await client.HistoryAsync()).Transactions();
        Assert.Equal(["release", "reserve", "grant"], tx.Select(t => t.Str("type")!).ToArray());
        Assert.Equal(1000m, (await client.CreditsAsync()).Dec("credits_remaining"));
        Assert.Empty(await Gateway.Service<CreditLedger>().VerifyAsync(userId));
        Assert.Contains(Gateway.Logs.Lines, l => l.Contains("status=499"));
    }

    [Fact]
    public async Task An_edit_sends_the_images_as_multipart_and_charges_the_reported_image_tokens()
    {
        var (client, userId) = await UserAsync();

        var response = await client.PostAsync("/v1/images/edits", EditEndpointTests.Form(
            [("image[]", EditEndpointTests.Png(1024, 1024)), ("image[]", EditEndpointTests.Png(512, 512)), ("mask", EditEndpointTests.LeftHalfMask(1024, 1024))],
            ("model", "gpt-image-2"), ("prompt", "a red kite"), ("size", "1024x1024"), ("quality", "low"), ("input_fidelity", "high")));

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.Empty(OpenAiSpec.Errors(text, "ImagesResponse"));
        var call = Assert.Single(Fake.EditCalls);
        Assert.Equal(2, call.Images.Count);
        Assert.NotNull(call.Mask);
        Assert.Equal("high", call.Fields["input_fidelity"]!.GetValue<string>());
        var json = JsonDocument.Parse(text).RootElement;
        var usage = json.GetProperty("usage");
        var imageTokens = usage.GetProperty("input_tokens_details").GetProperty("image_tokens").GetInt64();
        Assert.Equal(FakeGptImage.InputImageTokens(1024, 1024, "high") + FakeGptImage.InputImageTokens(512, 512, "high"), imageTokens);
        var text_ = usage.GetProperty("input_tokens_details").GetProperty("text_tokens").GetInt64();
        var output = usage.GetProperty("output_tokens").GetInt64();
        // (text × 5 + image-in × 8 + out × 30) millicredits × 1.2, rounded up once.
        var expected = Math.Ceiling((text_ * 5 + imageTokens * 8 + output * 30) * 1.2m) / 1000;
        Assert.Equal(expected, json.GetProperty("_metadata").Dec("cost_incurred"));
        // The hold covered the inputs: 6,000 image tokens per 1024² input at high fidelity, scaled by area, + 25 %.
        var hold = (await client.HistoryAsync()).Transactions().Single(t => t.Str("type") == "reserve").Dec("hold");
        Assert.True(hold * 1000 >= Math.Ceiling((6000 + 1500) * 1.25m) * 8 * 1.2m, $"hold {hold} does not cover the image input");
        Assert.Empty(await Gateway.Service<CreditLedger>().VerifyAsync(userId));
    }

    [Fact]
    public async Task A_dall_e_2_edit_goes_to_its_successor_at_dall_e_2s_price()
    {
        var (client, _) = await UserAsync();

        var response = await client.PostAsync("/v1/images/edits", EditEndpointTests.Form([("image", EditEndpointTests.Png(512, 512))],
            ("model", "dall-e-2"), ("prompt", "a red kite"), ("size", "512x512"), ("response_format", "b64_json")));

        var json = await response.OkJsonAsync();
        var call = Assert.Single(Fake.EditCalls);
        Assert.Equal(("gpt-image-2", "low", "1024x1024"),
            (call.Fields["model"]!.GetValue<string>(), call.Fields["quality"]!.GetValue<string>(), call.Fields["size"]!.GetValue<string>()));
        Assert.Equal((512, 512), Api.PngSize(Convert.FromBase64String(json.GetProperty("data")[0].Str("b64_json")!)));
        Assert.Equal(19.2m, json.GetProperty("_metadata").Dec("cost_incurred")); // 16 × 1.2, per image as dall-e-2
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition)
    {
        for (var i = 0; i < 50 && !await condition(); i++) await Task.Delay(100);
        Assert.True(await condition(), "the condition never held");
    }
}
