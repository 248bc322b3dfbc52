using Microsoft.Extensions.Time.Testing;

namespace ImageGateway.Tests.Support;

/// <summary>
/// The gateway's clock in tests: its time stands still until the test moves it, but its timers run
/// in real time, so upstream timeouts and retry back-off still happen while a circuit's break or a
/// key's expiry passes the moment the test advances the clock.
/// </summary>
public sealed class TestClock(DateTimeOffset start) : FakeTimeProvider(start)
{
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        System.CreateTimer(callback, state, dueTime, period);
}
