namespace ImageGateway.Data;

/// <summary>A write waiting in <see cref="SqliteGroupCommitter"/>'s queue, and the task its caller awaits.</summary>
internal abstract class PendingWrite(bool deferred, bool counted, CancellationToken cancellation)
{
    public bool Deferred { get; } = deferred;
    /// <summary>False for a flush: it commits other writes and is not one itself.</summary>
    public bool Counted { get; } = counted;
    public CancellationToken Cancellation { get; } = cancellation;
    public abstract Task RunAsync(WriteScope scope);
    public abstract void Complete();
    public abstract void Fail(Exception error);
}

internal sealed class PendingWrite<T>(Func<WriteScope, Task<T>> write, bool deferred, bool counted, CancellationToken cancellation)
    : PendingWrite(deferred, counted, cancellation)
{
    private readonly TaskCompletionSource<T> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private T? _value;

    public Task<T> Result => _result.Task;

    public override async Task RunAsync(WriteScope scope) => _value = await write(scope);

    public override void Complete() => _result.TrySetResult(_value!);

    public override void Fail(Exception error)
    {
        if (error is OperationCanceledException canceled) _result.TrySetCanceled(canceled.CancellationToken);
        else _result.TrySetException(error);
    }
}
