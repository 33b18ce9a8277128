using System.Runtime.InteropServices;

namespace SecureImage.Core.Threading;

/// <summary>
/// Hands memory that native code freed back to the operating system. ImageSharp keeps a decode's pixels in
/// unmanaged memory (72 MiB for a 25 MP JPEG); once freed, glibc keeps most of it in its arenas for reuse, so the
/// process stays that much larger through whatever comes next (measured: +60 MiB during 64 concurrent uploads after
/// one preview, docs/PERFORMANCE.md). <c>malloc_trim</c> returns the free pages of every arena.
/// </summary>
public static class NativeHeap
{
    private static int _trims;
    private static bool _unavailable;

    /// <summary>Trims that ran (for tests and diagnostics).</summary>
    public static int Trims => Volatile.Read(ref _trims);

    /// <summary>Returns freed native memory to the system where the C library can (glibc); elsewhere does nothing.</summary>
    public static void Trim()
    {
        if (!OperatingSystem.IsLinux() || Volatile.Read(ref _unavailable))
        {
            return;
        }

        try
        {
            _ = MallocTrim(0);
            Interlocked.Increment(ref _trims);
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            // Not glibc (e.g. musl has no malloc_trim): its allocator keeps its own policy.
            Volatile.Write(ref _unavailable, true);
        }
    }

    // DllImport rather than LibraryImport: one blittable argument needs no marshalling code, and no unsafe blocks here.
    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);
}
