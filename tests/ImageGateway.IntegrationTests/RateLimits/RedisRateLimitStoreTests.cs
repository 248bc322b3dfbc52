using ImageGateway.Hosting;
using ImageGateway.RateLimits;
using ImageGateway.Tests.Support;
using StackExchange.Redis;

namespace ImageGateway.IntegrationTests.RateLimits;

/// <summary>
/// The Redis counter store against a real Redis (scripts/test.sh): the same contract as the
/// in-process store, one atomic multi-window step, plus counters that expire by themselves.
/// Each test uses its own key prefix, so runs sharing one Redis never see each other's counters.
/// </summary>
public sealed class RedisRateLimitStoreTests : IDisposable
{
    private readonly string _prefix = $"igw-test:{Guid.NewGuid():N}:";
    private ConnectionMultiplexer? _redis;

    public void Dispose()
    {
        if (_redis is null) return;
        var server = _redis.GetServers().First();
        foreach (var key in server.Keys(pattern: _prefix + "*")) _redis.GetDatabase().KeyDelete(key);
        _redis.Dispose();
    }

    private RedisRateLimitStore Store()
    {
        _redis ??= ConnectionMultiplexer.Connect(TestServices.Redis);
        return new RedisRateLimitStore(_redis, _prefix);
    }

    private static IReadOnlyList<WindowLimit> Windows(int minute, int hour, int day = 0, int month = 0) =>
        new EffectiveLimits(minute, hour, day, month, null).Windows(DateTimeOffset.UtcNow);

    private long Counter(RedisRateLimitStore store, string account, WindowLimit window) =>
        (long)_redis!.GetDatabase().StringGet(store.KeyFor(account, window));

    [SkippableFact]
    public async Task Every_window_is_counted_in_one_step_and_a_refusal_counts_nothing()
    {
        var store = Store();
        var windows = Windows(minute: 10, hour: 12, day: 100, month: 1000);

        var first = await store.TryConsumeAsync("acct1", windows, 8, default);
        Assert.True(first.Allowed);
        Assert.All(first.Windows, w => Assert.Equal(8, w.Used));

        // 3 more would fit the hour (11 <= 12) but not the minute (11 > 10): nothing is counted anywhere.
        var refused = await store.TryConsumeAsync("acct1", windows, 3, default);
        Assert.False(refused.Allowed);
        Assert.Equal(WindowKind.Minute, refused.Blocking!.Value.Kind);
        Assert.All(refused.Windows, w => Assert.Equal(8, w.Used));
        Assert.All(windows, w => Assert.Equal(8, Counter(store, "acct1", w)));

        // The hour is the tighter one for 5 more (13 > 12), although the minute has room for 2.
        var hourly = await store.TryConsumeAsync("acct1", Windows(minute: 20, hour: 12), 5, default);
        Assert.False(hourly.Allowed);
        Assert.Equal(WindowKind.Hour, hourly.Blocking!.Value.Kind);

        var rest = await store.TryConsumeAsync("acct1", windows, 2, default);
        Assert.True(rest.Allowed);
        Assert.Equal(0, rest.Tightest!.Value.Remaining);
        Assert.Equal(WindowKind.Minute, rest.Tightest!.Value.Window.Kind);
        Assert.False((await store.TryConsumeAsync("acct1", windows, 1, default)).Allowed);

        // Another account has counters of its own.
        Assert.True((await store.TryConsumeAsync("acct2", windows, 10, default)).Allowed);
    }

    [SkippableFact]
    public async Task Counters_expire_at_the_end_of_their_window()
    {
        var store = Store();
        var windows = Windows(minute: 5, hour: 50, day: 500, month: 5000);
        Assert.True((await store.TryConsumeAsync("acct", windows, 1, default)).Allowed);

        var db = _redis!.GetDatabase();
        foreach (var window in windows)
        {
            var ttl = await db.KeyTimeToLiveAsync(store.KeyFor("acct", window));
            Assert.NotNull(ttl);
            var untilEnd = window.End - DateTimeOffset.UtcNow;
            Assert.InRange(ttl!.Value, untilEnd - TimeSpan.FromSeconds(5), untilEnd + TimeSpan.FromSeconds(1));
        }
    }

    [SkippableFact]
    public async Task A_refund_gives_images_back_but_never_below_zero_and_creates_no_counter()
    {
        var store = Store();
        var windows = Windows(minute: 4, hour: 40);
        Assert.True((await store.TryConsumeAsync("acct", windows, 4, default)).Allowed);
        Assert.False((await store.TryConsumeAsync("acct", windows, 1, default)).Allowed);

        await store.RefundAsync("acct", windows, 3, default);
        Assert.All(windows, w => Assert.Equal(1, Counter(store, "acct", w)));
        Assert.True((await store.TryConsumeAsync("acct", windows, 3, default)).Allowed);

        await store.RefundAsync("acct", windows, 10, default);
        Assert.All(windows, w => Assert.Equal(0, Counter(store, "acct", w)));

        await store.RefundAsync("nobody", windows, 2, default);
        Assert.False(await _redis!.GetDatabase().KeyExistsAsync(store.KeyFor("nobody", windows[0])));
    }

    [SkippableFact]
    public async Task Two_hundred_concurrent_consumers_against_a_twenty_image_window_get_exactly_twenty()
    {
        var first = Store();
        // A second connection, as a second gateway process would have.
        using var other = await ConnectionMultiplexer.ConnectAsync(TestServices.Redis);
        var second = new RedisRateLimitStore(other, _prefix);
        var windows = Windows(minute: 20, hour: 1000);

        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tasks = Enumerable.Range(0, 200).Select(i => Task.Run(async () =>
        {
            await start.Task;
            return await (i % 2 == 0 ? first : second).TryConsumeAsync("busy", windows, 1, default);
        })).ToArray();
        start.SetResult();
        var decisions = await Task.WhenAll(tasks);

        Assert.Equal(20, decisions.Count(d => d.Allowed));
        Assert.Equal(180, decisions.Count(d => !d.Allowed && d.Blocking!.Value.Kind == WindowKind.Minute));
        Assert.Equal(20, Counter(first, "busy", windows[0]));
        Assert.Equal(20, Counter(first, "busy", windows[1]));
    }

    [Fact]
    public void A_missing_configuration_is_a_start_up_error_that_names_the_setting()
    {
        var error = Assert.Throws<InvalidOperationException>(() => RedisRateLimitStore.Connect(new RedisOptions()));
        Assert.Contains("Gateway:Redis:Configuration", error.Message);
        Assert.Contains("Gateway__Redis__Configuration", error.Message);
    }

    [Fact]
    public void An_unreachable_server_is_a_start_up_error_without_the_password()
    {
        var port = FreeLoopbackPort();
        var error = Assert.Throws<InvalidOperationException>(() => RedisRateLimitStore.Connect(
            new RedisOptions { Configuration = $"127.0.0.1:{port},password=hunter2secret,connectTimeout=500,connectRetry=0" }));
        Assert.Contains($"127.0.0.1:{port}", error.Message);
        Assert.Contains("Gateway:Redis:Configuration", error.Message);
        Assert.DoesNotContain("hunter2secret", error.Message);
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
