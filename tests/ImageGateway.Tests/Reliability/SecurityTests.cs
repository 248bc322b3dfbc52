using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ImageGateway.Tests.Support;
using Microsoft.AspNetCore.Http;

namespace ImageGateway.Tests.Reliability;

/// <summary>
/// Issue 8, security: tenant isolation, admin scope, signed URLs, path traversal, the body limit,
/// secrets kept out of logs and log lines that a prompt cannot forge.
/// </summary>
public sealed class SecurityTests : IAsyncLifetime
{
    private const string PlatformKey = "sk-platform-secret-9999999999999999999999";
    private const string AliceByok = "sk-proj-alice-byok-aaaaaaaaaaaaaaaaaaaaaaaa";
    private const string BobByok = "sk-proj-bob-byok-bbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    private const string ForgedLine = "Information ImageGateway: generate account=usr_forged status=200";

    private static readonly byte[] PngMagic = [0x89, (byte)'P', (byte)'N', (byte)'G'];
    private static readonly byte[] SqliteMagic = Encoding.ASCII.GetBytes("SQLite format 3");

    private FakeUpstream _openai = null!;
    private GatewayFactory _gateway = null!;

    public async Task InitializeAsync()
    {
        _openai = await FakeUpstream.StartAsync();
        // Answers images for the platform key and both BYOK keys; any other key gets a 401 that echoes
        // the key, as real upstreams do, to prove the gateway does not pass that text into its logs.
        _openai.Handler = (ctx, request) =>
        {
            var known = request.Authorization is $"Bearer {PlatformKey}" or $"Bearer {AliceByok}" or $"Bearer {BobByok}";
            if (request.Path.StartsWith("/models", StringComparison.Ordinal))
                return known ? FakeUpstream.Json(ctx, 200, """{"object":"list","data":[]}""")
                    : FakeUpstream.Json(ctx, 401, EchoKey(request.Authorization));
            if (!known)
                return FakeUpstream.Json(ctx, 401, EchoKey(request.Authorization));
            return FakeUpstream.Json(ctx, 200, $$"""{"created":1,"data":[{"b64_json":"{{Convert.ToBase64String(FakeUpstream.Png())}}"}]}""");
        };
        _gateway = new GatewayFactory();
        _gateway.Settings["Gateway:Providers:openai:BaseUrl"] = _openai.BaseUrl;
        _gateway.Settings["Gateway:Providers:openai:AllowByok"] = "true";
        _gateway.Settings["Gateway:Providers:openai:ApiKey"] = PlatformKey;
        _gateway.Settings["Gateway:Providers:openai:RetryBaseDelayMs"] = "1";
        _gateway.Settings["Gateway:Providers:openai:MaxRetries"] = "0";
        _gateway.Settings["Gateway:Byok:FallbackToPlatform"] = "false";
    }

    private static string EchoKey(string? authorization) =>
        "{\"error\":{\"message\":\"Incorrect API key provided: " + authorization +
        "\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"invalid_api_key\"}}";

    public async Task DisposeAsync()
    {
        _gateway.Dispose();
        await _openai.DisposeAsync();
    }

    private sealed record Tenant(string Id, string Key, HttpClient Client);

    private async Task<Tenant> TenantAsync(string name, decimal credits = 1000m)
    {
        var (id, key) = await _gateway.CreateUserAsync("managed", credits, name);
        // No rate limits: these tests send more than 10 images a minute and a 429 must not hide what they check.
        using (var admin = _gateway.AdminClient())
            await Ok(await admin.PutAsJsonAsync($"/api/v1/admin/users/{id}/limits", new { per_minute = 0, per_hour = 0, per_day = 0, per_month = 0 }));
        return new Tenant(id, key, _gateway.ClientWithKey(key));
    }

    private static async Task<JsonElement> Ok(HttpResponseMessage response) => await response.OkJsonAsync();

    private static (string Path, string FileName, long Exp, string Sig) SplitUrl(string url)
    {
        var uri = new Uri(url);
        var query = System.Web.HttpUtility.ParseQueryString(uri.Query);
        return (uri.AbsolutePath, uri.AbsolutePath[(uri.AbsolutePath.LastIndexOf('/') + 1)..], long.Parse(query["exp"]!), query["sig"]!);
    }

    private static async Task AssertRefusedWithoutBytesAsync(HttpResponseMessage response, string what, params HttpStatusCode[] allowed)
    {
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.True(allowed.Contains(response.StatusCode), $"{what}: got {(int)response.StatusCode} {Encoding.UTF8.GetString(bytes)}");
        Assert.False(bytes.AsSpan().StartsWith(PngMagic), $"{what}: served PNG bytes");
        Assert.False(bytes.AsSpan().StartsWith(SqliteMagic), $"{what}: served the database");
        Assert.Null(Api.ErrorShapeProblem(Encoding.UTF8.GetString(bytes)));
    }

    [Fact]
    public async Task Tenant_a_cannot_reach_tenant_b_credits_history_usage_keys_byok_keys_or_images()
    {
        var alice = await TenantAsync("alice", 1000m);
        var bob = await TenantAsync("bob", 500m);

        // Bob: two builtin images as URLs, a BYOK key, a second gateway key.
        var bobImages = await bob.Client.GenerateBuiltinAsync("bob's private picture", n: 2, format: "url");
        var bobTxn = bobImages.GetProperty("_metadata").Str("transaction_id")!;
        var bobUrl = bobImages.GetProperty("data")[0].Str("url")!;
        await Ok(await bob.Client.PostAsJsonAsync("/api/v1/llm/byok/keys", new { provider = "openai", api_key = BobByok }));
        var bobSecondKey = await (await bob.Client.PostAsJsonAsync("/api/v1/keys", new { name = "bob-2" })).OkJsonAsync(HttpStatusCode.Created);
        var bobKeyIds = (await Ok(await bob.Client.GetAsync("/api/v1/keys"))).GetProperty("data").EnumerateArray().Select(k => k.Str("id")!).ToArray();
        Assert.Equal(2, bobKeyIds.Length);

        // Alice: one image of her own.
        var aliceImages = await alice.Client.GenerateBuiltinAsync("alice's picture", format: "url");
        var aliceUrl = aliceImages.GetProperty("data")[0].Str("url")!;

        // Credits: Alice sees her own account only.
        var credits = await alice.Client.CreditsAsync();
        Assert.Equal(alice.Id, credits.Str("user_id"));
        Assert.Equal(1000m - 1.2m, credits.Dec("credits_remaining"));

        // History: none of Bob's entries.
        var history = await alice.Client.HistoryAsync("?limit=100");
        var aliceTxnIds = history.GetProperty("transactions").EnumerateArray().Select(t => t.Str("id")).ToArray();
        Assert.NotEmpty(aliceTxnIds);
        Assert.DoesNotContain(bobTxn, aliceTxnIds);
        Assert.DoesNotContain(bobTxn, history.ToString());
        Assert.DoesNotContain(bob.Id, history.ToString());

        // Usage: only Alice's one request and one image (Bob made one request of two images).
        var usage = await Ok(await alice.Client.GetAsync("/api/v1/llm/usage?days=30"));
        Assert.Equal(alice.Id, usage.Str("user_id"));
        Assert.Equal(1, usage.GetProperty("totals").GetProperty("requests").GetInt64());
        Assert.Equal(1, usage.GetProperty("totals").GetProperty("images").GetInt64());

        // Keys: Bob's ids are invisible to Alice, and revoking one of them is a 404 that changes nothing.
        var aliceKeys = (await Ok(await alice.Client.GetAsync("/api/v1/keys"))).GetProperty("data").EnumerateArray().Select(k => k.Str("id")).ToArray();
        Assert.Single(aliceKeys);
        Assert.Empty(aliceKeys.Intersect(bobKeyIds));
        foreach (var bobKeyId in bobKeyIds)
        {
            var revoke = await alice.Client.DeleteAsync($"/api/v1/keys/{bobKeyId}");
            await Api.AssertErrorAsync(revoke, HttpStatusCode.NotFound, "not_found_error", "not_found");
        }
        Assert.Equal(HttpStatusCode.OK, (await bob.Client.GetAsync("/api/v1/llm/credits")).StatusCode);
        using (var bobSecond = _gateway.ClientWithKey(bobSecondKey.Str("key")!))
            Assert.Equal(HttpStatusCode.OK, (await bobSecond.GetAsync("/api/v1/llm/credits")).StatusCode);

        // BYOK: Alice sees none, cannot delete, toggle or test Bob's, and her dall-e-3 call uses the
        // platform key (charged), never Bob's.
        Assert.Equal(0, (await Ok(await alice.Client.GetAsync("/api/v1/llm/byok/keys"))).GetProperty("data").GetArrayLength());
        await Api.AssertErrorAsync(await alice.Client.DeleteAsync("/api/v1/llm/byok/keys/openai"), HttpStatusCode.NotFound, "not_found_error", "not_found");
        await Api.AssertErrorAsync(await alice.Client.PostAsJsonAsync("/api/v1/llm/byok/keys/openai/toggle", new { enabled = false }),
            HttpStatusCode.NotFound, "not_found_error", "not_found");
        await Api.AssertErrorAsync(await alice.Client.PostAsync("/api/v1/llm/byok/keys/openai/test", null), HttpStatusCode.NotFound, "not_found_error", "not_found");
        var bobByok = (await Ok(await bob.Client.GetAsync("/api/v1/llm/byok/keys"))).GetProperty("data");
        Assert.Equal(1, bobByok.GetArrayLength());
        Assert.True(bobByok[0].GetProperty("enabled").GetBoolean());
        var aliceDalle = await Ok(await alice.Client.PostAsJsonAsync("/api/v1/llm/images/generations",
            new { prompt = "a fox", model = "dall-e-3", response_format = "b64_json" }));
        Assert.False(aliceDalle.GetProperty("_metadata").GetProperty("using_byok").GetBoolean());
        Assert.Equal(48m, aliceDalle.GetProperty("_metadata").Dec("cost_incurred"));
        Assert.DoesNotContain(_openai.Requests, r => r.Authorization == $"Bearer {BobByok}");
        Assert.Contains(_openai.Requests, r => r.Authorization == $"Bearer {PlatformKey}");

        // Images: a signed URL is a bearer credential by design (anyone holding Bob's URL gets it)...
        var (bobPath, bobFile, bobExp, bobSig) = SplitUrl(bobUrl);
        using var anonymous = _gateway.CreateClient();
        var direct = await anonymous.GetAsync($"{bobPath}?exp={bobExp}&sig={Uri.EscapeDataString(bobSig)}");
        Assert.Equal(HttpStatusCode.OK, direct.StatusCode);
        // ...but without Bob's signature nobody, Alice included, gets Bob's file.
        var (_, aliceFile, aliceExp, aliceSig) = SplitUrl(aliceUrl);
        var forgedSig = Convert.ToBase64String(new byte[32]).TrimEnd('=');
        var flipped = (bobSig[0] == 'A' ? 'B' : 'A') + bobSig[1..];
        var attempts = new (string Name, string Url)[]
        {
            ("no signature", $"{bobPath}?exp={bobExp}"),
            ("no expiry", $"{bobPath}?sig={Uri.EscapeDataString(bobSig)}"),
            ("forged signature", $"{bobPath}?exp={bobExp}&sig={Uri.EscapeDataString(forgedSig)}"),
            ("one character changed", $"{bobPath}?exp={bobExp}&sig={Uri.EscapeDataString(flipped)}"),
            ("extended expiry", $"{bobPath}?exp={bobExp + 86_400}&sig={Uri.EscapeDataString(bobSig)}"),
            ("extended expiry in the name", $"{bobPath.Replace(bobFile, (bobExp + 86_400) + bobFile[bobFile.IndexOf('-')..])}?exp={bobExp + 86_400}&sig={Uri.EscapeDataString(bobSig)}"),
            ("Alice's signature on Bob's id", $"{bobPath}?exp={aliceExp}&sig={Uri.EscapeDataString(aliceSig)}"),
            ("Alice's signature and expiry on Bob's id", $"{bobPath.Replace(bobFile, aliceExp + bobFile[bobFile.IndexOf('-')..])}?exp={aliceExp}&sig={Uri.EscapeDataString(aliceSig)}"),
            ("Bob's signature on Alice's id", $"{bobPath.Replace(bobFile, aliceFile)}?exp={bobExp}&sig={Uri.EscapeDataString(bobSig)}"),
            ("signature with padding", $"{bobPath}?exp={bobExp}&sig={Uri.EscapeDataString(bobSig + "=")}"),
            ("exp with a plus sign", $"{bobPath}?exp=%2B{bobExp}&sig={Uri.EscapeDataString(bobSig)}"),
        };
        foreach (var (name, url) in attempts)
            foreach (var client in new[] { anonymous, alice.Client })
                await AssertRefusedWithoutBytesAsync(await client.GetAsync(url), name, HttpStatusCode.Forbidden, HttpStatusCode.NotFound);
    }

    public static readonly TheoryData<string, string> AdminRoutes = new()
    {
        { "POST", "/api/v1/admin/users" },
        { "GET", "/api/v1/admin/users" },
        { "GET", "/api/v1/admin/users/{self}" },
        { "PATCH", "/api/v1/admin/users/{self}" },
        { "POST", "/api/v1/admin/users/{self}/credits" },
        { "POST", "/api/v1/admin/users/{self}/keys" },
        { "GET", "/api/v1/admin/users/{self}/limits" },
        { "PUT", "/api/v1/admin/users/{self}/limits" },
        { "GET", "/api/v1/admin/usage" },
        { "GET", "/api/v1/admin/providers" },
    };

    [Theory]
    [MemberData(nameof(AdminRoutes))]
    public async Task Every_admin_route_refuses_a_user_key_and_changes_nothing(string method, string route)
    {
        var user = await TenantAsync("mallory", 10m);
        var path = route.Replace("{self}", user.Id);
        // Bodies that would matter if they got through: make me rich, an admin, unlimited.
        var body = new { name = "x", tier = "vip_founder", credits = 1_000_000, amount = 1_000_000, reason = "x", scope = "admin", per_minute = 0 };
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = JsonContent.Create(body) };

        var response = await user.Client.SendAsync(request);

        await Api.AssertErrorAsync(response, HttpStatusCode.Forbidden, "permission_error", "admin_required");
        var credits = await user.Client.CreditsAsync();
        Assert.Equal(10m, credits.Dec("credits_remaining"));
        Assert.Equal("managed", credits.Str("tier"));
        // Nor can a user key mint itself an admin key.
        await Api.AssertErrorAsync(await user.Client.PostAsJsonAsync("/api/v1/keys", new { scope = "admin" }),
            HttpStatusCode.Forbidden, "permission_error", "admin_required");
        // The same route with the admin key is known (not a 404), so the 403 above is the scope check.
        using var admin = _gateway.AdminClient();
        using var adminRequest = new HttpRequestMessage(new HttpMethod(method), path);
        Assert.NotEqual(HttpStatusCode.NotFound, (await admin.SendAsync(adminRequest)).StatusCode);
    }

    [Fact]
    public async Task Path_traversal_in_the_file_route_is_refused_and_never_serves_a_file()
    {
        var user = await TenantAsync("walker", 10m);
        var url = (await user.Client.GenerateBuiltinAsync("a real image", format: "url")).GetProperty("data")[0].Str("url")!;
        var (_, realFile, exp, sig) = SplitUrl(url);
        Assert.True(File.Exists(Path.Combine(_gateway.DataDirectory, "gateway.db")), "the database the attacks aim at exists");
        var query = $"?exp={exp}&sig={Uri.EscapeDataString(sig)}";
        var names = new[]
        {
            "..%2Fgateway.db", "..%2F..%2Fgateway.db", "%2E%2E%2Fgateway.db", "%2e%2e%2f%2e%2e%2fgateway.db",
            "%252e%252e%252fgateway.db", "..%252fgateway.db", "%252E%252E%252F%252E%252E%252Fgateway.db",
            "..%5Cgateway.db", "..%5C..%5Cgateway.db", "%2e%2e%5cgateway.db", "..%255cgateway.db",
            "%2Fetc%2Fpasswd", "%2F%2Fetc%2Fpasswd", "C:%5CWindows%5Cwin.ini", "%5C%5Cserver%5Cshare%5Cx.png",
            "....%2F%2Fgateway.db", "..%2F" + realFile, "images%2F" + realFile, ".%2F" + realFile, realFile + "%2F..%2F..%2Fgateway.db",
            realFile.Replace(".png", ".png%2500.db"), realFile.Replace(".png", ".db"), "gateway.db", "%2e%2e", "..", ".",
            Uri.EscapeDataString(_gateway.DataDirectory + "/gateway.db"), Uri.EscapeDataString(Path.Combine(_gateway.ImagesDirectory(), realFile)),
            "%C0%AE%C0%AE%2Fgateway.db", "%uff0e%uff0e%2fgateway.db", "%EF%BC%8E%EF%BC%8E%EF%BC%8Fgateway.db",
        };
        using var anonymous = _gateway.CreateClient();
        foreach (var prefix in new[] { "/api/v1/llm/image/files/", "/v1/image/files/" })
            foreach (var name in names)
                foreach (var q in new[] { "", query })
                {
                    var target = prefix + name + q;
                    await AssertRefusedWithoutBytesAsync(await anonymous.GetAsync(target), target,
                        HttpStatusCode.NotFound, HttpStatusCode.Forbidden, HttpStatusCode.BadRequest);
                }
        // Unencoded dot segments and backslashes, sent raw past HttpClient's normalisation.
        foreach (var raw in new[] { "/api/v1/llm/image/files/../../gateway.db", "/api/v1/llm/image/files/..\\..\\gateway.db", "/api/v1/llm/image/files/\\gateway.db" })
        {
            var response = await _gateway.Server.SendAsync(c =>
            {
                c.Request.Method = "GET";
                c.Request.Path = raw;
            });
            var bytes = new MemoryStream();
            await response.Response.Body.CopyToAsync(bytes);
            Assert.True(response.Response.StatusCode is 400 or 403 or 404, $"{raw}: {response.Response.StatusCode}");
            Assert.False(bytes.ToArray().AsSpan().StartsWith(SqliteMagic), $"{raw}: served the database");
        }
        // The real URL still works: the refusals above are not a broken route.
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync(new Uri(url).PathAndQuery)).StatusCode);
    }

    [Fact]
    public async Task A_body_over_the_limit_is_a_413_json_error_and_charges_nothing()
    {
        _gateway.Settings["Gateway:MaxRequestBodyBytes"] = "65536";
        var user = await TenantAsync("bulk", 10m);
        var huge = "{\"model\":\"builtin-preview\",\"size\":\"256x256\",\"prompt\":\"" + new string('a', 70_000) + "\"}";
        foreach (var path in new[] { "/api/v1/llm/images/generations", "/v1/images/generations", "/api/v1/llm/image/estimate" })
        {
            // With a Content-Length and without one (chunked), so the limit does not trust the header.
            var sized = await user.Client.PostAsync(path, new StringContent(huge, Encoding.UTF8, "application/json"));
            await Api.AssertErrorAsync(sized, HttpStatusCode.RequestEntityTooLarge, "invalid_request_error", "request_too_large");
            var chunked = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(huge)));
            chunked.Headers.ContentType = new("application/json");
            var streamed = await user.Client.PostAsync(path, chunked);
            await Api.AssertErrorAsync(streamed, HttpStatusCode.RequestEntityTooLarge, "invalid_request_error", "request_too_large");
        }
        // Just under the limit is read (and fails only on the prompt length rule).
        var under = "{\"model\":\"builtin-preview\",\"size\":\"256x256\",\"prompt\":\"" + new string('a', 60_000) + "\"}";
        await Api.AssertErrorAsync(await user.Client.PostAsync("/api/v1/llm/images/generations", Api.Raw(under)),
            HttpStatusCode.BadRequest, "invalid_request_error", "invalid_value", "prompt");
        Assert.Equal(10m, (await user.Client.CreditsAsync()).Dec("credits_remaining"));
    }

    [Fact]
    public async Task No_key_of_any_kind_ever_appears_in_the_logs()
    {
        var alice = await TenantAsync("alice", 1000m);
        var bob = await TenantAsync("bob", 1000m);
        var extra = (await (await alice.Client.PostAsJsonAsync("/api/v1/keys", new { name = "second" })).OkJsonAsync(HttpStatusCode.Created)).Str("key")!;
        var revokedKey = (await (await alice.Client.PostAsJsonAsync("/api/v1/keys", new { name = "doomed" })).OkJsonAsync(HttpStatusCode.Created));
        await Ok(await alice.Client.DeleteAsync($"/api/v1/keys/{revokedKey.Str("id")}"));
        const string wrongByok = "sk-proj-wrong-key-cccccccccccccccccccccccccccc";
        using var admin = _gateway.AdminClient();

        // Every path a key travels: BYOK store, test (good and bad), use, toggle; platform use; key
        // issuance by admin; failed authentication with real, revoked and near-miss keys.
        await Ok(await alice.Client.PostAsJsonAsync("/api/v1/llm/byok/keys", new { provider = "openai", api_key = AliceByok }));
        await Ok(await alice.Client.PostAsync("/api/v1/llm/byok/keys/openai/test", null));
        await Ok(await alice.Client.PostAsJsonAsync("/api/v1/llm/images/generations", new { prompt = "fox", model = "dall-e-3", response_format = "b64_json" }));
        await Ok(await alice.Client.PostAsJsonAsync("/api/v1/llm/byok/keys/openai/toggle", new { enabled = false }));
        await Ok(await alice.Client.PostAsJsonAsync("/api/v1/llm/images/generations", new { prompt = "fox", model = "dall-e-3", response_format = "b64_json" }));
        await Ok(await bob.Client.PostAsJsonAsync("/api/v1/llm/byok/keys", new { provider = "openai", api_key = wrongByok }));
        await bob.Client.PostAsync("/api/v1/llm/byok/keys/openai/test", null);
        var bobFailed = await bob.Client.PostAsJsonAsync("/api/v1/llm/images/generations", new { prompt = "fox", model = "dall-e-3" });
        Assert.False(bobFailed.IsSuccessStatusCode);
        Assert.DoesNotContain(wrongByok, await bobFailed.Content.ReadAsStringAsync());
        await Ok(await bob.Client.PostAsJsonAsync("/api/v1/llm/byok/keys", new { provider = "openai", api_key = BobByok }));
        await Ok(await bob.Client.PostAsJsonAsync("/api/v1/llm/images/generations", new { prompt = "fox", model = "dall-e-3", response_format = "b64_json" }));
        var adminIssued = (await (await admin.PostAsJsonAsync($"/api/v1/admin/users/{bob.Id}/keys", new { name = "ops" })).OkJsonAsync(HttpStatusCode.Created)).Str("key")!;
        await Ok(await admin.GetAsync("/api/v1/admin/users"));
        foreach (var bad in new[] { revokedKey.Str("key")!, alice.Key + "x", alice.Key[..^1], "Basic " + alice.Key, bob.Key.ToUpperInvariant() })
        {
            using var client = _gateway.ClientWithKey(bad);
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/v1/llm/credits")).StatusCode);
        }
        using (var userOnAdmin = _gateway.ClientWithKey(extra))
            Assert.Equal(HttpStatusCode.Forbidden, (await userOnAdmin.GetAsync("/api/v1/admin/users")).StatusCode);
        Assert.Contains(_openai.Requests, r => r.Authorization == $"Bearer {wrongByok}"); // the bad key really reached the echoing upstream

        var logs = _gateway.Logs.All;
        Assert.Contains("generate account=", logs); // the capture works
        var secrets = new Dictionary<string, string>
        {
            ["admin key"] = GatewayFactory.AdminKey, ["alice key"] = alice.Key, ["bob key"] = bob.Key, ["alice second key"] = extra,
            ["revoked key"] = revokedKey.Str("key")!, ["admin-issued key"] = adminIssued, ["platform provider key"] = PlatformKey,
            ["alice byok"] = AliceByok, ["bob byok"] = BobByok, ["bob wrong byok"] = wrongByok,
        };
        foreach (var (name, secret) in secrets)
        {
            Assert.False(logs.Contains(secret, StringComparison.Ordinal), $"{name} appears in the logs");
            // Nor its secret part without the prefix (a log line that strips "uc_" or "sk-" still leaks).
            Assert.False(logs.Contains(secret[8..], StringComparison.Ordinal), $"{name} (without its prefix) appears in the logs");
        }
    }

    [Fact]
    public async Task Prompt_text_with_cr_lf_cannot_forge_a_log_line()
    {
        var user = await TenantAsync("forger", 100m);
        var injections = new[]
        {
            "a cat\r\n" + ForgedLine, "a cat\n" + ForgedLine, "a cat\r" + ForgedLine, "a cat\u2028" + ForgedLine, "a cat\u0085" + ForgedLine,
            "\r\n" + ForgedLine + "\r\n",
        };
        foreach (var text in injections)
        {
            // Accepted prompts, at generate and estimate, and refused ones (too long, bad model) that reach the error path.
            await Ok(await user.Client.PostAsJsonAsync("/api/v1/llm/images/generations", new { prompt = text, model = "builtin-preview", size = "256x256" }));
            await Ok(await user.Client.PostAsJsonAsync("/api/v1/llm/image/estimate", new { prompt = text, model = "builtin-preview", size = "256x256" }));
            await user.Client.PostAsJsonAsync("/api/v1/llm/images/generations", new { prompt = text + new string('x', 5000), model = "dall-e-3" });
            await user.Client.PostAsJsonAsync("/api/v1/llm/images/generations", new { prompt = "x", model = text });
            await user.Client.PostAsJsonAsync("/api/v1/llm/images/generations", new { prompt = "x", model = "builtin-preview", size = text });
            await user.Client.PostAsJsonAsync("/api/v1/llm/images/generations", new { prompt = "x", model = "builtin-preview", size = "256x256", user = text });
            await user.Client.PostAsJsonAsync("/api/v1/llm/byok/keys", new { provider = text, api_key = "sk-x" });
            await user.Client.PostAsJsonAsync($"/api/v1/llm/byok/keys/{Uri.EscapeDataString(text)}/toggle", new { enabled = true });
            await user.Client.GetAsync($"/api/v1/llm/{Uri.EscapeDataString(text)}");
        }

        var entries = _gateway.Logs.Lines.ToArray();
        Assert.Contains(entries, e => e.StartsWith($"Information ImageGateway.Generation.GenerationPipeline: generate account={user.Id}", StringComparison.Ordinal));
        foreach (var entry in entries)
        {
            Assert.False(entry.StartsWith(ForgedLine, StringComparison.Ordinal), $"forged entry: {entry}");
            foreach (var line in entry.Split(['\r', '\n', '\u2028', '\u2029', '\u0085']))
                Assert.False(line.TrimStart().StartsWith(ForgedLine, StringComparison.Ordinal), $"forged line inside entry: {entry}");
        }
    }
}
