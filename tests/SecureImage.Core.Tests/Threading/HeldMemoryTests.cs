using SecureImage.Core.Threading;

namespace SecureImage.Core.Tests.Threading;

public sealed class HeldMemoryTests
{
    [Fact]
    public void Holding_at_least_the_threshold_unused_it_makes_a_full_collection()
    {
        var held = new HeldMemory(thresholdBytes: long.MinValue);
        var fullCollections = GC.CollectionCount(GC.MaxGeneration);

        Assert.True(held.ReleaseIfHeld());

        Assert.Equal(1, held.Releases);
        Assert.True(GC.CollectionCount(GC.MaxGeneration) > fullCollections);
    }

    [Fact]
    public void Holding_less_than_the_threshold_it_leaves_the_collector_alone()
    {
        var held = new HeldMemory(thresholdBytes: long.MaxValue);

        Assert.False(held.ReleaseIfHeld());

        Assert.Equal(0, held.Releases);
    }
}
