using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CsCheck;
using ImageGateway.Billing;
using ImageGateway.Tests.Support;
using Xunit.Abstractions;

namespace ImageGateway.IntegrationTests.Reliability;

/// <summary>
/// One generated hostile HTTP request. <see cref="Auth"/> holds every Authorization header value
/// sent (none = absent, two = duplicated); the same for <see cref="IdempotencyKeys"/>.
/// </summary>
public sealed record HostileRequest(string Method, string Path, string[] Auth, string? ContentType, string[] IdempotencyKeys, byte[]? Body, string Kind)
{
    public override string ToString()
    {
        var body = Body is null ? "<none>" : Encoding.UTF8.GetString(Body.AsSpan(0, Math.Min(Body.Length, 300)));
        return $"{Kind}: {Method} {Path} auth=[{string.Join(" | ", Auth)}] ct={ContentType ?? "<none>"} " +
               $"idem=[{string.Join(" | ", IdempotencyKeys)}] body({Body?.Length ?? 0})={body}";
    }
}

/// <summary>
/// Issue 8, hostile input: thousands of generated requests (CsCheck) against the in-process gateway.
/// No 5xx, the DESIGN §1.3 error body on every failure, /healthz still answers, and the money is exact.
/// The count is IGW_HOSTILE_COUNT (default 10,000); IGW_HOSTILE_BIG_BODIES 10 MB bodies are sent besides.
/// </summary>
[Collection(ReliabilityLoadCollection.Name)] // CPU-heavy: not run alongside the other load tests
public sealed class HostileInputTests(ITestOutputHelper output) : IDisposable
{
    private const string ValidSentinel = "@valid-key@"; // replaced by the funded user's key when sent
    private const string AdminSentinel = "@admin-key@";
    private const decimal StartCredits = 1_000_000m;

    private readonly GatewayFactory _gateway = new GatewayFactory().WithoutUpstreamKeys();

    public void Dispose() => _gateway.Dispose();

    private static int Count(string variable, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(variable), out var n) && n > 0 ? n : fallback;

    // ---------- generators ----------

    /// <summary>Text with what breaks naive code: control characters, NUL, lone surrogates, RTL marks, emoji, CR/LF.</summary>
    private static readonly Gen<string> NastyText = Gen.Frequency(
        (3, Gen.String[Gen.Char, 0, 40]),
        (2, Gen.String[Gen.Char['\0', '\u001f'], 1, 20]),
        (2, Gen.OneOf("\0", "a\0b", "\u202e\u202dreversed", "🦊🔥👩‍👩‍👧", "\ud800", "\udfff lone", "\r\nInjected: yes", "%00%0d%0a",
            "../../etc/passwd", "'; DROP TABLE accounts; --", "{{7*7}}", "${jndi:ldap://x}", "\\u0000", "ＡＢＣ", "ﷺ", "\u0085\u2028\u2029",
            "<script>alert(1)</script>", new string('x', 5000), "")),
        (1, Gen.String[Gen.Char, 1000, 40_000]));

    /// <summary>A JSON literal of any type, including huge and odd numbers.</summary>
    private static readonly Gen<string> AnyJsonValue = Gen.Frequency(
        (3, NastyText.Select(s => JsonSerializer.Serialize(s))),
        (2, Gen.OneOf("0", "-1", "-2147483649", "2147483648", "9223372036854775808", "-9223372036854775809",
            "99999999999999999999999999999999999999", "1e308", "-1e308", "1e400", "1.5", "0.0001", "-0", "1E2", "NaN", "Infinity",
            "true", "false", "null", "[]", "{}", "[1,2,3]", "{\"a\":1}", "\"\"", "\"10\"", "0x10", "01", "+1")),
        (1, Gen.Long.Select(l => l.ToString(CultureInfo.InvariantCulture))),
        (1, Gen.Double.Select(d => double.IsFinite(d) ? d.ToString("R", CultureInfo.InvariantCulture) : "1e999")));

    private static readonly Gen<string> FieldName = Gen.OneOf("prompt", "model", "n", "size", "quality", "style", "response_format",
        "user", "seed", "provider", "api_key", "metadata", "enabled", "name", "scope", "expires_in_days", "tier", "credits", "amount",
        "reason", "per_minute", "monthly_cap", "PROMPT", "prompt\0", "", "__proto__", "$type");

    /// <summary>An object with generate's fields, each either a sane value or anything at all.</summary>
    private static readonly Gen<string> GenerateLikeObject =
        Gen.Select(
            Gen.Frequency((3, Gen.Const("\"a fox\"")), (3, AnyJsonValue), (1, Gen.Const("\"   \"")), (1, Gen.Const("\"\\u0000\""))),
            Gen.Frequency((4, Gen.Const("\"builtin-preview\"")), (2, AnyJsonValue), (1, Gen.OneOf("\"dall-e-9\"", "\"BUILTIN-PREVIEW\"", "\"builtin-preview \""))),
            Gen.Frequency((3, Gen.OneOf("1", "2", "3")), (1, Gen.Int[-5, 12].Select(i => i.ToString(CultureInfo.InvariantCulture))), (2, AnyJsonValue)),
            Gen.Frequency((4, Gen.OneOf("\"256x256\"", "\"512x512\"")), (1, Gen.OneOf("\"1x1\"", "\"99999x99999\"", "\"-256x256\"", "\"256X256\"", "\"256x256x256\"", "\"0x0\"")), (1, AnyJsonValue)),
            Gen.Frequency((3, Gen.Const((string?)null)), (1, Gen.OneOf<string?>("\"standard\"", "\"hd\"", "\"ultra\"")), (1, AnyJsonValue.Select(s => (string?)s))),
            Gen.Frequency((3, Gen.OneOf<string?>(null, "\"url\"", "\"b64_json\"")), (1, AnyJsonValue.Select(s => (string?)s))),
            Gen.Frequency((4, Gen.Const((string?)null)), (1, AnyJsonValue.Select(s => (string?)s))),
            Gen.Frequency((3, Gen.Const(Array.Empty<(string, string)>())), (1, Gen.Select(FieldName, AnyJsonValue).Array[1, 4])),
            (prompt, model, n, size, quality, format, seed, extra) =>
            {
                var parts = new List<string> { $"\"prompt\":{prompt}", $"\"model\":{model}", $"\"n\":{n}", $"\"size\":{size}" };
                if (quality is not null) parts.Add($"\"quality\":{quality}");
                if (format is not null) parts.Add($"\"response_format\":{format}");
                if (seed is not null) parts.Add($"\"seed\":{seed}");
                parts.AddRange(extra.Select(e => $"{JsonSerializer.Serialize(e.Item1)}:{e.Item2}"));
                return "{" + string.Join(",", parts) + "}";
            });

    /// <summary>A request generate must accept: hostile prompt text (unicode, control characters, NUL, CR/LF), small sizes.</summary>
    private static readonly Gen<string> ValidGenerateBody = Gen.Select(
        NastyText.Where(t => !string.IsNullOrWhiteSpace(t) && t.Length <= 4000),
        Gen.Int[1, 3], Gen.OneOf("256x256", "512x512"), Gen.OneOf("url", "b64_json", null), Gen.Frequency((3, Gen.Const((long?)null)), (1, Gen.Long.Select(l => (long?)l))),
        (prompt, n, size, format, seed) => JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["prompt"] = prompt, ["model"] = "builtin-preview", ["n"] = n, ["size"] = size, ["response_format"] = format, ["seed"] = seed,
        }.Where(p => p.Value is not null).ToDictionary()));

    private static readonly Gen<string> DeepJson = Gen.Select(Gen.Int[2, 5000], Gen.Int[0, 2], (depth, shape) => shape switch
    {
        0 => new string('[', depth) + new string(']', depth),
        1 => "{\"prompt\":" + string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth) + ",\"model\":\"builtin-preview\"}",
        _ => new string('[', depth), // unterminated
    });

    private static readonly Gen<string> MalformedJson = Gen.Frequency(
        (2, GenerateLikeObject.SelectMany(json => Gen.Int[0, Math.Max(0, json.Length - 1)].Select(cut => json[..cut]))), // truncated
        (2, Gen.OneOf("{", "}", "{\"prompt\":}", "{prompt:\"x\"}", "{'prompt':'x'}", "{\"prompt\":\"x\",}", "{\"prompt\":\"x\"}{}",
            "[]", "null", "true", "42", "\"str\"", "{\"prompt\":\"x\" \"model\":1}", "{\"prompt\":\"\\ud800\"}", "{\"prompt\":\"\\u00\"}",
            "{\"prompt\":\"a\",\"prompt\":\"b\",\"model\":\"builtin-preview\",\"size\":\"256x256\"}", "/* c */{}", "\ufeff{}", "{\"n\":1e99999}")),
        (1, NastyText));

    private static readonly Gen<byte[]?> Body = Gen.Frequency(
        (6, GenerateLikeObject.Select(s => (byte[]?)Encoding.UTF8.GetBytes(s))),
        (3, ValidGenerateBody.Select(s => (byte[]?)Encoding.UTF8.GetBytes(s))),
        (3, MalformedJson.Select(s => (byte[]?)Encoding.UTF8.GetBytes(s))),
        (1, DeepJson.Select(s => (byte[]?)Encoding.UTF8.GetBytes(s))),
        (1, Gen.Byte.Array[0, 2000].Select(b => (byte[]?)b)), // raw bytes, invalid UTF-8 included
        (1, Gen.Const((byte[]?)null)),
        (1, Gen.Const((byte[]?)Array.Empty<byte>())));

    private static readonly Gen<string> Segment = Gen.Frequency(
        (3, Gen.OneOf("x", "openai", "stability", "openrouter", "usr_nope", "key_nope", "..", "%2e%2e", "%252e%252e%252f", "..%5c..%5c",
            "%0d%0a", "C:%5cwindows", "%2fetc%2fpasswd", "1-aaaaaaaaaaaaaaaaaaaaaaaa.png", "🦊", "~", "%ff%fe", "users")),
        (1, Gen.String[Gen.Char['!', '~'], 1, 30].Select(Uri.EscapeDataString)),
        (1, NastyText.Select(s => Uri.EscapeDataString(s.Length > 200 ? s[..200] : s.Replace("\ud800", "").Replace("\udfff", "")))))
        // An encoded NUL in the path never reaches the gateway: Kestrel answers 400 itself and the test host throws.
        .Select(s => s.Replace("%00", "%2500", StringComparison.Ordinal));

    private static readonly Gen<string> Query = Gen.Frequency(
        (3, Gen.Const("")),
        (2, Gen.Select(Gen.OneOf("limit", "offset", "days", "exp", "sig", "id"), AnyJsonValue,
            (k, v) => $"?{k}={Uri.EscapeDataString(v.Length > 100 ? v[..100] : v.Replace("\ud800", "").Replace("\udfff", ""))}")),
        (1, Gen.OneOf("?limit=-1", "?limit=0", "?limit=99999999999999999999", "?offset=-5", "?days=-1", "?days=100000", "?days=abc",
            "?limit=1&limit=2", "?exp=1&sig=", "?%00=%00")));

    private static readonly Gen<string> Path = Gen.Frequency(
        (6, Gen.Select(Gen.OneOf("/api/v1/llm", "/v1"), Gen.OneOf("/image/generations", "/images/generations", "/image/estimate"),
            (prefix, route) => prefix + route)),
        (6, Gen.Select(Gen.OneOf("/api/v1/llm", "/v1"), Gen.OneOf(
                "/image/generations", "/images/generations", "/image/estimate", "/image/models", "/models", "/credits", "/credits/history",
                "/usage", "/byok/keys", "/byok/keys/{s}", "/byok/keys/{s}/toggle", "/image/files/{s}", "/image/files/{s}.png", "/{s}", "/{s}/{s}",
                "/image//generations", "/images/generations/", "/IMAGES/GENERATIONS"),
            Segment, Segment, Query, (prefix, route, a, b, q) => prefix + ReplaceTwice(route, a, b) + q)),
        (3, Gen.Select(Gen.OneOf("/api/v1/admin/users", "/api/v1/admin/users/{s}", "/api/v1/admin/users/{s}/credits",
                "/api/v1/admin/users/{s}/keys", "/api/v1/admin/users/{s}/limits", "/api/v1/admin/usage", "/api/v1/admin/providers",
                "/api/v1/admin/{s}", "/api/v1/keys", "/api/v1/keys/{s}", "/api/v1/{s}"),
            Segment, Segment, Query, (route, a, b, q) => ReplaceTwice(route, a, b) + q)));

    private static string ReplaceTwice(string route, string a, string b)
    {
        var i = route.IndexOf("{s}", StringComparison.Ordinal);
        if (i < 0) return route;
        route = route[..i] + a + route[(i + 3)..];
        i = route.IndexOf("{s}", StringComparison.Ordinal);
        return i < 0 ? route : route[..i] + b + route[(i + 3)..];
    }

    private static readonly Gen<string> Method = Gen.Frequency(
        (14, Gen.Const("POST")), (4, Gen.Const("GET")),
        (1, Gen.OneOf("PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "post", "FOO", "CONNECTX")));

    // Header values: no CR, LF or NUL, which HTTP itself forbids in headers (Kestrel refuses them before the gateway sees them).
    private static readonly Gen<string> HeaderText = Gen.String[Gen.Char[' ', '\u07ff'], 0, 60]
        .Select(s => s.Replace('\r', ' ').Replace('\n', ' ').Replace('\0', ' '));

    private static readonly Gen<string[]> Auth = Gen.Frequency(
        (10, Gen.Const(new[] { $"Bearer {ValidSentinel}" })),
        (1, Gen.Const(Array.Empty<string>())),
        (1, Gen.Const(new[] { $"Bearer {AdminSentinel}" })),
        (4, Gen.OneOf(
            new[] { $"bearer {ValidSentinel}" }, new[] { $"BEARER   {ValidSentinel}   " }, new[] { $"Bearer {ValidSentinel}x" },
            new[] { $"Bearer {ValidSentinel}", $"Bearer {ValidSentinel}" }, new[] { $"Bearer {ValidSentinel}", "Bearer uc_other" },
            new[] { $"Basic {ValidSentinel}" }, new[] { $"Token {ValidSentinel}" }, new[] { ValidSentinel }, new[] { "Bearer" }, new[] { "Bearer " },
            new[] { "Bearer uc_" }, new[] { "Bearer uc_" + new string('Z', 43) }, new[] { "Bearer " + new string('a', 10_000) },
            new[] { "" }, new[] { "Bearer sk-proj-123" }, new[] { "Bearer uc_🦊🦊🦊🦊🦊🦊🦊🦊🦊🦊🦊🦊🦊🦊🦊🦊🦊🦊🦊🦊🦊🦊" })),
        (1, HeaderText.Select(t => new[] { t })),
        (1, HeaderText.Select(t => new[] { "Bearer " + t })));

    private static readonly Gen<string?> ContentType = Gen.Frequency(
        (10, Gen.Const<string?>("application/json")),
        (2, Gen.Const((string?)null)),
        (4, Gen.OneOf<string?>("application/json; charset=utf-8", "application/json; charset=utf-16", "application/json; charset=bogus",
            "APPLICATION/JSON", "text/plain", "text/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
            "multipart/form-data", "application/octet-stream", "image/png", "", "application/json;;;", "a/b/c", "application/problem+json",
            "application/json, text/plain", "*/*")),
        (1, HeaderText.Select(t => (string?)t)));

    private static readonly Gen<string[]> IdempotencyKeys = Gen.Frequency(
        (12, Gen.Const(Array.Empty<string>())),
        (2, Gen.OneOf(new[] { "fixed-key-1" }, new[] { "fixed-key-2" }, new[] { "" }, new[] { " " }, new[] { new string('k', 300) },
            new[] { new string('k', 255) }, new[] { "a", "b" }, new[] { "fixed-key-1", "fixed-key-1" }, new[] { "🦊-key" })),
        (1, Gen.Guid.Select(g => new[] { g.ToString() })),
        (1, HeaderText.Select(t => new[] { t })));

    // Mostly the route's own method, so most requests reach a handler rather than stopping at a 405.
    private static readonly Gen<HostileRequest> Request = Gen.Select(Method, Gen.Int[0, 3], Path, Auth, ContentType, IdempotencyKeys, Body,
        (method, roll, path, auth, contentType, idem, body) =>
            new HostileRequest(roll == 0 ? method : NaturalMethod(path), path, auth, contentType, idem, body, "generated"));

    private static string NaturalMethod(string path)
    {
        var route = path.Split('?')[0];
        if (route.EndsWith("/limits", StringComparison.Ordinal)) return "PUT";
        if (route.Contains("generations", StringComparison.OrdinalIgnoreCase) || route.EndsWith("/estimate", StringComparison.Ordinal)
            || route.EndsWith("/toggle", StringComparison.Ordinal) || route.EndsWith("/credits", StringComparison.Ordinal) && route.Contains("/admin/")
            || route.EndsWith("/keys", StringComparison.Ordinal) || route.EndsWith("/byok/keys", StringComparison.Ordinal)
            || route.EndsWith("/admin/users", StringComparison.Ordinal))
            return "POST";
        if (route.StartsWith("/api/v1/keys/", StringComparison.Ordinal) || route.Contains("/byok/keys/", StringComparison.Ordinal)) return "DELETE";
        if (route.StartsWith("/api/v1/admin/users/", StringComparison.Ordinal)) return "PATCH";
        return "GET";
    }

    // ---------- the run ----------

    private sealed class Tally
    {
        public readonly ConcurrentDictionary<int, int> Statuses = new();
        public readonly ConcurrentBag<long> ChargedMc = new();
        public readonly ConcurrentQueue<string> Failures = new();
        public int Sent;
    }

    private async Task<HttpResponseMessage> SendAsync(HttpClient client, HostileRequest r, string userKey)
    {
        using var message = new HttpRequestMessage(new HttpMethod(r.Method), r.Path);
        foreach (var value in r.Auth)
            message.Headers.TryAddWithoutValidation("Authorization", value.Replace(ValidSentinel, userKey).Replace(AdminSentinel, GatewayFactory.AdminKey));
        foreach (var value in r.IdempotencyKeys) message.Headers.TryAddWithoutValidation("Idempotency-Key", value);
        if (r.Body is not null || r.ContentType is not null)
        {
            message.Content = new ByteArrayContent(r.Body ?? []);
            message.Content.Headers.ContentType = null;
            if (r.ContentType is not null) message.Content.Headers.TryAddWithoutValidation("Content-Type", r.ContentType);
        }
        return await client.SendAsync(message);
    }

    /// <summary>Checks one answer; returns a failure description or null.</summary>
    private static async Task<string?> CheckAsync(HostileRequest r, HttpResponseMessage response, Tally tally)
    {
        var status = (int)response.StatusCode;
        tally.Statuses.AddOrUpdate(status, 1, (_, c) => c + 1);
        Interlocked.Increment(ref tally.Sent);
        var text = await response.Content.ReadAsStringAsync();
        if (status >= 500) return $"{status} for {r}\n{text}";
        if (r.Method.Equals("HEAD", StringComparison.OrdinalIgnoreCase)) return null; // HEAD answers carry no body
        if (status is >= 200 and < 300)
        {
            // Money: every fresh 200 from generate names what it charged; a replay charged nothing new.
            // Requests sent with the admin key bill the admin account, not the user under test.
            if (!response.Headers.Contains("Idempotent-Replayed") && text.Contains("\"_metadata\"", StringComparison.Ordinal)
                && !r.Auth.Any(a => a.Contains(AdminSentinel, StringComparison.Ordinal)))
            {
                using var doc = JsonDocument.Parse(text);
                var cost = doc.RootElement.GetProperty("_metadata").GetProperty("cost_incurred").GetDecimal();
                tally.ChargedMc.Add((long)(cost * 1000m));
            }
            return null;
        }
        if (status is >= 300 and < 400) return null;
        return Api.ErrorShapeProblem(text) is { } problem ? $"{status} {problem} for {r}\n{text}" : null;
    }

    /// <summary>Regression: found by the generated run, an unknown charset was a 500 on framework-bound JSON routes.</summary>
    [Theory]
    [InlineData("/api/v1/keys", false)]
    [InlineData("/api/v1/llm/byok/keys", false)]
    [InlineData("/v1/byok/keys/openai/toggle", false)]
    [InlineData("/api/v1/admin/users", true)]
    public async Task An_unknown_charset_is_a_415_not_a_500(string path, bool admin)
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 1m);
        using var client = _gateway.ClientWithKey(admin ? GatewayFactory.AdminKey : key);
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes("{\"name\":\"x\"}"));
        content.Headers.TryAddWithoutValidation("Content-Type", "application/json; charset=bogus");

        var response = await client.PostAsync(path, content);

        await Api.AssertErrorAsync(response, HttpStatusCode.UnsupportedMediaType, "invalid_request_error", "unsupported_media_type");
    }

    [Fact]
    public async Task Generated_hostile_requests_never_get_a_5xx_always_get_the_error_body_and_keep_the_money_exact()
    {
        var count = Count("IGW_HOSTILE_COUNT", 10_000);
        var bigBodies = Count("IGW_HOSTILE_BIG_BODIES", 6);
        var (userId, key) = await _gateway.CreateUserAsync("managed", StartCredits, "hostile");
        using (var admin = _gateway.AdminClient())
        {
            var limits = await admin.PutAsJsonAsync($"/api/v1/admin/users/{userId}/limits",
                new { per_minute = 0, per_hour = 0, per_day = 0, per_month = 0 });
            Assert.Equal(HttpStatusCode.OK, limits.StatusCode);
        }
        using var client = _gateway.CreateClient();
        var tally = new Tally();
        var watch = Stopwatch.StartNew();

        await Request.SampleAsync(async r =>
        {
            using var response = await SendAsync(client, r, key);
            if (await CheckAsync(r, response, tally) is { } failure)
            {
                tally.Failures.Enqueue(failure);
                throw new Xunit.Sdk.XunitException(failure);
            }
        }, iter: count, threads: Math.Max(4, Environment.ProcessorCount * 4), print: r => r.ToString());

        // A handful of 10 MB bodies: JSON-looking, garbage and a giant prompt, at generate and elsewhere.
        var tenMb = 10 * 1024 * 1024;
        var big = new (string Path, byte[] Body)[]
        {
            ("/api/v1/llm/images/generations", Encoding.UTF8.GetBytes("{\"model\":\"builtin-preview\",\"prompt\":\"" + new string('a', tenMb) + "\"}")),
            ("/v1/images/generations", Enumerable.Repeat((byte)'[', tenMb).ToArray()),
            ("/api/v1/llm/image/estimate", new byte[tenMb]),
            ("/api/v1/llm/byok/keys", Encoding.UTF8.GetBytes("{\"provider\":\"openai\",\"api_key\":\"" + new string('k', tenMb) + "\"}")),
            ("/api/v1/keys", Encoding.UTF8.GetBytes("{\"name\":\"" + new string('n', tenMb) + "\"}")),
            ("/api/v1/admin/users", Encoding.UTF8.GetBytes("{\"name\":\"" + new string('n', tenMb) + "\"}")),
        };
        for (var i = 0; i < bigBodies; i++)
        {
            var (path, body) = big[i % big.Length];
            var r = new HostileRequest("POST", path, [$"Bearer {ValidSentinel}"], "application/json", [], body, "10MB");
            using var response = await SendAsync(client, r, key);
            if (await CheckAsync(r, response, tally) is { } failure) tally.Failures.Enqueue(failure);
        }
        watch.Stop();

        var histogram = string.Join(", ", tally.Statuses.OrderBy(p => p.Key).Select(p => $"{p.Key}: {p.Value}"));
        output.WriteLine($"hostile requests: {tally.Sent} ({count} generated + {bigBodies} x 10 MB) in {watch.Elapsed.TotalSeconds:0.0} s");
        output.WriteLine($"status histogram: {histogram}");
        output.WriteLine($"charged responses: {tally.ChargedMc.Count}, charged {tally.ChargedMc.Sum() / 1000m} credits");
        System.Console.WriteLine($"[reliability] hostile: {tally.Sent} requests in {watch.Elapsed.TotalSeconds:0.0} s; statuses {histogram}; " +
                          $"{tally.ChargedMc.Count} charged 200s");
        Assert.True(tally.Failures.IsEmpty, string.Join("\n\n", tally.Failures.Take(5)));
        Assert.True(tally.Sent >= count + bigBodies, $"only {tally.Sent} answers");
        Assert.DoesNotContain(tally.Statuses.Keys, s => s >= 500);
        Assert.True(tally.Statuses.GetValueOrDefault(200) > 0, "no generated request was valid: the generators never reach the pipeline");

        // Still up.
        var health = await client.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("ok", await health.Content.ReadAsStringAsync());

        // Money: the ledger is consistent and the balance is the start minus exactly what the 200s said.
        var ledger = _gateway.Service<CreditLedger>();
        Assert.Empty(await ledger.VerifyAsync(userId));
        var balance = await ledger.GetBalanceAsync(userId);
        Assert.NotNull(balance);
        Assert.Equal(Millicredits.Zero, balance.Reserved);
        Assert.Equal((long)(StartCredits * 1000m) - tally.ChargedMc.Sum(), balance.Total.Value);
    }
}
