using BenchmarkDotNet.Attributes;
using SecureImage.Core.Imaging;

namespace SecureImage.Benchmarks;

/// <summary>Sanitizer throughput on JPEGs with full metadata; inputs come from SANITIZER_BENCH_INPUTS.</summary>
[MemoryDiagnoser]
public class SanitizerBenchmarks
{
    private readonly ContainerImageSanitizer sanitizer = new();
    private byte[] input = [];

    [ParamsSource(nameof(Inputs))]
    public string Image { get; set; } = "";

    public static IEnumerable<string> Inputs() => Program.InputFiles();

    [GlobalSetup]
    public void Setup() => input = File.ReadAllBytes(Path.Combine(Program.InputFolder(), Image));

    [Benchmark]
    public async Task<long> Sanitize()
    {
        using var source = new MemoryStream(input, writable: false);
        var image = await sanitizer.SanitizeAsync(source, Stream.Null, ImageLimits.Default, CancellationToken.None);
        return image.Bytes;
    }
}
