using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace SecureImage.Core.Threading;

/// <summary>
/// Dedicated threads at the lowest CPU priority (Linux nice 19) for CPU-heavy work that nobody waits on first:
/// password checks on a fixed pool, preview decodes each on a thread of its own (<see cref="RunOnOwnThreadAsync{T}"/>,
/// through <see cref="DeadlineWork"/>). Uploads and downloads keep the cores; this work gets what they leave, and
/// on a quiet instance it still runs at full speed. Elsewhere than Linux the threads keep normal priority.
/// </summary>
public sealed class LowPriorityWorkers : IDisposable
{
    private const int LowestPriority = 19;
    private readonly BlockingCollection<Action> _queue = [];

    public LowPriorityWorkers(int threads, string name)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        for (var i = 0; i < threads; i++)
        {
            new Thread(Work) { IsBackground = true, Name = name }.Start();
        }
    }

    /// <summary>Queues <paramref name="work"/>; the task ends with its result or its exception. Bound the callers: the queue is not.</summary>
    public Task<T> RunAsync<T>(Func<T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _queue.Add(() =>
        {
            try
            {
                done.TrySetResult(work());
            }
            catch (Exception ex)
            {
                done.TrySetException(ex);
            }
        });
        return done.Task;
    }

    public void Dispose() => _queue.CompleteAdding();

    private void Work()
    {
        LowerThisThreadsPriority();
        foreach (var work in _queue.GetConsumingEnumerable())
        {
            work();
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> on a new thread of its own at the lowest priority, for work that may never return
    /// (a stuck decode keeps only its own thread, never one that other work waits for).
    /// </summary>
    public static Task<T> RunOnOwnThreadAsync<T>(Func<T> work, string name)
    {
        ArgumentNullException.ThrowIfNull(work);
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        new Thread(() =>
        {
            LowerThisThreadsPriority();
            try
            {
                done.TrySetResult(work());
            }
            catch (Exception ex)
            {
                done.TrySetException(ex);
            }
        }) { IsBackground = true, Name = name }.Start();
        return done.Task;
    }

    /// <summary>Linux schedules threads as tasks: nice 19 for this one only.</summary>
    private static void LowerThisThreadsPriority()
    {
        if (OperatingSystem.IsLinux())
        {
            try
            {
                _ = SetPriority(0, GetThreadId(), LowestPriority);
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
            {
                // An unusual libc: the callers' bounds still hold.
            }
        }
    }

    // DllImport rather than LibraryImport: blittable ints need no marshalling code, and no unsafe blocks in this project.
    [DllImport("libc", EntryPoint = "setpriority")]
    private static extern int SetPriority(int which, int who, int priority);

    [DllImport("libc", EntryPoint = "gettid")]
    private static extern int GetThreadId();
}
