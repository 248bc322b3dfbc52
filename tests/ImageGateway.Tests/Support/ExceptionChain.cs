namespace ImageGateway.Tests.Support;

public static class ExceptionChain
{
    /// <summary>The exception and every exception inside it (inner and aggregated), depth first.</summary>
    public static IEnumerable<Exception> Flatten(this Exception e)
    {
        yield return e;
        var inner = e is AggregateException a ? a.InnerExceptions : e.InnerException is { } i ? [i] : [];
        foreach (var child in inner)
        foreach (var x in Flatten(child))
            yield return x;
    }
}
