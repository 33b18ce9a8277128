using SecureImage.Core.Retention;
using ControlledClock = Microsoft.Extensions.Time.Testing.FakeTimeProvider;

namespace SecureImage.Core.Tests.Retention;

public sealed class DeletePacerTests
{
    [Fact]
    public void The_first_delete_goes_at_once_and_each_next_one_waits_one_interval_of_the_rate()
    {
        var clock = new ControlledClock();
        var pacer = new DeletePacer(clock, deletesPerSecond: 50);

        Assert.True(pacer.WaitTurnAsync(CancellationToken.None).IsCompleted);
        var second = pacer.WaitTurnAsync(CancellationToken.None);
        var third = pacer.WaitTurnAsync(CancellationToken.None);

        clock.Advance(TimeSpan.FromMilliseconds(19));
        Assert.False(second.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(second.IsCompleted);
        Assert.False(third.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(20));
        Assert.True(third.IsCompleted);
    }

    [Fact]
    public void A_turn_that_is_already_due_when_asked_for_goes_at_once()
    {
        var clock = new ControlledClock();
        var pacer = new DeletePacer(clock, deletesPerSecond: 10);
        Assert.True(pacer.WaitTurnAsync(CancellationToken.None).IsCompleted);

        clock.Advance(TimeSpan.FromSeconds(1));

        // Ten more turns are due by now (one every 100 ms, the last exactly at 1 s): none of them waits.
        for (var i = 0; i < 10; i++)
        {
            Assert.True(pacer.WaitTurnAsync(CancellationToken.None).IsCompleted);
        }

        Assert.False(pacer.WaitTurnAsync(CancellationToken.None).IsCompleted);
    }
}
