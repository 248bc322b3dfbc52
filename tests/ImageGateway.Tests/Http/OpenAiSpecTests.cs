using System.Text.Json.Nodes;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Http;

/// <summary>
/// The spec validator bites: OpenAI's own examples pass, and each kind of break the gateway could make
/// (a wrong type, a value outside an enum, a required member missing) fails with a readable path.
/// </summary>
public sealed class OpenAiSpecTests
{
    private static string Example(string schemaName) =>
        OpenAiSpec.Root.GetProperty("components").GetProperty("schemas").GetProperty(schemaName)
            .GetProperty("x-oaiMeta").GetProperty("example").GetString()!;

    private static JsonObject ImagesExample() => JsonNode.Parse(Example("ImagesResponse"))!.AsObject();

    private static void AssertInvalid(JsonNode json, string schemaName, string instancePath, string? mentioning = null)
    {
        var errors = OpenAiSpec.Errors(json.ToJsonString(), schemaName);
        Assert.NotEmpty(errors);
        Assert.Contains(errors, e => e.StartsWith(instancePath + ":", StringComparison.Ordinal)
            && (mentioning is null || e.Contains(mentioning, StringComparison.Ordinal)));
        Assert.Throws<Xunit.Sdk.TrueException>(() => OpenAiSpec.AssertValid(json.ToJsonString(), schemaName));
    }

    [Fact]
    public void The_spec_file_is_in_the_output_unchanged_in_shape()
    {
        Assert.Equal("3.1.0", OpenAiSpec.Root.GetProperty("openapi").GetString());
        Assert.True(OpenAiSpec.Root.GetProperty("paths").TryGetProperty("/images/generations", out _));
    }

    [Fact]
    public void The_specs_own_ImagesResponse_example_is_valid()
    {
        Assert.Empty(OpenAiSpec.Errors(Example("ImagesResponse"), "ImagesResponse"));
        OpenAiSpec.AssertValid(Example("ImagesResponse"), "ImagesResponse");
    }

    [Fact]
    public void Extra_members_such_as_the_gateways_metadata_are_allowed()
    {
        var json = ImagesExample();
        json["_metadata"] = new JsonObject { ["upstream_model"] = "gpt-image-2" };
        OpenAiSpec.AssertValid(json.ToJsonString(), "ImagesResponse");
    }

    [Fact]
    public void Created_as_a_string_is_invalid()
    {
        var json = ImagesExample();
        json["created"] = "1713833628";
        AssertInvalid(json, "ImagesResponse", "/created", "integer");
    }

    [Fact]
    public void Missing_created_is_invalid()
    {
        var json = ImagesExample();
        json.Remove("created");
        AssertInvalid(json, "ImagesResponse", "(root)", "created");
    }

    [Fact]
    public void B64_json_as_a_number_is_invalid_through_the_Image_ref()
    {
        var json = ImagesExample();
        json["data"]![0]!["b64_json"] = 12345;
        AssertInvalid(json, "ImagesResponse", "/data/0/b64_json", "string");
    }

    [Fact]
    public void Usage_without_input_tokens_is_invalid()
    {
        var json = ImagesExample();
        json["usage"]!.AsObject().Remove("input_tokens");
        AssertInvalid(json, "ImagesResponse", "/usage", "\"input_tokens\"");
    }

    [Fact]
    public void Usage_without_input_token_details_is_invalid()
    {
        var json = ImagesExample();
        json["usage"]!.AsObject().Remove("input_tokens_details");
        AssertInvalid(json, "ImagesResponse", "/usage", "input_tokens_details");
    }

    [Fact]
    public void Dall_e_quality_standard_is_outside_the_answer_enum()
    {
        var json = ImagesExample();
        json["quality"] = "standard";
        AssertInvalid(json, "ImagesResponse", "/quality");
    }

    [Fact]
    public void Background_auto_is_not_an_answer_value()
    {
        var json = ImagesExample();
        json["background"] = "auto";
        AssertInvalid(json, "ImagesResponse", "/background");
    }

    [Fact]
    public void The_answer_size_enum_lists_only_the_three_standard_sizes()
    {
        // A gap in the spec, not in gpt-image-2 (docs/PROVIDERS.md): arbitrary sizes fail this schema.
        var json = ImagesExample();
        json["size"] = "1536x864";
        AssertInvalid(json, "ImagesResponse", "/size");
    }

    [Fact]
    public void A_complete_error_body_is_a_valid_ErrorResponse()
    {
        OpenAiSpec.AssertValid(
            """{"error":{"message":"Unknown parameter: 'response_format'.","type":"invalid_request_error","param":"response_format","code":"unknown_parameter"}}""",
            "ErrorResponse");
        OpenAiSpec.AssertValid(
            """{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}""",
            "ErrorResponse");
    }

    [Fact]
    public void An_error_without_param_is_invalid()
    {
        var json = JsonNode.Parse("""{"error":{"message":"Bad size.","type":"invalid_request_error","code":"invalid_value"}}""")!;
        AssertInvalid(json, "ErrorResponse", "/error", "param");
    }

    [Fact]
    public void An_error_whose_code_is_a_number_is_invalid()
    {
        // OpenRouter's shape (code = HTTP status), not OpenAI's.
        var json = JsonNode.Parse("""{"error":{"message":"Bad size.","type":"invalid_request_error","param":null,"code":400}}""")!;
        AssertInvalid(json, "ErrorResponse", "/error/code");
    }

    [Fact]
    public void A_detail_only_body_is_not_an_ErrorResponse()
    {
        AssertInvalid(JsonNode.Parse("""{"detail":"Insufficient credits"}""")!, "ErrorResponse", "(root)", "error");
    }

    [Theory]
    [InlineData("ImageGenStreamEvent")]
    [InlineData("ImageGenCompletedEvent")]
    public void The_specs_completed_event_example_is_a_valid_stream_event(string schemaName)
    {
        OpenAiSpec.AssertValid(Example("ImageGenCompletedEvent"), schemaName);
    }

    [Fact]
    public void The_specs_partial_image_example_is_a_valid_stream_event()
    {
        OpenAiSpec.AssertValid(Example("ImageGenPartialImageEvent"), "ImageGenStreamEvent");
        OpenAiSpec.AssertValid(Example("ImageGenPartialImageEvent"), "ImageGenPartialImageEvent");
    }

    [Theory]
    [InlineData("ImageGenStreamEvent")]
    [InlineData("ImageGenCompletedEvent")]
    public void A_completed_event_without_usage_is_invalid(string schemaName)
    {
        var json = JsonNode.Parse(Example("ImageGenCompletedEvent"))!.AsObject();
        json.Remove("usage");
        AssertInvalid(json, schemaName, "(root)", "usage");
    }

    [Fact]
    public void A_generation_event_is_not_an_edit_event()
    {
        AssertInvalid(JsonNode.Parse(Example("ImageGenCompletedEvent"))!, "ImageEditStreamEvent", "/type");
        OpenAiSpec.AssertValid(Example("ImageEditCompletedEvent"), "ImageEditStreamEvent");
    }

    [Fact]
    public void An_unknown_schema_name_is_an_error_not_a_pass()
    {
        Assert.Throws<ArgumentException>(() => OpenAiSpec.Errors("{}", "NoSuchSchema"));
    }
}
