namespace SecureImage.Core.Threading;

/// <summary>
/// Gives back the memory a burst of requests left committed but unused, before the service starts large work in a
/// quiet moment. After 64 concurrent 16 MiB uploads the GC kept 163 MiB committed for 90 MiB live (gen0 budgets, dead
/// buffers on the large object heap awaiting a gen2 collection), and a 25 MP preview decode made then came on top of
/// all of it (docs/PERFORMANCE.md). One compacting, decommitting collection, made while no request is in flight,
/// returns the difference.
/// </summary>
/// <param name="thresholdBytes">
/// How much more than the live heap (as of the last collection) the GC must hold before a collection is worth its
/// pause. Right after one the difference is small, so the next decode collects only if a later collection found the heap
/// holding that much again.
/// </param>
public sealed class HeldMemory(long thresholdBytes)
{
    /// <summary>The threshold the host uses: a quarter of the 256 MiB the service may grow by under a 64 × 16 MiB burst.</summary>
    public const long DefaultThresholdBytes = 64L << 20;

    private int _releases;

    /// <summary>Collections made (for tests and diagnostics).</summary>
    public int Releases => Volatile.Read(ref _releases);

    /// <summary>
    /// Committed but unused memory as the last collection left it (every <see cref="GCMemoryInfo"/> figure is taken at its
    /// end). Right after one of ours that is our own collection's, small; it grows again only when a later collection
    /// finds the heap holding more than it uses.
    /// </summary>
    public static long UnusedCommittedBytes()
    {
        var info = GC.GetGCMemoryInfo();
        return Unused(info.TotalCommittedBytes, info.HeapSizeBytes, info.FragmentedBytes);
    }

    /// <summary>Committed minus live: the heap's size counts its free fragments, which are committed and unused too.</summary>
    internal static long Unused(long committedBytes, long heapSizeBytes, long fragmentedBytes) => committedBytes - (heapSizeBytes - fragmentedBytes);

    /// <summary>Collects and decommits when the GC holds at least the threshold more than it uses; true when it did.</summary>
    public bool ReleaseIfHeld()
    {
        if (UnusedCommittedBytes() < thresholdBytes)
        {
            return false;
        }

        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        NativeHeap.Trim();
        Interlocked.Increment(ref _releases);
        return true;
    }
}
