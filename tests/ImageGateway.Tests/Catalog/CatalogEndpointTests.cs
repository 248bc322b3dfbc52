using System.Net;
using System.Text.Json;
using ImageGateway.Tests.Support;

namespace ImageGateway.Tests.Catalog;

/// <summary>GET /image/models (gateway catalog) and GET /models (OpenAI list format).</summary>
public sealed class CatalogEndpointTests : IDisposable
{
    private static readonly string[] AllModels =
        ["builtin-preview", "dall-e-2", "dall-e-3", "flux-1.1-pro", "flux-2-pro", "flux-schnell", "gemini-3-pro-image", "gemini-3.1-flash-image",
         "gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5", "gpt-image-2", "stable-diffusion-3", "stable-diffusion-xl"];

    private readonly GatewayFactory _gateway = new GatewayFactory().WithoutUpstreamKeys();

    public void Dispose() => _gateway.Dispose();

    private static JsonElement Model(JsonElement catalog, string id) =>
        catalog.GetProperty("data").EnumerateArray().Single(m => m.Str("id") == id);

    [Theory]
    [InlineData("/api/v1/llm/image/models")]
    [InlineData("/v1/image/models")]
    public async Task Image_models_apply_the_free_tier_multiplier_to_your_prices(string path)
    {
        var (_, key) = await _gateway.CreateUserAsync("free", 10m);
        using var client = _gateway.ClientWithKey(key);

        var catalog = await (await client.GetAsync(path)).OkJsonAsync();

        var dalle3 = Model(catalog, "dall-e-3");
        Assert.Equal(40m, dalle3.GetProperty("base_prices").GetProperty("standard").Dec("1024x1024"));
        Assert.Equal(60m, dalle3.GetProperty("your_prices").GetProperty("standard").Dec("1024x1024"));
        Assert.Equal(120m, dalle3.GetProperty("base_prices").GetProperty("hd").Dec("1792x1024"));
        Assert.Equal(180m, dalle3.GetProperty("your_prices").GetProperty("hd").Dec("1792x1024"));
        Assert.Equal(["1024x1024", "1792x1024", "1024x1792"], dalle3.GetProperty("sizes").EnumerateArray().Select(s => s.GetString()!).ToArray());
        Assert.Equal(["vivid", "natural"], dalle3.GetProperty("styles").EnumerateArray().Select(s => s.GetString()!).ToArray());
        Assert.Equal(4000, dalle3.GetProperty("max_prompt_length").GetInt32());
        Assert.Equal("free", dalle3.Str("tier"));

        var dalle2 = Model(catalog, "dall-e-2");
        Assert.Equal(27m, dalle2.GetProperty("your_prices").GetProperty("standard").Dec("1024x1024")); // 18 × 1.5
        Assert.Empty(dalle2.GetProperty("styles").EnumerateArray());

        var builtin = Model(catalog, "builtin-preview");
        Assert.Equal(1m, builtin.GetProperty("base_prices").GetProperty("standard").Dec("256x256"));
        Assert.Equal(1.5m, builtin.GetProperty("your_prices").GetProperty("standard").Dec("1024x1792"));
        Assert.Equal("per_image", builtin.Str("pricing"));
        Assert.False(builtin.TryGetProperty("rates", out _));
    }

    [Fact]
    public async Task Image_models_show_per_token_rates_estimates_and_holds_and_who_serves_a_retired_model()
    {
        var (_, key) = await _gateway.CreateUserAsync("free", 10m);
        using var client = _gateway.ClientWithKey(key);

        var catalog = await (await client.GetAsync("/v1/image/models")).OkJsonAsync();

        var gpt = Model(catalog, "gpt-image-2");
        Assert.Equal("per_token", gpt.Str("pricing"));
        Assert.Equal("gpt-image", gpt.Str("family"));
        Assert.Equal((5000m, 8000m, 30000m), (gpt.GetProperty("rates").Dec("text_input"), gpt.GetProperty("rates").Dec("image_input"), gpt.GetProperty("rates").Dec("image_output")));
        Assert.Equal((7500m, 12000m, 45000m), (gpt.GetProperty("your_rates").Dec("text_input"), gpt.GetProperty("your_rates").Dec("image_input"), gpt.GetProperty("your_rates").Dec("image_output")));
        // One medium 1024x1024 image: 1,767 output tokens × 30 = 53.01 credits; ×1.5 = 79.515; held with 25 % more: 2,209 × 30 × 1.5 = 99.405.
        Assert.Equal(53.01m, gpt.GetProperty("base_prices").GetProperty("medium").Dec("1024x1024"));
        Assert.Equal(79.515m, gpt.GetProperty("your_prices").GetProperty("medium").Dec("1024x1024"));
        Assert.Equal(99.405m, gpt.GetProperty("your_max_prices").GetProperty("medium").Dec("1024x1024"));
        // auto is priced as the largest listed size, 1536x1024: high 7,033 × 1.5 → 10,550 tokens × 30 = 316.5 credits.
        Assert.Equal(316.5m, gpt.GetProperty("base_prices").GetProperty("auto").Dec("auto"));
        Assert.Equal(["auto", "1024x1024", "1536x1024", "1024x1536"], gpt.GetProperty("sizes").EnumerateArray().Select(s => s.GetString()!).ToArray());
        Assert.Equal(16, gpt.GetProperty("custom_sizes").GetProperty("multiple_of").GetInt32());
        Assert.Equal(["png", "jpeg", "webp"], gpt.GetProperty("output_formats").EnumerateArray().Select(s => s.GetString()!).ToArray());
        Assert.False(gpt.TryGetProperty("served_by", out _));
        Assert.Equal((true, false, true), (gpt.GetProperty("edits").GetBoolean(), gpt.GetProperty("variations").GetBoolean(), gpt.GetProperty("streaming").GetBoolean()));
        var builtin = Model(catalog, "builtin-preview");
        Assert.Equal((true, true, true), (builtin.GetProperty("edits").GetBoolean(), builtin.GetProperty("variations").GetBoolean(), builtin.GetProperty("streaming").GetBoolean()));
        Assert.False(Model(catalog, "dall-e-3").GetProperty("edits").GetBoolean());

        Assert.Equal("gpt-image-2", Model(catalog, "dall-e-3").Str("served_by"));
        Assert.Equal("per_image", Model(catalog, "dall-e-3").Str("pricing"));
        Assert.Equal("gpt-image-2", Model(catalog, "gpt-image-1").Str("served_by"));
        Assert.Equal("per_token", Model(catalog, "gpt-image-1").Str("pricing"));
    }

    [Fact]
    public async Task Image_models_apply_the_managed_multiplier_to_your_prices()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);

        var catalog = await (await client.GetAsync("/api/v1/llm/image/models")).OkJsonAsync();

        Assert.Equal(48m, Model(catalog, "dall-e-3").GetProperty("your_prices").GetProperty("standard").Dec("1024x1024"));
        Assert.Equal(96m, Model(catalog, "dall-e-3").GetProperty("your_prices").GetProperty("hd").Dec("1024x1024"));
        Assert.Equal(21.6m, Model(catalog, "dall-e-2").GetProperty("your_prices").GetProperty("standard").Dec("1024x1024"));
        Assert.Equal(6m, Model(catalog, "stable-diffusion-xl").GetProperty("your_prices").GetProperty("standard").Dec("1024x1024"));
        Assert.Equal(1.2m, Model(catalog, "builtin-preview").GetProperty("your_prices").GetProperty("standard").Dec("512x512"));
    }

    [Fact]
    public async Task Only_builtin_preview_is_available_without_upstream_keys()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);

        var catalog = await (await client.GetAsync("/api/v1/llm/image/models")).OkJsonAsync();

        var ids = catalog.GetProperty("data").EnumerateArray().Select(m => m.Str("id")).OrderBy(i => i, StringComparer.Ordinal).ToArray();
        Assert.Equal(AllModels, ids);
        foreach (var model in catalog.GetProperty("data").EnumerateArray())
            Assert.Equal(model.Str("id") == "builtin-preview", model.GetProperty("available").GetBoolean());
        Assert.Equal(["builtin"], Model(catalog, "builtin-preview").GetProperty("providers").EnumerateArray().Select(p => p.GetString()!).ToArray());
    }

    [Theory]
    [InlineData("/v1/models")]
    [InlineData("/api/v1/llm/models")]
    public async Task Models_uses_the_openai_list_format(string path)
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);

        var list = await (await client.GetAsync(path)).OkJsonAsync();

        Assert.Equal("list", list.Str("object"));
        var data = list.GetProperty("data").EnumerateArray().ToArray();
        Assert.Equal(AllModels, data.Select(m => m.Str("id")).OrderBy(i => i, StringComparer.Ordinal).ToArray());
        foreach (var model in data)
        {
            Assert.Equal(["created", "id", "object", "owned_by"], model.Names());
            Assert.Equal("model", model.Str("object"));
            Assert.Equal(JsonValueKind.Number, model.GetProperty("created").ValueKind);
            Assert.True(model.GetProperty("created").TryGetInt64(out var created) && created > 0);
            Assert.False(string.IsNullOrEmpty(model.Str("owned_by")));
        }
        Assert.Equal("openai", data.Single(m => m.Str("id") == "dall-e-3").Str("owned_by"));
        Assert.Equal("stability", data.Single(m => m.Str("id") == "stable-diffusion-xl").Str("owned_by"));
    }

    [Theory]
    [InlineData("/v1/models/")]
    [InlineData("/api/v1/llm/models/")]
    public async Task One_model_is_retrieved_in_the_openai_model_format(string prefix)
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);

        var model = await (await client.GetAsync(prefix + "dall-e-3")).OkJsonAsync();

        Assert.Equal(["created", "id", "object", "owned_by"], model.Names());
        Assert.Equal("dall-e-3", model.Str("id"));
        Assert.Equal("model", model.Str("object"));
        Assert.Equal("openai", model.Str("owned_by"));
        var list = await (await client.GetAsync("/v1/models")).OkJsonAsync();
        Assert.Equal(list.GetProperty("data").EnumerateArray().Single(m => m.Str("id") == "dall-e-3").GetRawText(), model.GetRawText());
    }

    [Fact]
    public async Task An_unknown_model_is_openais_404_naming_the_available_ones()
    {
        var (_, key) = await _gateway.CreateUserAsync("managed", 10m);
        using var client = _gateway.ClientWithKey(key);

        var response = await client.GetAsync("/v1/models/dall-e-9");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal("model_not_found", error.Str("code"));
        Assert.Equal("invalid_request_error", error.Str("type"));
        Assert.Equal("model", error.Str("param"));
        Assert.Contains("dall-e-9", error.Str("message"));
        Assert.Contains("builtin-preview", error.Str("message"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await _gateway.CreateClient().GetAsync("/v1/models/dall-e-3")).StatusCode);
    }
}
