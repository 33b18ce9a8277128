using SecureImage.Core.Retention;
using ControlledClock = Microsoft.Extensions.Time.Testing.FakeTimeProvider;

namespace SecureImage.Core.Tests.Retention;

public sealed class SweepDeleteGateTests
{
    private sealed class Requests : IRequestActivity
    {
        public int RequestsInFlight { get; set; }

        public long? LastRequestEndedAt { get; set; }
    }

    [Fact]
    public async Task With_no_request_in_flight_deletes_start_at_once_up_to_the_parallelism()
    {
        await Task.Run(async () =>
        {
            var clock = new ControlledClock();
            var gate = new SweepDeleteGate(new Requests(), clock, parallelism: 3, busyDeletesPerSecond: 5);

            var running = new List<Task<SweepDeleteGate.Turn>>();
            for (var i = 0; i < 3; i++)
            {
                running.Add(gate.EnterAsync(CancellationToken.None));
                Assert.True(running[^1].IsCompleted);
            }

            var fourth = gate.EnterAsync(CancellationToken.None);
            await AdvanceAsync(clock, 100);
            Assert.False(fourth.IsCompleted);

            gate.Exit(await running[0]);
            await CompleteAsync(clock, fourth);
        });
    }

    [Fact]
    public async Task While_requests_are_in_flight_deletes_go_one_at_a_time_each_after_nine_times_the_last_ones_duration_and_no_faster_than_the_busy_rate()
    {
        await Task.Run(async () =>
        {
            var clock = new ControlledClock();
            var started = clock.GetUtcNow();
            var gate = new SweepDeleteGate(new Requests { RequestsInFlight = 4 }, clock, parallelism: 16, busyDeletesPerSecond: 5);

            var first = gate.EnterAsync(CancellationToken.None);
            Assert.True(first.IsCompleted);
            var second = gate.EnterAsync(CancellationToken.None);

            // The first delete is still running after an interval: the second waits for it, then for 9 x its 200 ms.
            await AdvanceAsync(clock, 200);
            Assert.False(second.IsCompleted);
            gate.Exit(await first);
            await AdvanceAsync(clock, 1780);
            Assert.False(second.IsCompleted);
            await CompleteAsync(clock, second);
            var secondAt = clock.GetUtcNow();
            Assert.Equal(TimeSpan.FromMilliseconds(2000), secondAt - started);

            // The third may start no sooner than 200 ms (1 / 5 per second) after the second, even though the second took no time.
            gate.Exit(await second);
            var third = gate.EnterAsync(CancellationToken.None);
            await CompleteAsync(clock, third);
            Assert.Equal(TimeSpan.FromMilliseconds(200), clock.GetUtcNow() - secondAt);
        });
    }

    [Fact]
    public async Task Requests_that_arrive_during_an_idle_burst_wait_for_the_running_deletes_then_get_one_at_a_time()
    {
        await Task.Run(async () =>
        {
            var clock = new ControlledClock();
            var requests = new Requests();
            var gate = new SweepDeleteGate(requests, clock, parallelism: 4, busyDeletesPerSecond: 1000);
            var first = gate.EnterAsync(CancellationToken.None);
            var second = gate.EnterAsync(CancellationToken.None);
            Assert.True(first.IsCompleted && second.IsCompleted);

            requests.RequestsInFlight = 1;
            var next = gate.EnterAsync(CancellationToken.None);
            await AdvanceAsync(clock, 100);
            Assert.False(next.IsCompleted);

            gate.Exit(await first);
            await AdvanceAsync(clock, 100);
            Assert.False(next.IsCompleted);

            gate.Exit(await second);
            await CompleteAsync(clock, next);
        });
    }

    [Fact]
    public async Task When_the_requests_end_the_sweep_returns_to_full_parallelism()
    {
        await Task.Run(async () =>
        {
            var clock = new ControlledClock();
            var requests = new Requests { RequestsInFlight = 2 };
            var gate = new SweepDeleteGate(requests, clock, parallelism: 3, busyDeletesPerSecond: 1);
            Assert.True(gate.EnterAsync(CancellationToken.None).IsCompleted);
            var waiting = gate.EnterAsync(CancellationToken.None);

            requests.RequestsInFlight = 0;
            await CompleteAsync(clock, waiting);
            Assert.True(gate.EnterAsync(CancellationToken.None).IsCompleted);
        });
    }

    [Fact]
    public async Task A_gap_between_requests_shorter_than_the_quiet_period_keeps_the_deletes_one_at_a_time()
    {
        await Task.Run(async () =>
        {
            var clock = new ControlledClock();
            var requests = new Requests { RequestsInFlight = 1 };
            var gate = new SweepDeleteGate(requests, clock, parallelism: 4, busyDeletesPerSecond: 1000);
            Assert.True(gate.EnterAsync(CancellationToken.None).IsCompleted);
            var lastSeenBusy = clock.GetUtcNow();

            // Nothing in flight at this instant: under a steady load that is the gap before the next request, not quiet.
            requests.RequestsInFlight = 0;
            var second = gate.EnterAsync(CancellationToken.None);
            await AdvanceAsync(clock, 900);
            Assert.False(second.IsCompleted);

            await CompleteAsync(clock, second);
            Assert.Equal(SweepDeleteGate.QuietBeforeFullParallelism, clock.GetUtcNow() - lastSeenBusy);

            // Quiet for the whole period: the rest of the parallelism is there at once.
            Assert.True(gate.EnterAsync(CancellationToken.None).IsCompleted);
            Assert.True(gate.EnterAsync(CancellationToken.None).IsCompleted);
        });
    }

    [Fact]
    public async Task A_request_seen_while_waiting_for_the_quiet_period_starts_it_again()
    {
        await Task.Run(async () =>
        {
            var clock = new ControlledClock();
            var requests = new Requests { RequestsInFlight = 1 };
            var gate = new SweepDeleteGate(requests, clock, parallelism: 4, busyDeletesPerSecond: 1000);
            Assert.True(gate.EnterAsync(CancellationToken.None).IsCompleted);

            requests.RequestsInFlight = 0;
            var second = gate.EnterAsync(CancellationToken.None);
            await AdvanceAsync(clock, 600);
            requests.RequestsInFlight = 2;
            await AdvanceAsync(clock, 20);
            requests.RequestsInFlight = 0;
            var lastSeenBusy = clock.GetUtcNow();
            await AdvanceAsync(clock, 600);
            Assert.False(second.IsCompleted);

            await CompleteAsync(clock, second);
            Assert.Equal(SweepDeleteGate.QuietBeforeFullParallelism, clock.GetUtcNow() - lastSeenBusy);
        });
    }

    [Fact]
    public async Task A_request_that_came_and_went_unseen_by_the_gate_still_holds_off_full_parallelism()
    {
        await Task.Run(async () =>
        {
            // As at the start of a sweep run: the gate saw no request itself, but one ended a moment ago.
            var clock = new ControlledClock();
            var requests = new Requests { LastRequestEndedAt = clock.GetTimestamp() };
            var ended = clock.GetUtcNow();
            var gate = new SweepDeleteGate(requests, clock, parallelism: 4, busyDeletesPerSecond: 1000);

            Assert.True(gate.EnterAsync(CancellationToken.None).IsCompleted);
            var second = gate.EnterAsync(CancellationToken.None);
            await CompleteAsync(clock, second);

            Assert.Equal(SweepDeleteGate.QuietBeforeFullParallelism, clock.GetUtcNow() - ended);
        });
    }

    [Fact]
    public async Task The_pause_after_a_busy_delete_that_hung_is_at_most_two_seconds()
    {
        await Task.Run(async () =>
        {
            var clock = new ControlledClock();
            var gate = new SweepDeleteGate(new Requests { RequestsInFlight = 1 }, clock, parallelism: 4, busyDeletesPerSecond: 1000);
            var hung = gate.EnterAsync(CancellationToken.None);
            Assert.True(hung.IsCompleted);

            clock.Advance(TimeSpan.FromMinutes(10));
            gate.Exit(await hung);
            var exited = clock.GetUtcNow();
            await CompleteAsync(clock, gate.EnterAsync(CancellationToken.None));

            Assert.Equal(SweepDeleteGate.MaxBusyPause, clock.GetUtcNow() - exited);
        });
    }

    [Fact]
    public async Task A_delete_of_an_idle_burst_sets_no_pause_for_the_busy_ones_after_it()
    {
        await Task.Run(async () =>
        {
            var clock = new ControlledClock();
            var requests = new Requests();
            var gate = new SweepDeleteGate(requests, clock, parallelism: 4, busyDeletesPerSecond: 1000);
            var burst = gate.EnterAsync(CancellationToken.None);
            Assert.True(burst.IsCompleted);

            // It waited behind its siblings for half a second: 9 x that says nothing about the store.
            await AdvanceAsync(clock, 500);
            requests.RequestsInFlight = 1;
            gate.Exit(await burst);

            Assert.True(gate.EnterAsync(CancellationToken.None).IsCompleted);
        });
    }

    [Fact]
    public async Task A_waiting_delete_is_cancelled_with_the_sweep()
    {
        await Task.Run(async () =>
        {
            var clock = new ControlledClock();
            var gate = new SweepDeleteGate(new Requests { RequestsInFlight = 1 }, clock, parallelism: 2, busyDeletesPerSecond: 5);
            var running = gate.EnterAsync(CancellationToken.None);
            Assert.True(running.IsCompleted);
            using var cancel = new CancellationTokenSource();
            var waiting = gate.EnterAsync(cancel.Token);

            await cancel.CancelAsync();

            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(30)));
            // The turnstile was released: once the running delete ends and the interval passed, the next one goes.
            gate.Exit(await running);
            await CompleteAsync(clock, gate.EnterAsync(CancellationToken.None));
        });
    }

    // The tests run off xunit's synchronization context (Task.Run), so a waiter woken by the clock runs inside
    // Advance: after each step the gate's state is settled, and no step depends on the machine's speed.
    private static Task AdvanceAsync(ControlledClock clock, int milliseconds)
    {
        for (var elapsed = 0; elapsed < milliseconds; elapsed += (int)SweepDeleteGate.PollInterval.TotalMilliseconds)
        {
            clock.Advance(SweepDeleteGate.PollInterval);
        }

        return Task.CompletedTask;
    }

    private static async Task CompleteAsync(ControlledClock clock, Task entering)
    {
        for (var step = 0; !entering.IsCompleted; step++)
        {
            Assert.True(step < 1000, "the delete never got its turn");
            clock.Advance(SweepDeleteGate.PollInterval);
        }

        await entering;
    }
}
