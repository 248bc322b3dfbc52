using System.Net;
using System.Text;
using System.Text.Json;
using ImageGateway.IntegrationTests.Support;
using ImageGateway.Tests.Support;

namespace ImageGateway.IntegrationTests.Compat;

/// <summary>The integration suite's OpenAI stand-in answers as OpenAI does today (FakeGptImage): gpt-image-2 images, shut-down names 404.</summary>
public sealed class FakeOpenAiTests : IAsyncLifetime
{
    private FakeOpenAi _openai = null!;
    private readonly HttpClient _http = new();

    public async Task InitializeAsync() => _openai = await FakeOpenAi.StartAsync();

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _openai.DisposeAsync();
    }

    private async Task<(HttpStatusCode Status, string Body)> PostAsync(string json)
    {
        using var response = await _http.PostAsync(new Uri(_openai.BaseUrl + "/images/generations"), new StringContent(json, Encoding.UTF8, "application/json"));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Gpt_image_2_is_answered_as_openai_answers_it()
    {
        var (status, body) = await PostAsync("""{"model":"gpt-image-2","prompt":"a fox","quality":"low"}""");

        Assert.Equal(HttpStatusCode.OK, status);
        OpenAiSpec.AssertValid(body, "ImagesResponse");
        using var doc = JsonDocument.Parse(body);
        Assert.Equal(200, doc.RootElement.GetProperty("usage").GetProperty("output_tokens").GetInt64());
        Assert.False(doc.RootElement.GetProperty("data")[0].TryGetProperty("revised_prompt", out _));
        Assert.Equal("a fox", Assert.Single(_openai.Calls).Body["prompt"]!.GetValue<string>());
    }

    [Fact]
    public async Task Gpt_image_failures_are_scripted_on_GptImage()
    {
        _openai.GptImage.FailWith(FakeGptImage.Failure.ServerError, times: 1);

        var (status, body) = await PostAsync("""{"model":"gpt-image-2","prompt":"x"}""");

        Assert.Equal(HttpStatusCode.InternalServerError, status);
        OpenAiSpec.AssertValid(body, "ErrorResponse");
    }

    [Fact]
    public async Task A_shut_down_gpt_image_model_does_not_exist()
    {
        var (status, body) = await PostAsync("""{"model":"gpt-image-1","prompt":"x"}""");

        Assert.Equal(HttpStatusCode.NotFound, status);
        OpenAiSpec.AssertValid(body, "ErrorResponse");
        Assert.Contains("model_not_found", body);
    }

    [Fact]
    public async Task Dall_e_3_is_shut_down_upstream_as_at_openai()
    {
        var (status, body) = await PostAsync("""{"model":"dall-e-3","prompt":"a fox","size":"1024x1024"}""");

        Assert.Equal(HttpStatusCode.NotFound, status);
        OpenAiSpec.AssertValid(body, "ErrorResponse");
        using var doc = JsonDocument.Parse(body);
        Assert.StartsWith("The model `dall-e-3` does not exist", doc.RootElement.GetProperty("error").GetProperty("message").GetString());
    }
}
