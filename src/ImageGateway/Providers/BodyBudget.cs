namespace ImageGateway.Providers;

/// <summary>
/// The bytes of upstream image answers the process holds at once (<c>Gateway:BodyBudgetBytes</c>).
/// A request whose answer does not fit waits, first come first served, until earlier requests have
/// written theirs; it never fails for it. The upstream's answer meanwhile stays in the socket, where
/// TCP holds it back. A request that already holds part of the budget is never made to wait for
/// more (its other images are let through, over the budget), so requests that each hold a part can
/// not wait on each other forever: memory stays bounded by the budget plus one request's answers.
/// </summary>
public sealed class BodyBudget(long bytes)
{
    private readonly Lock _lock = new();
    private readonly LinkedList<Waiter> _waiting = [];
    private long _inUse;
    private long _waits;

    public long Bytes { get; } = bytes;

    /// <summary>Bytes taken now; can be above <see cref="Bytes"/> by the overdrafts described above.</summary>
    public long InUse
    {
        get { lock (_lock) return _inUse; }
    }

    public int Waiting
    {
        get { lock (_lock) return _waiting.Count; }
    }

    /// <summary>Answers that have had to wait, since the start.</summary>
    public long Waits => Interlocked.Read(ref _waits);

    /// <summary>One request's share: what it holds, given back all at once when it is done.</summary>
    public sealed class Holder
    {
        internal long Held;
    }

    /// <summary>
    /// Takes <paramref name="amount"/> bytes for <paramref name="holder"/>, waiting while they do not
    /// fit (an answer larger than the whole budget waits until it is alone) and the holder holds
    /// nothing yet. Only <paramref name="ct"/> ends a wait.
    /// </summary>
    public ValueTask TakeAsync(Holder holder, long amount, CancellationToken ct)
    {
        Waiter waiter;
        lock (_lock)
        {
            if (holder.Held > 0 || (_waiting.Count == 0 && Fits(amount)))
            {
                Admit(holder, amount);
                return ValueTask.CompletedTask;
            }
            waiter = new Waiter(holder, amount);
            waiter.Node = _waiting.AddLast(waiter);
            _waits++;
        }
        return new ValueTask(WaitAsync(waiter, ct));
    }

    /// <summary>Takes <paramref name="amount"/> without waiting, over the budget if need be: for a request that already holds its answer.</summary>
    public void Overdraw(Holder holder, long amount)
    {
        lock (_lock) Admit(holder, amount);
    }

    /// <summary>Gives back everything <paramref name="holder"/> holds, and lets in whoever fits now.</summary>
    public void GiveBack(Holder holder) => GiveBack(holder, long.MaxValue);

    /// <summary>Gives back <paramref name="amount"/> of what <paramref name="holder"/> holds (at most all of it).</summary>
    public void GiveBack(Holder holder, long amount)
    {
        List<Waiter> admitted = [];
        lock (_lock)
        {
            var given = Math.Min(amount, holder.Held);
            _inUse -= given;
            holder.Held -= given;
            // In order: the first waiter that does not fit stops the ones behind it, so a large answer
            // is not starved; but a waiter whose request was let in meanwhile (its other image) goes too.
            var stopped = false;
            for (var node = _waiting.First; node is not null;)
            {
                var next = node.Next;
                var waiter = node.Value;
                if (waiter.Holder.Held > 0 || (!stopped && Fits(waiter.Amount)))
                {
                    Admit(waiter.Holder, waiter.Amount);
                    _waiting.Remove(node);
                    waiter.Node = null;
                    admitted.Add(waiter);
                    // Admitting this one may have let in an earlier waiter of the same request: look again.
                    next = _waiting.First;
                }
                else stopped = true;
                node = next;
            }
        }
        foreach (var waiter in admitted) waiter.Admitted.TrySetResult();
    }

    private void Admit(Holder holder, long amount)
    {
        holder.Held += amount;
        _inUse += amount;
    }

    private bool Fits(long amount) => _inUse == 0 || amount <= Bytes - _inUse;

    private async Task WaitAsync(Waiter waiter, CancellationToken ct)
    {
        await using var registration = ct.Register(() =>
        {
            bool removed;
            lock (_lock)
            {
                removed = waiter.Node is not null;
                if (removed) _waiting.Remove(waiter.Node!);
                waiter.Node = null;
            }
            if (removed) waiter.Admitted.TrySetCanceled(ct);
        });
        // Cancelled only while still queued (under the lock), so a cancelled waiter never holds bytes.
        await waiter.Admitted.Task;
    }

    private sealed class Waiter(Holder holder, long amount)
    {
        public Holder Holder { get; } = holder;
        public long Amount { get; } = amount;
        public LinkedListNode<Waiter>? Node { get; set; }
        public TaskCompletionSource Admitted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
