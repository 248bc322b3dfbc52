using System.Net;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using ImageGateway.Providers;

namespace ImageGateway.Tests.Providers;

/// <summary>
/// Every upstream answer is read once into one array (<see cref="BufferedBody"/>), which the JSON
/// parse then reads in place. A cut-off or oversized body fails as an HttpRequestException, the
/// failure the upstream pipeline retries and reports.
/// </summary>
public sealed class BufferedBodyTests
{
    private static byte[] Bytes(int length) => Enumerable.Range(0, length).Select(i => (byte)(i * 7)).ToArray();

    private static HttpResponseMessage Streamed(byte[] bytes, long? announced, bool seekable = true)
    {
        Stream stream = seekable ? new MemoryStream(bytes) : new OneWayStream(bytes);
        var content = new StreamContent(stream);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        content.Headers.ContentLength = announced;
        return new HttpResponseMessage(HttpStatusCode.OK) { Content = content };
    }

    [Fact]
    public async Task A_body_with_Content_Length_is_read_into_an_array_of_exactly_that_length()
    {
        var bytes = Bytes(55_000);
        using var response = Streamed(bytes, bytes.Length);

        await BufferedBody.LoadAsync(response, 1_000_000, CancellationToken.None);

        var body = Assert.IsType<BufferedBody>(response.Content);
        Assert.Equal(bytes.Length, body.Array.Length);
        Assert.Equal(bytes, body.Memory.ToArray());
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(bytes.Length, response.Content.Headers.ContentLength);
        // Readable again, as many times as an adapter needs.
        Assert.Equal(bytes, await response.Content.ReadAsByteArrayAsync());
        Assert.Equal(bytes, await response.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(16 * 1024)]          // exactly the first step
    [InlineData(16 * 1024 + 1)]
    [InlineData(300_000)]            // several doublings
    public async Task A_chunked_body_without_Content_Length_is_read_whole(int length)
    {
        var bytes = Bytes(length);
        using var response = Streamed(bytes, announced: null, seekable: false);

        await BufferedBody.LoadAsync(response, 1_000_000, CancellationToken.None);

        var body = Assert.IsType<BufferedBody>(response.Content);
        Assert.Equal(length, body.Length);
        Assert.Equal(bytes, body.Memory.ToArray());
        Assert.Equal(length, response.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task A_body_cut_off_before_its_Content_Length_is_an_HttpRequestException()
    {
        using var response = Streamed(Bytes(1000), announced: 5000, seekable: false);

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => BufferedBody.LoadAsync(response, 1_000_000, CancellationToken.None));

        Assert.IsAssignableFrom<IOException>(error.InnerException);
        Assert.IsNotType<BufferedBody>(response.Content);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_body_over_the_limit_is_refused_whether_announced_or_not(bool announced)
    {
        var bytes = Bytes(40_000);
        using var response = Streamed(bytes, announced ? bytes.Length : null, seekable: false);

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => BufferedBody.LoadAsync(response, 39_999, CancellationToken.None));

        Assert.Equal(HttpRequestError.ConfigurationLimitExceeded, error.HttpRequestError);
    }

    [Theory]
    [InlineData(40_000)]
    [InlineData(32 * 1024)] // a limit the growing array meets exactly: it still reads on to the end
    public async Task A_body_exactly_at_the_limit_is_accepted(int length)
    {
        var bytes = Bytes(length);
        using var response = Streamed(bytes, announced: null, seekable: false);

        await BufferedBody.LoadAsync(response, length, CancellationToken.None);

        Assert.Equal(bytes, Assert.IsType<BufferedBody>(response.Content).Memory.ToArray());
    }

    [Fact]
    public async Task Within_a_requests_scope_a_large_body_is_read_into_a_pooled_array_held_until_the_scope_ends()
    {
        var bytes = Bytes(300_000);
        using var response = Streamed(bytes, bytes.Length, seekable: false);
        var scope = BodyBuffers.Begin();
        try
        {
            await BufferedBody.LoadAsync(response, 1_000_000, CancellationToken.None);

            var body = Assert.IsType<BufferedBody>(response.Content);
            Assert.Equal(1, scope.Rented);
            Assert.True(body.Array.Length >= bytes.Length); // a pool bucket, larger than the body
            Assert.Equal(bytes, body.Memory.ToArray());
            Assert.Equal(bytes, await response.Content.ReadAsByteArrayAsync()); // only the body, not the bucket's tail
        }
        finally
        {
            scope.Dispose();
        }
        var late = scope.Rent(100_000); // something that outlived its request never gets a returned array
        Assert.Equal(0, scope.Rented);
        Assert.Equal(100_000, late.Length);
    }

    [Fact]
    public async Task A_chunked_body_in_a_scope_grows_through_pooled_arrays_counted_against_the_budget()
    {
        var bytes = Bytes(300_000);
        using var response = Streamed(bytes, announced: null, seekable: false);
        var budget = new BodyBudget(10_000_000);
        var scope = BodyBuffers.Begin(budget);
        try
        {
            await BufferedBody.LoadAsync(response, 1_000_000, CancellationToken.None);

            Assert.Equal(bytes, Assert.IsType<BufferedBody>(response.Content).Memory.ToArray());
            Assert.Equal(1, scope.Rented); // the arrays it outgrew (64 KB, 128 KB, 256 KB) went back as it grew
            Assert.Equal(512 * 1024, budget.InUse); // only the array it ended in is counted
        }
        finally
        {
            scope.Dispose();
        }
        Assert.Equal(0, budget.InUse);
    }

    [Fact]
    public async Task A_small_body_or_one_outside_any_scope_gets_an_array_of_its_own()
    {
        using var small = Streamed(Bytes(1_000), 1_000, seekable: false);
        using (var scope = BodyBuffers.Begin())
        {
            await BufferedBody.LoadAsync(small, 1_000_000, CancellationToken.None);
            Assert.Equal(0, scope.Rented);
        }
        Assert.Equal(1_000, Assert.IsType<BufferedBody>(small.Content).Array.Length);
    }

    [Fact]
    public async Task The_json_is_parsed_over_the_buffered_array_itself_not_a_copy()
    {
        var bytes = Encoding.UTF8.GetBytes("""{"data":[{"b64_json":"abcd"}]}""");
        using var response = Streamed(bytes, bytes.Length);
        await BufferedBody.LoadAsync(response, 1_000_000, CancellationToken.None);

        var (json, body) = UpstreamText.ReadJson(response);

        using (json)
        {
            Assert.NotNull(json);
            Assert.True(MemoryMarshal.TryGetArray(body, out var segment));
            Assert.Same(((BufferedBody)response.Content).Array, segment.Array);
            Assert.Equal("abcd", json!.RootElement.GetProperty("data")[0].GetProperty("b64_json").GetString());
        }
    }

    [Fact]
    public async Task Cancellation_while_the_body_is_read_is_not_turned_into_a_failed_call()
    {
        using var response = Streamed(Bytes(1000), announced: 1000, seekable: false);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => BufferedBody.LoadAsync(response, 1_000_000, cancelled.Token));
    }

    /// <summary>A network-like stream: not seekable, no length, hands out at most 1,000 bytes a read.</summary>
    private sealed class OneWayStream(byte[] bytes) : Stream
    {
        private int _position;
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = Math.Min(Math.Min(buffer.Length, 1000), bytes.Length - _position);
            bytes.AsSpan(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
        {
            ct.ThrowIfCancellationRequested();
            return ValueTask.FromResult(Read(buffer.Span));
        }
    }
}
