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
    public async Task A_preview_decode_runs_at_the_lowest_cpu_priority()
    {
        // The renderer decodes on its own low-priority threads: an observed thread id tells them from the caller's.
        using var renderer = new PreviewRenderer(PreviewRendererOptions.Default);
        var (_, png) = await Sanitize.BytesAsync(RealImages.Png(SixLabors.ImageSharp.Formats.Png.PngColorType.Rgb, width: 12, height: 9));
        using var preview = await renderer.RenderAsync(png, ImageFormat.Png, 12, 9, CancellationToken.None);

        // Every decode thread in the process (other tests' renderers included) is at nice 19, and there is one.
        var nices = DecodeThreadNices();
        Assert.NotEmpty(nices);
        Assert.All(nices, nice => Assert.Equal(19, nice));
    }

    private static int ReadThisThreadsNice() => NiceOf(File.ReadAllText("/proc/thread-self/stat"));

    private static List<int> DecodeThreadNices() =>
        Directory.EnumerateDirectories("/proc/self/task")
            .Where(task => File.ReadAllText(Path.Combine(task, "comm")).StartsWith("secureimage-pre", StringComparison.Ordinal))
            .Select(task => NiceOf(File.ReadAllText(Path.Combine(task, "stat"))))
            .ToList();

    // proc(5): after "(comm) ", the 17th field is the nice value.
    private static int NiceOf(string stat) => int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[16], System.Globalization.CultureInfo.InvariantCulture);
}
