using ImageGateway.Data;

namespace ImageGateway.Tests.Data;

/// <summary>The in-memory queue in front of one account's ledger writes on PostgreSQL.</summary>
public sealed class KeyedGateTests
{
    [Fact]
    public async Task One_holder_per_key_and_waiters_go_in_arrival_order()
    {
        var gate = new KeyedGate();
        var first = await gate.EnterAsync("a", CancellationToken.None);
        var order = new List<int>();
        var waiters = Enumerable.Range(1, 5).Select(async i =>
        {
            await Task.Delay(i * 20);
            using var turn = await gate.EnterAsync("a", CancellationToken.None);
            lock (order) order.Add(i);
        }).ToArray();
        await Task.Delay(200);
        Assert.Empty(order); // all wait behind the first holder

        first.Dispose();
        await Task.WhenAll(waiters);

        Assert.Equal([1, 2, 3, 4, 5], order);
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
