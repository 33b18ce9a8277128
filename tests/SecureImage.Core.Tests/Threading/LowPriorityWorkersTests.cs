using SecureImage.Core.Imaging;
using SecureImage.Core.Tests.Imaging;
using SecureImage.Core.Threading;

namespace SecureImage.Core.Tests.Threading;

public sealed class LowPriorityWorkersTests
{
    [Fact]
    public async Task Work_runs_on_a_thread_at_the_lowest_cpu_priority_and_returns_its_result()
    {
        Assert.True(OperatingSystem.IsLinux(), "The service runs on Linux (its container); this checks the thread's nice value there.");
        using var workers = new LowPriorityWorkers(1, "test-low-priority");

        var nice = await workers.RunAsync(ReadThisThreadsNice).WaitAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(19, nice);
        Assert.NotEqual(19, ReadThisThreadsNice());
    }

    [Fact]
    public async Task An_exception_of_the_work_ends_its_task_and_the_thread_goes_on()
    {
        using var workers = new LowPriorityWorkers(1, "test-low-priority");

        await Assert.ThrowsAsync<InvalidDataException>(() => workers.RunAsync<int>(() => throw new InvalidDataException()).WaitAsync(TimeSpan.FromMinutes(1)));

        Assert.Equal(42, await workers.RunAsync(() => 42).WaitAsync(TimeSpan.FromMinutes(1)));
    }

    [Fact]
    public async Task Work_on_a_thread_of_its_own_runs_at_the_lowest_cpu_priority_and_the_thread_ends_with_it()
    {
        Assert.True(OperatingSystem.IsLinux(), "The service runs on Linux (its container); this checks the thread's nice value there.");

        var (nice, thread) = await LowPriorityWorkers.RunOnOwnThreadAsync(() => (ReadThisThreadsNice(), Environment.CurrentManagedThreadId), "test-own-thread").WaitAsync(TimeSpan.FromMinutes(1));

        Assert.Equal(19, nice);
        Assert.NotEqual(Environment.CurrentManagedThreadId, thread);
        await Assert.ThrowsAsync<InvalidDataException>(() => LowPriorityWorkers.RunOnOwnThreadAsync<int>(() => throw new InvalidDataException(), "test-own-thread").WaitAsync(TimeSpan.FromMinutes(1)));
    }

    [Fact]
    public async Task A_preview_decode_runs_at_the_lowest_cpu_priority()
    {
        // Each decode has a thread of its own, named for it, while it runs: a large one is long enough to be seen.
        var renderer = new PreviewRenderer(PreviewRendererOptions.Default, TimeProvider.System);
        var jpeg = RealImages.Jpeg(4000, 3000);
        var render = renderer.RenderAsync(jpeg, ImageFormat.Jpeg, 4000, 3000, CancellationToken.None);
        var nices = new List<int>();
        while (nices.Count == 0 && !render.IsCompleted)
        {
            nices = DecodeThreadNices();
        }

        using var preview = await render.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.NotEmpty(nices);
        Assert.All(nices, nice => Assert.Equal(19, nice));
    }

    private static int ReadThisThreadsNice() => NiceOf(File.ReadAllText("/proc/thread-self/stat"));

    private static List<int> DecodeThreadNices()
    {
        var nices = new List<int>();
        foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            try
            {
                if (File.ReadAllText(Path.Combine(task, "comm")).StartsWith("secureimage-pre", StringComparison.Ordinal))
                {
                    nices.Add(NiceOf(File.ReadAllText(Path.Combine(task, "stat"))));
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // A decode thread ended while it was being read.
            }
        }

        return nices;
    }

    // proc(5): after "(comm) ", the 17th field is the nice value.
    private static int NiceOf(string stat) => int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[16], System.Globalization.CultureInfo.InvariantCulture);
}
