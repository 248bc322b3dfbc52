using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using ImageGateway.Providers;
using ImageGateway.Tests.Support;
using SkiaSharp;

namespace ImageGateway.Tests.Providers;

/// <summary>Streamed GPT-image calls through the openai adapter: partials handed on as they arrive, then the final images.</summary>
public sealed class OpenAiStreamingTests : OpenAiAdapterTests
{
    private readonly ConcurrentQueue<PartialImage> _partials = new();

    private ImageJob Streamed(ImageJob job, int partials) => job with
    {
        PartialImages = partials,
        OnPartial = (partial, _) =>
        {
            _partials.Enqueue(partial);
            return ValueTask.CompletedTask;
        },
    };

    [Fact]
    public async Task A_streamed_generation_hands_on_each_partial_in_order_then_returns_the_final_image_and_usage()
    {
        var result = await Provider.GenerateAsync(Streamed(Job("abcd"), 3), Credential(), CancellationToken.None);

        Assert.Null(result.Failure);
        var body = JsonNode.Parse(Assert.Single(Host.Requests).Body)!.AsObject();
        Assert.True(body["stream"]!.GetValue<bool>());
        Assert.Equal(3, body["partial_images"]!.GetValue<int>());
        Assert.Equal([0, 1, 2], _partials.Select(p => p.Index));
        Assert.All(_partials, p => Assert.Equal("image/png", p.Image.MediaType));
        Assert.Equal(4, _partials.Select(p => Convert.ToBase64String(p.Image.Bytes)).Append(Convert.ToBase64String(result.Images[0].Bytes)).Distinct().Count());
        var expected = FakeGptImage.UsageFor("abcd", 1, "low", 1024, 1024);
        Assert.Equal(new TokenUsage(expected.TextTokens, 0, expected.OutputTokens), result.Usage);
        Assert.Equal(new ProducedAs("opaque", "png", "1024x1024", "low"), result.Produced);
        using var codec = SKCodec.Create(new SKMemoryStream(Assert.Single(result.Images).Bytes));
        Assert.Equal((1024, 1024), (codec.Info.Width, codec.Info.Height));
    }

    [Fact]
    public async Task A_streamed_edit_sends_stream_fields_in_the_form_and_reads_image_edit_events_with_image_tokens()
    {
        var job = Streamed(Job("x") with { Inputs = [Input(1024, 1024)] }, 2);
        var result = await Provider.GenerateAsync(job, Credential(), CancellationToken.None);

        Assert.Null(result.Failure);
        var call = Assert.Single(Fake.EditCalls);
        Assert.True(call.Fields["stream"]!.GetValue<bool>());
        Assert.Equal(2, call.Fields["partial_images"]!.GetValue<int>());
        Assert.Equal(["image_edit.partial_image", "image_edit.partial_image", "image_edit.completed"], Fake.SentEvents.Select(e => e.Type));
        Assert.Equal(2, _partials.Count);
        Assert.Equal(765, result.Usage!.InputImage);
    }

    [Fact]
    public async Task With_n_images_the_partials_are_numbered_in_arrival_order_and_the_usage_is_summed()
    {
        var result = await Provider.GenerateAsync(Streamed(Job("abcd", n: 2), 2), Credential(), CancellationToken.None);

        Assert.Null(result.Failure);
        Assert.Equal(2, result.Images.Count);
        Assert.Equal([0, 1, 2, 3], _partials.Select(p => p.Index));
        var expected = FakeGptImage.UsageFor("abcd", 2, "low", 1024, 1024);
        Assert.Equal(new TokenUsage(expected.TextTokens, 0, expected.OutputTokens), result.Usage);
    }

    [Fact]
    public async Task Partials_are_handed_on_as_they_arrive_not_after_the_stream_is_read()
    {
        Fake.EventDelay = TimeSpan.FromMilliseconds(300);
        var sentBeforeFirstPartial = -1;
        var job = Job() with
        {
            PartialImages = 2,
            OnPartial = (partial, _) =>
            {
                if (partial.Index == 0) sentBeforeFirstPartial = Fake.SentEvents.Count;
                return ValueTask.CompletedTask;
            },
        };
        var result = await Provider.GenerateAsync(job, Credential(), CancellationToken.None);

        Assert.Null(result.Failure);
        // When partial 0 reached the caller the fake had sent partial 0 only (the next comes 300 ms later).
        Assert.Equal(1, sentBeforeFirstPartial);
    }

    [Theory]
    [InlineData(FakeGptImage.StreamBreak.ServerError, FailureKind.Unavailable)]
    [InlineData(FakeGptImage.StreamBreak.ModerationBlocked, FailureKind.ContentPolicy)]
    [InlineData(FakeGptImage.StreamBreak.Drop, FailureKind.Unavailable)]
    public async Task A_stream_that_breaks_after_a_partial_is_a_failure_and_is_not_retried(FakeGptImage.StreamBreak how, FailureKind kind)
    {
        Fake.FailAfterPartials(1, how);
        // The break waits until the partial has reached the caller, however slowly the machine runs.
        Fake.BeforeBreak = async () =>
        {
            for (var waited = 0; _partials.IsEmpty && waited < 10_000; waited += 10) await Task.Delay(10);
        };
        var result = await Provider.GenerateAsync(Streamed(Job(), 3), Credential(maxRetries: 2), CancellationToken.None);

        Assert.Equal(kind, result.Failure?.Kind);
        Assert.Empty(result.Images);
        Assert.Single(_partials);
        Assert.Single(Host.Requests);
    }

    [Fact]
    public async Task A_stream_cut_before_the_final_image_is_unavailable()
    {
        Fake.FailAfterPartials(0, FakeGptImage.StreamBreak.Drop);
        var result = await Provider.GenerateAsync(Streamed(Job(), 0), Credential(), CancellationToken.None);
        Assert.Equal(FailureKind.Unavailable, result.Failure?.Kind);
    }

    [Fact]
    public async Task An_error_before_the_stream_begins_is_read_as_an_error_answer()
    {
        Fake.FailWith(FakeGptImage.Failure.InsufficientQuota);
        var result = await Provider.GenerateAsync(Streamed(Job(), 2), Credential(maxRetries: 2), CancellationToken.None);

        Assert.Equal(FailureKind.Unauthorized, result.Failure?.Kind);
        Assert.Single(Host.Requests);
        Assert.Empty(_partials);
    }

    [Fact]
    public async Task Cancelling_mid_stream_aborts_the_upstream_request()
    {
        Fake.EventDelay = TimeSpan.FromMilliseconds(300);
        using var cts = new CancellationTokenSource();
        var job = Job() with
        {
            PartialImages = 3,
            OnPartial = (partial, _) =>
            {
                if (partial.Index == 0) cts.Cancel();
                return ValueTask.CompletedTask;
            },
        };

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Provider.GenerateAsync(job, Credential(), cts.Token));

        Assert.True(await Fake.WaitForCancelledStreamsAsync(1, TimeSpan.FromSeconds(5)), "the fake saw no cancelled stream");
        Assert.DoesNotContain(Fake.SentEvents, e => e.Type == "image_generation.completed");
    }

    [Fact]
    public async Task The_upstream_timeout_covers_the_whole_stream()
    {
        Fake.EventDelay = TimeSpan.FromMilliseconds(400);
        var result = await Provider.GenerateAsync(Streamed(Job(), 3), Credential(timeoutSeconds: 1), CancellationToken.None);

        Assert.Equal(FailureKind.Timeout, result.Failure?.Kind);
        Assert.NotEmpty(_partials);
        Assert.True(await Fake.WaitForCancelledStreamsAsync(1, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Without_a_partial_sink_the_call_is_not_streamed()
    {
        var result = await Provider.GenerateAsync(Job() with { PartialImages = 2 }, Credential(), CancellationToken.None);

        Assert.Null(result.Failure);
        var body = JsonNode.Parse(Assert.Single(Host.Requests).Body)!.AsObject();
        Assert.False(body.ContainsKey("stream"));
        Assert.False(body.ContainsKey("partial_images"));
        Assert.Empty(Fake.SentEvents);
    }
}
