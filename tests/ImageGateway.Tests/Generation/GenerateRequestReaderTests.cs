using System.Text;
using ImageGateway.Generation;
using ImageGateway.Http;

namespace ImageGateway.Tests.Generation;

/// <summary>The hand-written body reader: every malformed or mistyped body is a 400, never an exception.</summary>
public sealed class GenerateRequestReaderTests
{
    private static GenerateRequest Ok(string json) => Ok(Encoding.UTF8.GetBytes(json));

    private static GenerateRequest Ok(byte[] body)
    {
        var (request, error) = GenerateRequestReader.Parse(body);
        Assert.True(error is null, $"expected a request, got {error?.Code} {error?.Param}: {error?.Message}");
        Assert.NotNull(request);
        return request!;
    }

    private static ApiError Bad(string json, string? param = null, string? code = null) => Bad(Encoding.UTF8.GetBytes(json), param, code);

    /// <summary>A 400 whatever its param: for bodies that are both mistyped and malformed.</summary>
    private static ApiError AnyBad(string json)
    {
        GenerateRequest? request = null;
        ApiError? error = null;
        Assert.Null(Record.Exception(() => (request, error) = GenerateRequestReader.Parse(Encoding.UTF8.GetBytes(json))));
        Assert.Null(request);
        Assert.NotNull(error);
        Assert.Equal(400, error!.Status);
        Assert.Equal("invalid_request_error", error.Type);
        return error;
    }

    private static ApiError Bad(byte[] body, string? param = null, string? code = null)
    {
        GenerateRequest? request = null;
        ApiError? error = null;
        var thrown = Record.Exception(() => (request, error) = GenerateRequestReader.Parse(body));
        Assert.Null(thrown);
        Assert.Null(request);
        Assert.NotNull(error);
        Assert.Equal(400, error!.Status);
        Assert.Equal("invalid_request_error", error.Type);
        Assert.Equal(param, error.Param);
        if (code is not null) Assert.Equal(code, error.Code);
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
        return error;
    }

    // --- well-formed bodies ---

    [Fact]
    public void Reads_every_known_field()
    {
        var r = Ok("""
            {"prompt":"a cat","model":"dall-e-3","n":2,"size":"1792x1024","quality":"hd","style":"vivid",
             "response_format":"b64_json","user":"u-1","seed":4294967295}
            """);
        Assert.Equal(new GenerateRequest("a cat", "dall-e-3", 2, "1792x1024", "hd", "vivid", "b64_json", "u-1", 4294967295L), r);
    }

    [Fact]
    public void Absent_fields_are_null()
    {
        Assert.Equal(new GenerateRequest(Prompt: "x"), Ok("""{"prompt":"x"}"""));
        Assert.Equal(new GenerateRequest(), Ok("{}"));
    }

    [Fact]
    public void Null_values_are_treated_as_absent()
    {
        var r = Ok("""
            {"prompt":"x","model":null,"n":null,"size":null,"quality":null,"style":null,
             "response_format":null,"user":null,"seed":null}
            """);
        Assert.Equal(new GenerateRequest(Prompt: "x"), r);
        Assert.Null(Ok("""{"prompt":null}""").Prompt);
    }

    [Fact]
    public void Unknown_fields_of_every_shape_are_ignored()
    {
        var r = Ok("""
            {"extra_body":{"a":[1,2,{"b":null}]},"prompt":"x","timeout":1.5,"tags":["a","b"],"n":3}
            """);
        Assert.Equal(new GenerateRequest(Prompt: "x", N: 3), r);
    }

    [Theory]
    [InlineData("true", true)]
    [InlineData("false", false)]
    [InlineData("null", null)]
    public void Stream_is_read_as_a_boolean(string value, bool? expected) =>
        Assert.Equal(expected, Ok($$"""{"prompt":"x","stream":{{value}}}""").Stream);

    [Fact]
    public void The_gpt_image_fields_are_read_not_ignored()
    {
        // Until issue 21 these were skipped as unknown: they reach the spec now, which validates them.
        var r = Ok("""{"prompt":"x","output_format":"webp","output_compression":55,"moderation":"low","background":"transparent"}""");
        Assert.Equal(new GenerateRequest(Prompt: "x", OutputFormat: "webp", OutputCompression: 55, Background: "transparent", Moderation: "low"), r);
    }

    [Theory]
    [InlineData("""{"prompt":"x","output_format":5}""", "output_format")]
    [InlineData("""{"prompt":"x","background":true}""", "background")]
    [InlineData("""{"prompt":"x","moderation":["low"]}""", "moderation")]
    [InlineData("""{"prompt":"x","output_compression":"50"}""", "output_compression")]
    [InlineData("""{"prompt":"x","output_compression":50.5}""", "output_compression")]
    [InlineData("""{"prompt":"x","output_compression":99999999999}""", "output_compression")]
    [InlineData("""{"prompt":"x","stream":"true"}""", "stream")]
    [InlineData("""{"prompt":"x","stream":1}""", "stream")]
    public void A_gpt_image_field_of_the_wrong_type_is_a_400_naming_it(string body, string field)
    {
        var (request, error) = GenerateRequestReader.Parse(System.Text.Encoding.UTF8.GetBytes(body));
        Assert.Null(request);
        Assert.Equal(field, error!.Param);
    }

    [Fact]
    public void Surrounding_whitespace_and_escapes_are_accepted()
    {
        var r = Ok(" \r\n\t{ \"prompt\" : \"caf\\u00e9 \\\"quoted\\\" \\n line\" }\n ");
        Assert.Equal("café \"quoted\" \n line", r.Prompt);
    }

    [Fact]
    public void Non_ascii_prompt_is_decoded_from_utf8()
    {
        var r = Ok("""{"prompt":"日本の猫 🐱"}""");
        Assert.Equal("日本の猫 🐱", r.Prompt);
    }

    [Fact]
    public void Utf8_byte_order_mark_is_not_a_crash()
    {
        var body = new byte[] { 0xEF, 0xBB, 0xBF }.Concat(Encoding.UTF8.GetBytes("""{"prompt":"x"}""")).ToArray();
        var thrown = Record.Exception(() => GenerateRequestReader.Parse(body));
        Assert.Null(thrown);
    }

    [Fact]
    public void Last_duplicate_field_wins()
    {
        Assert.Equal("second", Ok("""{"prompt":"first","prompt":"second"}""").Prompt);
    }

    [Theory]
    [InlineData("1", 1)]
    [InlineData("10", 10)]
    [InlineData("0", 0)]
    [InlineData("-1", -1)]
    [InlineData("11", 11)]
    public void N_integers_are_read_and_range_is_left_to_validation(string n, int expected) =>
        Assert.Equal(expected, Ok($$"""{"prompt":"x","n":{{n}}}""").N);

    [Theory]
    [InlineData("2.0")]
    [InlineData("1e1")]
    [InlineData("-0")]
    public void N_written_as_an_integral_non_integer_literal_is_read_or_400_naming_n_never_an_exception(string n)
    {
        GenerateRequest? request = null;
        ApiError? error = null;
        Assert.Null(Record.Exception(() => (request, error) = GenerateRequestReader.Parse(Encoding.UTF8.GetBytes($$"""{"prompt":"x","n":{{n}}}"""))));
        if (error is not null)
        {
            Assert.Equal(400, error.Status);
            Assert.Equal("n", error.Param);
        }
        else
        {
            Assert.NotNull(request);
            Assert.Equal((int)decimal.Parse(n, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture), request!.N);
        }
    }

    [Fact]
    public void Seed_beyond_int32_is_read_as_long() =>
        Assert.Equal(4294967296L, Ok("""{"prompt":"x","seed":4294967296}""").Seed);

    // --- bad bodies ---

    [Fact]
    public void Empty_body_is_400_invalid_json() => Bad(Array.Empty<byte>(), code: "invalid_json");

    [Theory]
    [InlineData(" ")]
    [InlineData("\r\n\t ")]
    public void Whitespace_only_body_is_400_invalid_json(string body) => Bad(body, code: "invalid_json");

    [Theory]
    [InlineData("{")]
    [InlineData("{\"prompt\":")]
    [InlineData("{\"prompt\":\"x\"")]
    [InlineData("{\"prompt\":\"x\",}")]
    [InlineData("{prompt:\"x\"}")]
    [InlineData("{'prompt':'x'}")]
    [InlineData("{\"prompt\":\"x\" \"n\":1}")]
    [InlineData("{\"prompt\":\"unterminated}")]
    [InlineData("{\"prompt\":\"x\",\"n\":01}")]
    [InlineData("{\"prompt\":\"x\",\"n\":NaN}")]
    [InlineData("{\"prompt\":\"x\",\"extra\":[1,2}")]
    [InlineData("{\"prompt\":\"x\",\"extra\":tru}")]
    [InlineData("{\"prompt\":\"bad \\q escape\"}")]
    [InlineData("{\"prompt\":\"x\"}}")]
    [InlineData("}")]
    public void Malformed_json_is_400_invalid_json(string body) => Bad(body, code: "invalid_json");

    [Theory]
    [InlineData("[]")]
    [InlineData("[{\"prompt\":\"x\"}]")]
    [InlineData("\"a cat\"")]
    [InlineData("42")]
    [InlineData("null")]
    [InlineData("true")]
    public void Non_object_body_is_400_invalid_json(string body)
    {
        var error = Bad(body, code: "invalid_json");
        Assert.Contains("object", error.Message);
    }

    [Theory]
    [InlineData("{\"prompt\":\"x\"} garbage")]
    [InlineData("{\"prompt\":\"x\"}{\"prompt\":\"y\"}")]
    [InlineData("{\"prompt\":\"x\"} 1")]
    [InlineData("{\"prompt\":\"x\"}\0")]
    public void Trailing_content_after_the_object_is_400(string body) => Bad(body, code: "invalid_json");

    [Theory]
    [InlineData("\"3\"")]
    [InlineData("true")]
    [InlineData("[1]")]
    [InlineData("{}")]
    public void N_that_is_not_a_number_is_400_naming_n(string n)
    {
        var error = Bad($$"""{"prompt":"x","n":{{n}}}""", "n");
        Assert.Equal("invalid_type", error.Code);
    }

    [Theory]
    [InlineData("1.5")]
    [InlineData("1e30")]
    [InlineData("-1e30")]
    [InlineData("2147483648")]
    [InlineData("0.0000001")]
    public void N_that_is_not_an_int32_integer_is_400_naming_n(string n) => Bad($$"""{"prompt":"x","n":{{n}}}""", "n");

    [Theory]
    [InlineData("prompt", "42")]
    [InlineData("prompt", "true")]
    [InlineData("prompt", "[\"a cat\"]")]
    [InlineData("prompt", "{\"text\":\"a cat\"}")]
    [InlineData("model", "3")]
    [InlineData("size", "1024")]
    [InlineData("size", "[1024,1024]")]
    [InlineData("quality", "false")]
    [InlineData("style", "1")]
    [InlineData("response_format", "{}")]
    [InlineData("user", "123")]
    public void String_field_with_another_type_is_400_naming_it(string field, string value)
    {
        var json = field == "prompt" ? $$"""{"prompt":{{value}}}""" : $$"""{"prompt":"x","{{field}}":{{value}}}""";
        var error = Bad(json, field);
        Assert.Equal("invalid_type", error.Code);
    }

    [Theory]
    [InlineData("\"42\"")]
    [InlineData("true")]
    public void Seed_that_is_not_a_number_is_400_naming_seed(string seed) =>
        Bad($$"""{"prompt":"x","seed":{{seed}}}""", "seed");

    [Theory]
    [InlineData("1.5")]
    [InlineData("1e30")]
    [InlineData("9223372036854775808")]
    public void Seed_that_is_not_an_int64_integer_is_400_naming_seed(string seed) =>
        Bad($$"""{"prompt":"x","seed":{{seed}}}""", "seed");

    [Fact]
    public void Deeply_nested_unknown_field_is_400_not_an_exception()
    {
        var body = "{\"prompt\":\"x\",\"extra\":" + new string('[', 1000) + new string(']', 1000) + "}";
        Bad(body, code: "invalid_json");
    }

    [Fact]
    public void Deeply_nested_objects_in_a_known_field_are_400_not_an_exception()
    {
        var nested = string.Concat(Enumerable.Repeat("{\"a\":", 1000)) + "1" + new string('}', 1000);
        AnyBad("{\"prompt\":" + nested + "}");
    }

    [Fact]
    public void Nesting_within_the_limit_in_an_unknown_field_is_ignored()
    {
        var body = "{\"prompt\":\"x\",\"extra\":" + new string('[', 30) + new string(']', 30) + "}";
        Assert.Equal("x", Ok(body).Prompt);
    }

    [Fact]
    public void Invalid_utf8_in_the_prompt_is_400()
    {
        var body = Concat("{\"prompt\":\"a ", [0xC3, 0x28], " cat\"}");
        Bad(body);
    }

    [Fact]
    public void Invalid_utf8_in_an_unknown_field_is_400()
    {
        var body = Concat("{\"prompt\":\"x\",\"extra\":\"", [0xFF, 0xFE], "\"}");
        Bad(body);
    }

    [Fact]
    public void Invalid_utf8_in_a_property_name_is_400()
    {
        var body = Concat("{\"pro", [0x80], "mpt\":\"x\"}");
        Bad(body);
    }

    [Fact]
    public void Overlong_utf8_encoding_is_400()
    {
        // 0xC0 0xAF is an overlong encoding of '/', forbidden by UTF-8.
        var body = Concat("{\"prompt\":\"a", [0xC0, 0xAF], "b\"}");
        Bad(body);
    }

    [Fact]
    public void Lone_surrogate_escape_in_the_prompt_is_400_or_replaced_never_an_exception()
    {
        var body = Encoding.UTF8.GetBytes("{\"prompt\":\"a \\uD800 b\"}");
        var thrown = Record.Exception(() => GenerateRequestReader.Parse(body));
        Assert.Null(thrown);
    }

    [Fact]
    public void Parse_of_a_multi_segment_sequence_equals_parse_of_a_span()
    {
        var bytes = Encoding.UTF8.GetBytes("""{"prompt":"a cat","n":2,"extra":[1,2,3],"size":"512x512"}""");
        var first = new Segment(bytes.AsMemory(0, 7));
        var last = first.Append(bytes.AsMemory(7, 20)).Append(bytes.AsMemory(27));
        var sequence = new System.Buffers.ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
        var (fromSequence, error) = GenerateRequestReader.Parse(sequence);
        Assert.Null(error);
        Assert.Equal(Ok(bytes), fromSequence);
    }

    [Fact]
    public void Multibyte_character_split_across_segments_is_read_and_invalid_bytes_split_across_segments_are_400()
    {
        var bytes = Encoding.UTF8.GetBytes("""{"prompt":"café","extra":"ü"}""");
        var cut = Array.IndexOf(bytes, (byte)0xC3) + 1; // between the two bytes of 'é'
        Assert.Equal("café", ParseSplit(bytes, cut).Request?.Prompt);

        var bad = Concat("{\"prompt\":\"x\",\"extra\":\"a", [0xE2, 0x82], "\"}"); // truncated 3-byte sequence
        var (request, error) = ParseSplit(bad, bad.Length - 3);
        Assert.Null(request);
        Assert.Equal(400, error?.Status);
    }

    private static (GenerateRequest? Request, ApiError? Error) ParseSplit(byte[] bytes, int cut)
    {
        var first = new Segment(bytes.AsMemory(0, cut));
        var last = first.Append(bytes.AsMemory(cut));
        return GenerateRequestReader.Parse(new System.Buffers.ReadOnlySequence<byte>(first, 0, last, last.Memory.Length));
    }

    private static byte[] Concat(string before, byte[] middle, string after) =>
        [.. Encoding.UTF8.GetBytes(before), .. middle, .. Encoding.UTF8.GetBytes(after)];

    private sealed class Segment : System.Buffers.ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }
}
