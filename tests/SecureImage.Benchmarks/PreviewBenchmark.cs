using System.Diagnostics;
using System.Globalization;
using SecureImage.Core.Imaging;

namespace SecureImage.Benchmarks;

/// <summary>
/// `previews FILE RUNS`: sanitizes one JPEG in memory, then renders its preview RUNS times with the service's
/// default settings (one warm-up first) and prints the median and the process's peak RSS before the first
/// render and after the last (VmHWM), for infra/local/bench-previews.sh. One file per process, so each peak is its own.
/// </summary>
internal static class PreviewBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (args is not [var file, var runsText])
        {
            Console.Error.WriteLine("usage: previews FILE RUNS");
            return 64;
        }

        var runs = int.Parse(runsText, CultureInfo.InvariantCulture);
        using var sanitizedStream = new MemoryStream();
        SanitizedImage image;
        await using (var source = File.OpenRead(file))
        {
            image = await new ContainerImageSanitizer().SanitizeAsync(source, sanitizedStream, ImageLimits.Default, CancellationToken.None);
        }

        var sanitized = sanitizedStream.ToArray();
        var renderer = new PreviewRenderer(PreviewRendererOptions.Default, TimeProvider.System);
        var before = PeakRssMegabytes();
        using (await renderer.RenderAsync(sanitized, image.Format, image.Width, image.Height, CancellationToken.None))
        {
        }

        var times = new double[runs];
        var (width, height, bytes) = (0, 0, 0L);
        for (var index = 0; index < runs; index++)
        {
            var clock = Stopwatch.StartNew();
            using var preview = await renderer.RenderAsync(sanitized, image.Format, image.Width, image.Height, CancellationToken.None);
            times[index] = clock.Elapsed.TotalMilliseconds;
            (width, height, bytes) = (preview.Width, preview.Height, preview.Content.Length);
        }

        Array.Sort(times);
        Console.WriteLine(FormattableString.Invariant(
            $"ours {Path.GetFileName(file)} {image.Width}x{image.Height} -> {width}x{height} bytes={bytes} median_ms={times[runs / 2]:F1} rss_before_mb={before:F0} peak_rss_mb={PeakRssMegabytes():F0}"));
        return 0;
    }

    /// <summary>The process's peak resident set (Linux VmHWM), in MiB.</summary>
    private static double PeakRssMegabytes()
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
    }
}
