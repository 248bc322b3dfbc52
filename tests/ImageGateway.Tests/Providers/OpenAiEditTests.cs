using System.Text;
using ImageGateway.Providers;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Providers;

/// <summary>GPT-image edits through the openai adapter: the multipart body as sent, and the answer read like a generation's.</summary>
public sealed class OpenAiEditTests : OpenAiAdapterTests
{
    [Fact]
    public void Edits_and_streams_are_gpt_image_only_and_variations_are_gone()
    {
        Assert.True(Provider.CanEdit("gpt-image-2"));
        Assert.True(Provider.CanStream("gpt-image-2-2026-04-21"));
        Assert.False(Provider.CanEdit("dall-e-3"));
        Assert.False(Provider.CanStream("dall-e-3"));
        Assert.False(Provider.CanVary("dall-e-2"));
        Assert.False(Provider.CanVary("gpt-image-2"));
    }

    [Fact]
    public async Task Several_inputs_go_as_image_array_parts_with_their_types_and_the_set_fields()
    {
        var job = Job("put them in a basket", size: "auto") with
        {
            OutputFormat = "webp", OutputCompression = 70, Background = "opaque", Moderation = "low", User = "u-7",
            Inputs = [Input(1024, 1024, fileName: "lotion.png"), Input(640, 480, "jpeg")],
            Mask = Input(1024, 1024, alpha: true),
            InputFidelity = "high",
        };
        var result = await Provider.GenerateAsync(job, Credential(), CancellationToken.None);

        Assert.Null(result.Failure);
        var request = Assert.Single(Host.Requests);
        Assert.Equal("/v1/images/edits", request.Path);
        Assert.Equal("Bearer " + Key, request.Authorization);
        Assert.StartsWith("multipart/form-data; boundary=", request.ContentType);
        request.AssertSentWithLength();

        var call = Assert.Single(Fake.EditCalls);
        Assert.Equal(["image[]", "image[]", "mask", "prompt", "model", "n", "size", "quality", "background", "output_format",
            "output_compression", "input_fidelity", "moderation", "user"], call.PartNames);
        Assert.Equal([("lotion.png", "image/png"), ("image-2.jpg", "image/jpeg")], call.Images.Select(f => (f.FileName, f.ContentType)));
        Assert.Equal(job.Inputs[1].Bytes, call.Images[1].Bytes);
        Assert.Equal(("mask.png", "image/png"), (call.Mask!.FileName, call.Mask.ContentType));
        Assert.Equal("auto", call.Fields["size"]!.GetValue<string>());
        Assert.Equal(70, call.Fields["output_compression"]!.GetValue<int>());
        Assert.Equal("high", call.Fields["input_fidelity"]!.GetValue<string>());
        Assert.DoesNotContain("response_format", call.PartNames);

        // The first image's size for auto; the answer's image tokens as InputImage.
        var expected = FakeGptImage.UsageForEdit("put them in a basket", 1, "low", 1024, 1024, [(1024, 1024), (640, 480)], "high");
        Assert.Equal(new TokenUsage(expected.TextTokens, expected.ImageTokens, expected.OutputTokens), result.Usage);
        Assert.True(result.Usage!.InputImage > 0);
        Assert.Equal(new ProducedAs("opaque", "webp", "1024x1024", "low"), result.Produced);
        Assert.Equal("image/webp", Assert.Single(result.Images).MediaType);
    }

    [Fact]
    public async Task One_input_goes_as_a_plain_image_part_and_unset_fields_are_left_out()
    {
        var result = await Provider.GenerateAsync(Job() with { Inputs = [Input(1024, 1024)] }, Credential(), CancellationToken.None);

        Assert.Null(result.Failure);
        var call = Assert.Single(Fake.EditCalls);
        Assert.Equal(["image", "prompt", "model", "n", "size", "quality"], call.PartNames);
        Assert.Equal("image-1.png", call.Images[0].FileName);
        // Text parts carry no Content-Type, as FormData writes them.
        var body = Encoding.UTF8.GetString(Assert.Single(Host.Requests).Body);
        Assert.Contains("Content-Disposition: form-data; name=\"prompt\"\r\n\r\na lighthouse\r\n", body);
    }

    [Fact]
    public async Task A_rejected_edit_is_a_typed_failure_naming_what_openai_said()
    {
        var job = Job() with { Inputs = [Input(1024, 1024)], Mask = Input(512, 512, alpha: true) };
        var result = await Provider.GenerateAsync(job, Credential(), CancellationToken.None);

        Assert.Equal(FailureKind.Rejected, result.Failure!.Kind);
        Assert.Contains("same dimensions", result.Failure.Message);
    }

    [Fact]
    public async Task A_retried_edit_resends_the_same_body()
    {
        Fake.FailWith(FakeGptImage.Failure.ServerError, times: 1);
        var result = await Provider.GenerateAsync(Job() with { Inputs = [Input(1024, 1024)] }, Credential(maxRetries: 2), CancellationToken.None);

        Assert.Null(result.Failure);
        var requests = Host.Requests.ToArray();
        Assert.Equal(2, requests.Length);
        Assert.Equal(requests[0].Body, requests[1].Body);
        Assert.All(requests, r => r.AssertSentWithLength());
    }

    [Fact]
    public async Task A_moderation_refusal_of_an_edit_is_content_policy()
    {
        Fake.FailWith(FakeGptImage.Failure.ModerationBlocked);
        var result = await Provider.GenerateAsync(Job() with { Inputs = [Input(64, 64)] }, Credential(), CancellationToken.None);
        Assert.Equal(FailureKind.ContentPolicy, result.Failure!.Kind);
    }
}
