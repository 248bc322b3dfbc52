namespace ImageGateway.IntegrationTests.Support;

/// <summary>
/// The gateway's rate-limit windows are calendar minutes (UTC, the same clock as the gateway
/// process on this machine). A test that fills a window and then expects a refusal must do both
/// inside one minute, or the second half lands in a fresh window and is allowed.
/// </summary>
public static class MinuteWindow
{
    /// <summary>Returns at once when at least <paramref name="needed"/> is left of the current minute; otherwise waits for the next one to start.</summary>
    public static async Task EnsureLeftAsync(TimeSpan needed)
    {
        if (needed > TimeSpan.FromSeconds(50)) throw new ArgumentOutOfRangeException(nameof(needed), "a minute window cannot promise more than 50 s");
        var now = DateTimeOffset.UtcNow;
        var left = TimeSpan.FromSeconds(60 - now.Second) - TimeSpan.FromMilliseconds(now.Millisecond);
        if (left < needed) await Task.Delay(left + TimeSpan.FromMilliseconds(300));
    }
}
