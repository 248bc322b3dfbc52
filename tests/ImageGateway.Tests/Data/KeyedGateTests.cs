using ImageGateway.Data;

namespace ImageGateway.Tests.Data;

/// <summary>The in-memory queue in front of one account's ledger writes on PostgreSQL.</summary>
public sealed class KeyedGateTests
{
    [Fact]
    public async Task One_holder_per_key_and_waiters_go_in_arrival_order()
    {
        var gate = new KeyedGate();
        var holder = await gate.EnterAsync("a", CancellationToken.None);
        // Each waiter joins the queue when EnterAsync is called, so this loop fixes the arrival order.
        var waiting = Enumerable.Range(0, 5).Select(_ => gate.EnterAsync("a", CancellationToken.None).AsTask()).ToArray();
        await Task.Delay(100);
        Assert.All(waiting, w => Assert.False(w.IsCompleted)); // all wait behind the holder

        holder.Dispose();
        for (var i = 0; i < waiting.Length; i++)
        {
            var turn = await waiting[i].WaitAsync(TimeSpan.FromSeconds(5)); // the next in line gets the turn...
            Assert.All(waiting.Skip(i + 1), w => Assert.False(w.IsCompleted)); // ...and nobody behind it
            turn.Dispose();
        }

        Assert.Equal(0, gate.ActiveKeys); // nothing kept once nobody holds or waits
    }

    [Fact]
    public async Task Other_keys_do_not_wait()
    {
        var gate = new KeyedGate();
        using var a = await gate.EnterAsync("a", CancellationToken.None);

        var b = gate.EnterAsync("b", CancellationToken.None);

        Assert.True(b.IsCompleted);
        (await b).Dispose();
        Assert.Equal(1, gate.ActiveKeys);
    }

    [Fact]
    public async Task A_cancelled_waiter_leaves_the_queue_without_a_turn()
    {
        var gate = new KeyedGate();
        var holder = await gate.EnterAsync("a", CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var waiting = gate.EnterAsync("a", cancel.Token).AsTask();

        cancel.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        holder.Dispose();
        Assert.Equal(0, gate.ActiveKeys);
        using var next = await gate.EnterAsync("a", CancellationToken.None); // the key is free again
    }
}
