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
/// pause. Right after one the difference is small, so a run of decodes in one quiet moment collects once.
/// </param>
public sealed class HeldMemory(long thresholdBytes)
{
    /// <summary>The threshold the host uses: a quarter of the 256 MiB the service may grow by under a 64 × 16 MiB burst.</summary>
    public const long DefaultThresholdBytes = 64L << 20;

    private int _releases;

    /// <summary>Collections made (for tests and diagnostics).</summary>
    public int Releases => Volatile.Read(ref _releases);

    /// <summary>Unused committed memory now, as the last collection left it plus what was committed since.</summary>
    public static long UnusedCommittedBytes()
    {
        var info = GC.GetGCMemoryInfo();
        return info.TotalCommittedBytes - (info.HeapSizeBytes - info.FragmentedBytes);
    }

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
