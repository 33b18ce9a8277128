using SecureImage.Core.Threading;

namespace SecureImage.Core.Tests.Threading;

public sealed class HeldMemoryTests
{
    [Fact]
    public void Holding_at_least_the_threshold_unused_it_makes_a_full_compacting_collection()
    {
        var held = new HeldMemory(thresholdBytes: long.MinValue);
        var before = GC.GetGCMemoryInfo(GCKind.FullBlocking).Index;

        Assert.True(held.ReleaseIfHeld());

        Assert.Equal(1, held.Releases);
        var after = GC.GetGCMemoryInfo(GCKind.FullBlocking);
        Assert.True(after.Index > before);
        Assert.True(after.Compacted);
    }

    [Theory]
    [InlineData(300, 200, 0, 100)]
    [InlineData(300, 200, 50, 150)]
    [InlineData(200, 200, 0, 0)]
    public void Unused_is_committed_minus_the_live_heap_and_free_fragments_count_as_unused(long committed, long heapSize, long fragmented, long unused) =>
        Assert.Equal(unused, HeldMemory.Unused(committed, heapSize, fragmented));

    [Fact]
    public void Holding_less_than_the_threshold_it_leaves_the_collector_alone()
    {
        var held = new HeldMemory(thresholdBytes: long.MaxValue);

        Assert.False(held.ReleaseIfHeld());

        Assert.Equal(0, held.Releases);
    }
}
