using SecureImage.Core.Threading;

namespace SecureImage.Core.Tests.Threading;

/// <summary>Real threads and a real clock with short deadlines: the work blocks on events the test sets, so no assertion depends on speed.</summary>
public sealed class DeadlineWorkTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan Grace = TimeSpan.FromMilliseconds(100);

    // For work that does stop when cancelled: its thread runs at the lowest priority, and on a loaded machine it may
    // wait longer than 100 ms to be scheduled and see its token (CI saw it abandoned once). Abandoning is not under test there.
    private static readonly TimeSpan StoppingGrace = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task Work_that_stops_when_its_deadline_cancels_it_frees_its_slot_and_the_next_work_runs()
    {
        var work = new DeadlineWork(1, Deadline, StoppingGrace, TimeProvider.System, "test-deadline");
        using (var turn = await work.WaitForTurnAsync(CancellationToken.None))
        {
            await Assert.ThrowsAsync<TimeoutException>(() => work.RunAsync(turn, UntilCancelled, _ => { }, CancellationToken.None).WaitAsync(Patience));
        }

        Assert.Equal((0, 0), (work.Running, work.Abandoned));
        using var next = await work.WaitForTurnAsync(CancellationToken.None).WaitAsync(Patience);
        Assert.Equal(42, await work.RunAsync(next, _ => 42, _ => { }, CancellationToken.None).WaitAsync(Patience));
    }

    [Fact]
    public async Task Work_that_ignores_its_deadline_is_abandoned_its_slot_freed_and_its_late_result_discarded()
    {
        var work = new DeadlineWork(1, Deadline, Grace, TimeProvider.System, "test-deadline");
        using var release = new ManualResetEventSlim();
        var discarded = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using (var turn = await work.WaitForTurnAsync(CancellationToken.None))
        {
            await Assert.ThrowsAsync<TimeoutException>(() => work.RunAsync(turn, _ => { release.Wait(); return "late"; }, late => discarded.TrySetResult(late), CancellationToken.None).WaitAsync(Patience));
        }

        // Stuck, but it holds no slot: the next work gets one and runs on a thread of its own.
        Assert.Equal((1, 1), (work.Running, work.Abandoned));
        using (var next = await work.WaitForTurnAsync(CancellationToken.None).WaitAsync(Patience))
        {
            Assert.Equal(7, await work.RunAsync(next, _ => 7, _ => { }, CancellationToken.None).WaitAsync(Patience));
        }

        release.Set();
        Assert.Equal("late", await discarded.Task.WaitAsync(Patience));
        await EventuallyAsync(() => (work.Running, work.Abandoned) == (0, 0));
    }

    [Fact]
    public async Task Beyond_as_many_abandoned_as_slots_a_stuck_work_keeps_its_slot_until_it_ends()
    {
        var work = new DeadlineWork(1, Deadline, Grace, TimeProvider.System, "test-deadline");
        using var release = new ManualResetEventSlim();
        for (var stuck = 0; stuck < 2; stuck++)
        {
            using var turn = await work.WaitForTurnAsync(CancellationToken.None).WaitAsync(Patience);
            await Assert.ThrowsAsync<TimeoutException>(() => work.RunAsync(turn, _ => release.Wait(Timeout.Infinite), _ => { }, CancellationToken.None).WaitAsync(Patience));
        }

        Assert.Equal((2, 1), (work.Running, work.Abandoned));
        var third = work.WaitForTurnAsync(CancellationToken.None);
        await Task.Delay(Deadline + Grace);
        Assert.False(third.IsCompleted, "a second stuck work gave its slot up beyond the bound");

        release.Set();
        using var turnAfter = await third.WaitAsync(Patience);
        await EventuallyAsync(() => (work.Running, work.Abandoned) == (0, 0));
    }

    [Fact]
    public async Task A_caller_that_stops_waiting_cancels_the_work_and_the_slot_returns_when_the_work_ends()
    {
        var work = new DeadlineWork(1, TimeSpan.FromMinutes(5), StoppingGrace, TimeProvider.System, "test-deadline");
        using var caller = new CancellationTokenSource();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task run;
        using (var turn = await work.WaitForTurnAsync(CancellationToken.None))
        {
            run = work.RunAsync(turn, token => { started.SetResult(); return UntilCancelled(token); }, _ => { }, caller.Token);
            await started.Task.WaitAsync(Patience);
            await caller.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(Patience));
        }

        using var next = await work.WaitForTurnAsync(CancellationToken.None).WaitAsync(Patience);
        Assert.Equal(0, work.Abandoned);
    }

    [Fact]
    public async Task A_caller_that_stops_waiting_for_work_that_ignores_its_token_has_it_abandoned_after_the_grace_and_the_slot_goes_on()
    {
        var work = new DeadlineWork(1, TimeSpan.FromMinutes(5), Grace, TimeProvider.System, "test-deadline");
        using var caller = new CancellationTokenSource();
        using var release = new ManualResetEventSlim();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (var turn = await work.WaitForTurnAsync(CancellationToken.None))
        {
            var run = work.RunAsync(turn, _ => { started.SetResult(); release.Wait(Timeout.Infinite); return 0; }, _ => { }, caller.Token);
            await started.Task.WaitAsync(Patience);
            await caller.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(Patience));
        }

        using var next = await work.WaitForTurnAsync(CancellationToken.None).WaitAsync(Patience);
        Assert.Equal((1, 1), (work.Running, work.Abandoned));
        release.Set();
        await EventuallyAsync(() => (work.Running, work.Abandoned) == (0, 0));
    }

    /// <summary>Work that ends only when its token is cancelled, as a decoder that checks its token does.</summary>
    private static int UntilCancelled(CancellationToken token)
    {
        token.WaitHandle.WaitOne();
        token.ThrowIfCancellationRequested();
        return 0;
    }

    private static async Task EventuallyAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition never held");
            await Task.Delay(10);
        }
    }
}
