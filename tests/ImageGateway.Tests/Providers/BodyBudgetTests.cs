using ImageGateway.Providers;

namespace ImageGateway.Tests.Providers;

/// <summary>
/// The process-wide budget for upstream answers in memory: what does not fit waits, in order, and
/// only a caller going away ends a wait; a request that holds part of it is never made to wait.
/// </summary>
public sealed class BodyBudgetTests
{
    private static readonly TimeSpan Soon = TimeSpan.FromMilliseconds(100);

    [Fact]
    public async Task What_fits_is_taken_at_once_and_given_back_whole()
    {
        var budget = new BodyBudget(1000);
        var (a, b) = (new BodyBudget.Holder(), new BodyBudget.Holder());

        await budget.TakeAsync(a, 600, default);
        await budget.TakeAsync(b, 400, default);

        Assert.Equal(1000, budget.InUse);
        budget.GiveBack(a);
        Assert.Equal(400, budget.InUse);
        budget.GiveBack(b);
        Assert.Equal(0, budget.InUse);
        Assert.Equal(0, budget.Waits);
    }

    [Fact]
    public async Task What_does_not_fit_waits_until_room_is_given_back_then_goes_in_order()
    {
        var budget = new BodyBudget(1000);
        var (first, second, third) = (new BodyBudget.Holder(), new BodyBudget.Holder(), new BodyBudget.Holder());
        await budget.TakeAsync(first, 800, default);

        var secondIn = budget.TakeAsync(second, 500, default).AsTask();
        var thirdIn = budget.TakeAsync(third, 100, default).AsTask(); // would fit, but waits behind the second

        await Task.Delay(Soon);
        Assert.False(secondIn.IsCompleted);
        Assert.False(thirdIn.IsCompleted);
        Assert.Equal(2, budget.Waiting);

        budget.GiveBack(first);
        await Task.WhenAll(secondIn, thirdIn).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(600, budget.InUse);
        Assert.Equal(2, budget.Waits);
    }

    [Fact]
    public async Task An_answer_larger_than_the_whole_budget_goes_in_alone_rather_than_never()
    {
        var budget = new BodyBudget(1000);
        var (small, large) = (new BodyBudget.Holder(), new BodyBudget.Holder());
        await budget.TakeAsync(small, 10, default);

        var largeIn = budget.TakeAsync(large, 5000, default).AsTask();
        await Task.Delay(Soon);
        Assert.False(largeIn.IsCompleted);

        budget.GiveBack(small);
        await largeIn.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(5000, budget.InUse);
    }

    [Fact]
    public async Task A_request_that_holds_part_of_the_budget_is_never_made_to_wait_for_its_other_images()
    {
        var budget = new BodyBudget(1000);
        var (request, other) = (new BodyBudget.Holder(), new BodyBudget.Holder());
        await budget.TakeAsync(request, 900, default);
        var otherIn = budget.TakeAsync(other, 900, default).AsTask();

        // Its second image does not fit and someone is queued, yet it goes in: waiting here could wait forever.
        var secondImage = budget.TakeAsync(request, 900, default);

        Assert.True(secondImage.IsCompletedSuccessfully);
        Assert.Equal(1800, budget.InUse);
        budget.GiveBack(request);
        await otherIn.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(900, budget.InUse);
    }

    [Fact]
    public async Task When_a_waiting_request_is_let_in_its_other_queued_images_go_in_with_it()
    {
        var budget = new BodyBudget(1000);
        var (holder, request) = (new BodyBudget.Holder(), new BodyBudget.Holder());
        await budget.TakeAsync(holder, 1000, default);
        var first = budget.TakeAsync(request, 600, default).AsTask();
        var second = budget.TakeAsync(request, 600, default).AsTask(); // queued before the request held anything

        budget.GiveBack(holder);

        await Task.WhenAll(first, second).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(1200, budget.InUse);
    }

    [Fact]
    public async Task A_caller_that_goes_away_leaves_the_queue_and_holds_nothing()
    {
        var budget = new BodyBudget(1000);
        var (holder, leaving, next) = (new BodyBudget.Holder(), new BodyBudget.Holder(), new BodyBudget.Holder());
        await budget.TakeAsync(holder, 1000, default);
        using var gone = new CancellationTokenSource();
        var leavingIn = budget.TakeAsync(leaving, 1000, gone.Token).AsTask();
        var nextIn = budget.TakeAsync(next, 1000, default).AsTask();

        await gone.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => leavingIn);
        Assert.Equal(1, budget.Waiting);

        budget.GiveBack(holder);
        await nextIn.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(1000, budget.InUse);
        budget.GiveBack(leaving); // holds nothing: gives back nothing
        Assert.Equal(1000, budget.InUse);
    }

    [Fact]
    public async Task Within_a_request_scope_rented_arrays_count_against_the_budget_until_the_scope_ends()
    {
        var budget = new BodyBudget(300_000);
        var scope = BodyBuffers.Begin(budget);
        var first = await scope.RentAsync(200_000);
        scope.Rent(200_000); // an overdraft: this request already holds its answer
        // The pool's arrays are 256 KiB for 200,000 bytes, and that is what the budget counts.
        Assert.Equal(262_144, first.Length);
        Assert.Equal(2 * 262_144, budget.InUse);

        scope.Dispose();

        Assert.Equal(0, budget.InUse);
        scope.Rent(100_000); // outlived its request: an array of its own, and the budget untouched
        Assert.Equal(0, budget.InUse);
    }

    [Theory]
    [InlineData(1, 16)]
    [InlineData(65_536, 65_536)]
    [InlineData(65_537, 131_072)]
    [InlineData(2_641_446, 4_194_304)]
    public void The_budget_counts_the_length_of_the_array_the_pool_hands_out(int asked, long counted)
    {
        Assert.Equal(counted, BodyBuffers.PooledLength(asked));
        var array = System.Buffers.ArrayPool<byte>.Shared.Rent(asked);
        Assert.Equal(counted, array.Length);
        System.Buffers.ArrayPool<byte>.Shared.Return(array);
    }
}
