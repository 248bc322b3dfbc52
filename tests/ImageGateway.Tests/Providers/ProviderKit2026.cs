using System.Net;
using System.Text.Json;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Providers;

/// <summary>What the tests of the 2026 adapters (google, bfl, replicate, azure) share.</summary>
public static class ProviderKit2026
{
    /// <summary>A managed-tier user (1.2× markup) with 1,000 credits.</summary>
    public static async Task<(HttpClient Client, string UserId)> UserAsync(this GatewayFactory gateway, decimal credits = 1000m)
    {
        var (userId, key) = await gateway.CreateUserAsync("managed", credits);
        return (gateway.ClientWithKey(key), userId);
    }

    /// <summary>Points the named provider at the fake with fast retries and a short timeout.</summary>
    public static GatewayFactory UseFake(this GatewayFactory gateway, string provider, string baseUrl, string apiKey,
        int maxRetries = 0, double timeoutSeconds = 5)
    {
        var p = $"Gateway:Providers:{provider}:";
        gateway.Settings[p + "BaseUrl"] = baseUrl;
        gateway.Settings[p + "ApiKey"] = apiKey;
        gateway.Settings[p + "MaxRetries"] = maxRetries.ToString(System.Globalization.CultureInfo.InvariantCulture);
        gateway.Settings[p + "RetryBaseDelayMs"] = "1";
        gateway.Settings[p + "MaxRetryDelaySeconds"] = "0.05";
        gateway.Settings[p + "TimeoutSeconds"] = timeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        gateway.Settings[p + "PollIntervalMs"] = "20";
        gateway.Settings[p + "MaxPollIntervalMs"] = "50";
        gateway.Settings[p + "AllowByok"] = "true"; // a loopback fake is not one of the public hosts
        return gateway;
    }

    /// <summary>
    /// The caller got the gateway's own error (<paramref name="status"/>, <paramref name="code"/>, the
    /// type that goes with a 400 or a 5xx), and none of <paramref name="neverShown"/>: the key, and
    /// the marks of the upstream's raw error body.
    /// </summary>
    public static async Task AssertSafeErrorAsync(HttpResponseMessage response, HttpStatusCode status, string code, params string[] neverShown)
    {
        var text = await response.Content.ReadAsStringAsync();
        await Api.AssertErrorAsync(response, status, status == HttpStatusCode.BadRequest ? "invalid_request_error" : "api_error", code);
        foreach (var secret in neverShown) Assert.DoesNotContain(secret, text);
    }

    /// <summary>The images of a 200 answer, decoded, after checking the answer against OpenAI's schema.</summary>
    public static async Task<(JsonElement Json, byte[][] Images)> ImagesAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.Empty(OpenAiSpec.Errors(text, "ImagesResponse"));
        var json = JsonDocument.Parse(text).RootElement.Clone();
        return (json, json.GetProperty("data").EnumerateArray().Select(d => Convert.FromBase64String(d.Str("b64_json")!)).ToArray());
    }

    /// <summary>
    /// BYOK on <paramref name="provider"/>: the caller's key is stored, the key test proves it (the
    /// fake refuses a made-up key as the real provider does), and a generate reaches the upstream
    /// with it and costs the caller nothing.
    /// </summary>
    public static async Task AssertByokAsync(GatewayFactory gateway, string provider, string userKey, object body,
        Func<IEnumerable<RecordedRequest>> upstreamCalls, Func<RecordedRequest, bool> carriesUserKey)
    {
        var (client, _) = await gateway.UserAsync(100m);
        (await client.PostJsonAsync("/api/v1/llm/byok/keys", new { provider, api_key = userKey })).EnsureSuccessStatusCode();

        var test = await (await client.PostAsync($"/api/v1/llm/byok/keys/{provider}/test", null)).OkJsonAsync();
        Assert.True(test.GetProperty("ok").GetBoolean(), test.GetRawText());
        Assert.Contains(upstreamCalls(), call => carriesUserKey(call)); // the key test itself used the key

        var before = upstreamCalls().Count();
        var response = await client.PostJsonAsync("/api/v1/llm/images/generations", body);
        var (json, _) = await ImagesAsync(response);

        var meta = json.GetProperty("_metadata");
        Assert.True(meta.GetProperty("using_byok").GetBoolean());
        Assert.Equal(0m, meta.Dec("cost_incurred"));
        Assert.Equal(100m, (await client.CreditsAsync()).Dec("credits_remaining"));
        Assert.All(upstreamCalls().Skip(before), call => Assert.True(carriesUserKey(call), $"{call.Method} {call.Path} without the caller's key"));
    }
}
