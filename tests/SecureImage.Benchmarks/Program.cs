using System.Diagnostics;
using BenchmarkDotNet.Running;
using SecureImage.Core.Imaging;

namespace SecureImage.Benchmarks;

/// <summary>
/// `--quick N`: a plain timing loop (N runs per input, median reported, machine-readable lines for
/// the bench script). Anything else goes to BenchmarkDotNet.
/// </summary>
internal static class Program
{
    public static string InputFolder() =>
        Environment.GetEnvironmentVariable("SANITIZER_BENCH_INPUTS") ?? throw new InvalidOperationException("Set SANITIZER_BENCH_INPUTS to the folder of generated JPEGs.");

    public static IEnumerable<string> InputFiles() =>
        Directory.GetFiles(InputFolder(), "*.jpg").Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal);

    public static async Task<int> Main(string[] args)
    {
        if (args is ["retention", .. var rest])
        {
            return await RetentionBenchmark.RunAsync(rest);
        }

        if (args is ["previews", .. var previewArgs])
        {
            return await PreviewBenchmark.RunAsync(previewArgs);
        }

        if (args is ["--quick", var count])
        {
            await QuickAsync(int.Parse(count, System.Globalization.CultureInfo.InvariantCulture));
            return 0;
        }

        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return 0;
    }

    private static async Task QuickAsync(int iterations)
    {
        var sanitizer = new ContainerImageSanitizer();
        foreach (var name in InputFiles())
        {
            var input = await File.ReadAllBytesAsync(Path.Combine(InputFolder(), name));
            for (var warmup = 0; warmup < 20; warmup++)
            {
                await RunAsync(sanitizer, input);
            }

            var times = new double[iterations];
            long output = 0;
            for (var index = 0; index < iterations; index++)
            {
                var clock = Stopwatch.StartNew();
                output = await RunAsync(sanitizer, input);
                times[index] = clock.Elapsed.TotalMilliseconds;
            }

            Array.Sort(times);
            var median = times[iterations / 2];
            var megabytesPerSecond = input.Length / (median / 1000) / 1e6;
            Console.WriteLine(FormattableString.Invariant($"ours {name} bytes={input.Length} out={output} median_ms={median:F4} MBps={megabytesPerSecond:F0}"));
        }
    }

    private static async Task<long> RunAsync(ContainerImageSanitizer sanitizer, byte[] input)
    {
        using var source = new MemoryStream(input, writable: false);
        var image = await sanitizer.SanitizeAsync(source, Stream.Null, ImageLimits.Default, CancellationToken.None);
        return image.Bytes;
    }
}
