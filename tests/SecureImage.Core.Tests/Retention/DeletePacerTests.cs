using System.Diagnostics;
using SecureImage.Core.Retention;

namespace SecureImage.Core.Tests.Retention;

public sealed class DeletePacerTests
{
    [Fact]
    public async Task The_first_delete_goes_at_once_and_the_rest_are_spaced_by_the_rate()
    {
        var pacer = new DeletePacer(TimeProvider.System, deletesPerSecond: 50);
        Assert.True(pacer.WaitTurnAsync(CancellationToken.None).IsCompleted);

        var clock = Stopwatch.StartNew();
        for (var i = 0; i < 5; i++)
        {
            await pacer.WaitTurnAsync(CancellationToken.None);
        }

        // Only a lower bound: the fifth turn after the first is due 5 / 50 s after the pacer started.
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(90), $"elapsed {clock.Elapsed.TotalMilliseconds} ms");
    }
}
