using System.Net;
using System.Text.Json;
using ImageGateway.Tests.Providers;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.History;

/// <summary>The pipeline writes a history entry for each outcome: succeeded, failed (nothing charged) and refused.</summary>
public sealed class HistoryRecordTests : GptImageGateway
{
    [Fact]
    public async Task A_success_is_recorded_with_its_parameters_cost_and_provider_and_its_request_runs_again()
    {
        var (client, _) = await UserAsync(10m);
        var response = await client.PostJsonAsync(OpenAiKit.GeneratePath,
            new { model = Api.Builtin, prompt = "a red fox in the snow", size = "256x256", n = 2, seed = 42, response_format = "b64_json" });
        var answer = await response.OkJsonAsync();

        var entry = await client.OnlyEntryAsync();
        Assert.Equal("succeeded", entry.Str("status"));
        Assert.Equal(JsonValueKind.Null, entry.GetProperty("error").ValueKind);
        Assert.Equal("generate", entry.Str("operation"));
        Assert.Equal(Api.Builtin, entry.Str("model"));
        Assert.Equal("a red fox in the snow", entry.Str("prompt"));
        Assert.Equal("256x256", entry.Str("size"));
        Assert.Equal(2, entry.GetProperty("n").GetInt32());
        Assert.Equal(42, entry.GetProperty("seed").GetInt64());
        Assert.Equal(2.4m, entry.Dec("credits"));
        Assert.Equal(answer.GetProperty("_metadata").Str("provider_used"), entry.Str("provider"));
        Assert.Equal(2, entry.GetProperty("image_count").GetInt32());
        Assert.Equal("not_stored", entry.Str("images_state")); // b64_json images were only in the answer
        Assert.Equal(0, entry.GetProperty("images").GetArrayLength());
        Assert.Equal(Gateway.UnixNow(), entry.GetProperty("created_at").GetInt64());
        Assert.False(entry.TryGetProperty("request", out _), "the list has no request parameters; the detail read has");

        var detail = await client.EntryAsync(entry.Str("id")!);
        var request = detail.GetProperty("request");
        Assert.Equal(["model", "n", "prompt", "quality", "response_format", "seed", "size"], request.Names()); // no nulls: a body as sent
        Assert.Equal(42, request.GetProperty("seed").GetInt64());
        var again = await client.PostAsync(OpenAiKit.GeneratePath, new StringContent(request.GetRawText(), System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(2, (await again.OkJsonAsync()).GetProperty("data").GetArrayLength());
        Assert.Equal(2, (await client.HistoryPageAsync()).Entries().Length);
    }

    [Fact]
    public async Task An_upstream_failure_is_recorded_as_failed_with_its_error_and_no_charge()
    {
        var (client, userId) = await UserAsync();
        Fake.FailWith(FakeGptImage.Failure.ServerError);

        var response = await client.PostJsonAsync(OpenAiKit.GeneratePath, new { model = "gpt-image-2", prompt = "a red kite", size = "1024x1024", quality = "low" });

        var error = await Api.AssertErrorAsync(response, HttpStatusCode.BadGateway, "api_error", "upstream_error");
        await Gateway.AssertNothingChargedAsync(client, userId, 1000m, 9.06m);
        var entry = await client.OnlyEntryAsync();
        Assert.Equal("failed", entry.Str("status"));
        Assert.Equal(502, entry.GetProperty("error").GetProperty("status").GetInt32());
        Assert.Equal("upstream_error", entry.GetProperty("error").Str("code"));
        Assert.Equal(error.Str("message"), entry.GetProperty("error").Str("message"));
        Assert.Equal(0m, entry.Dec("credits"));
        Assert.Equal("gpt-image-2", entry.Str("model"));
        Assert.Equal("low", entry.Str("quality"));
        Assert.Equal("none", entry.Str("images_state"));
    }

    [Fact]
    public async Task Insufficient_credits_is_recorded_as_refused_with_its_error()
    {
        var (client, _) = await UserAsync(1m); // the builtin image costs 1.2

        var response = await client.PostJsonAsync(OpenAiKit.GeneratePath, Api.BuiltinBody("a tiny boat"));

        await Api.AssertErrorAsync(response, HttpStatusCode.PaymentRequired, "insufficient_quota", "insufficient_credits");
        var entry = await client.OnlyEntryAsync();
        Assert.Equal("refused", entry.Str("status"));
        Assert.Equal(402, entry.GetProperty("error").GetProperty("status").GetInt32());
        Assert.Equal("insufficient_credits", entry.GetProperty("error").Str("code"));
        Assert.Equal("a tiny boat", entry.Str("prompt"));
        Assert.Equal(0m, entry.Dec("credits"));
        Assert.Equal(JsonValueKind.Null, entry.GetProperty("provider").ValueKind);
        Assert.Single((await client.HistoryPageAsync("?status=refused")).Entries());
        Assert.Empty((await client.HistoryPageAsync("?status=succeeded")).Entries());
        Assert.Single((await (await client.GetAsync("/api/v1/activity?status=refused")).OkJsonAsync()).Entries());
    }

    [Fact]
    public async Task A_url_entry_gives_a_working_signed_url_until_the_image_expires_and_none_after()
    {
        Gateway.Settings["Gateway:Storage:UrlTtlSeconds"] = "60";
        var (client, _) = await UserAsync();
        await client.GenerateBuiltinAsync(format: "url", size: "512x512");

        var entry = await client.OnlyEntryAsync();
        Assert.Equal("available", entry.Str("images_state"));
        Assert.Equal(Gateway.UnixNow() + 60, entry.GetProperty("images_expire_at").GetInt64());
        var url = new Uri(Assert.Single(entry.GetProperty("images").EnumerateArray()).Str("url")!);
        using (var anonymous = Gateway.AnonymousClient())
        {
            var image = await anonymous.GetAsync(url.PathAndQuery); // the signature is the credential, as for the answer's URL
            Assert.Equal(HttpStatusCode.OK, image.StatusCode);
            Assert.Equal((512, 512), Api.PngSize(await image.Content.ReadAsByteArrayAsync()));
        }

        Gateway.Time.Advance(TimeSpan.FromSeconds(61));

        var expired = await client.EntryAsync(entry.Str("id")!);
        Assert.Equal("expired", expired.Str("images_state"));
        Assert.Equal(0, expired.GetProperty("images").GetArrayLength());
        Assert.Equal(1, expired.GetProperty("image_count").GetInt32());
        Assert.Equal((HttpStatusCode)410, (await client.GetAsync(url.PathAndQuery)).StatusCode);
    }
}
