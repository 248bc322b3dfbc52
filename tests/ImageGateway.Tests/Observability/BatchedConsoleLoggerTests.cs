using System.Text;
using ImageGateway.Observability;
using ImageGateway.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ImageGateway.Tests.Observability;

/// <summary>The console logger that writes lines in batches (BatchedConsoleLoggerProvider).</summary>
public sealed class BatchedConsoleLoggerTests
{
    /// <summary>A stdout stand-in that counts write calls.</summary>
    private sealed class CountingStream : MemoryStream
    {
        private int _writes;
        public int Writes => Volatile.Read(ref _writes);
        public string Text { get { lock (this) return Encoding.UTF8.GetString(ToArray()); } }

        public override void Write(byte[] buffer, int offset, int count)
        {
            lock (this) base.Write(buffer, offset, count);
            Interlocked.Increment(ref _writes);
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            lock (this) base.Write(buffer);
            Interlocked.Increment(ref _writes);
        }
    }

    [Fact]
    public void Lines_are_written_in_the_stock_console_format_with_multi_line_text_and_exceptions_indented()
    {
        var stdout = new CountingStream();
        using (var provider = new BatchedConsoleLoggerProvider(stdout, TimeSpan.FromSeconds(30)))
        {
            var logger = provider.CreateLogger("Some.Category");
            logger.LogInformation(new EventId(7), "first {Value}", 42);
            logger.LogWarning("two\nlines");
            logger.LogError(new InvalidOperationException("boom"), "failed");
            Assert.Equal(0, stdout.Writes); // nothing yet: the batch waits for its interval
        }

        var text = stdout.Text;
        Assert.StartsWith("info: Some.Category[7]\n      first 42\nwarn: Some.Category[0]\n      two\n      lines\nfail: Some.Category[0]\n      failed\n      System.InvalidOperationException: boom\n", text);
    }

    [Fact]
    public async Task Thousands_of_lines_from_many_threads_all_arrive_whole_in_a_few_writes()
    {
        var stdout = new CountingStream();
        using var provider = new BatchedConsoleLoggerProvider(stdout, TimeSpan.FromMilliseconds(200));
        var logger = provider.CreateLogger("Load");

        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < 500; i++) logger.LogInformation("thread {Thread} line {Line}", t, i);
        })));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (stdout.Text.Split('\n').Length < 8_001 && DateTime.UtcNow < deadline) await Task.Delay(20);

        var lines = stdout.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4000, lines.Count(l => l == "info: Load[0]"));
        var messages = lines.Where(l => l.StartsWith("      thread ", StringComparison.Ordinal)).ToHashSet();
        Assert.Equal(4000, messages.Count);
        Assert.Contains("      thread 7 line 499", messages);
        // One write per line would be 4,000 calls; a batch goes out in 32 KB writes.
        Assert.InRange(stdout.Writes, 1, 100);
    }

    [Fact]
    public void Scopes_are_printed_like_the_stock_formatter_does_only_when_asked_for()
    {
        foreach (var include in new[] { false, true })
        {
            var stdout = new CountingStream();
            using (var provider = new BatchedConsoleLoggerProvider(stdout, TimeSpan.FromSeconds(30), includeScopes: include))
            using (var factory = LoggerFactory.Create(b => b.AddProvider(provider)))
            {
                var logger = factory.CreateLogger("Scoped");
                using (logger.BeginScope("RequestId:{RequestId}", "req_1"))
                using (logger.BeginScope("inner"))
                    logger.LogInformation("inside");
                logger.LogInformation("outside");
            }
            var expected = include
                ? "info: Scoped[0]\n      => RequestId:req_1 => inner\n      inside\ninfo: Scoped[0]\n      outside\n"
                : "info: Scoped[0]\n      inside\ninfo: Scoped[0]\n      outside\n";
            Assert.Equal(expected, stdout.Text);
        }
    }

    [Fact]
    public void After_disposal_a_line_is_written_at_once()
    {
        var stdout = new CountingStream();
        var provider = new BatchedConsoleLoggerProvider(stdout, TimeSpan.FromSeconds(30));
        var logger = provider.CreateLogger("Late");
        provider.Dispose();

        logger.LogWarning("after shutdown");

        Assert.Contains("warn: Late[0]\n      after shutdown\n", stdout.Text);
    }

    [Fact]
    public void The_gateway_uses_it_in_place_of_the_stock_console_logger()
    {
        using var gateway = new GatewayFactory();
        _ = gateway.CreateClient();

        var providers = gateway.Services.GetServices<ILoggerProvider>().ToList();

        Assert.Contains(providers, p => p is BatchedConsoleLoggerProvider);
        Assert.DoesNotContain(providers, p => p is Microsoft.Extensions.Logging.Console.ConsoleLoggerProvider);
    }
}
