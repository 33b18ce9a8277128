using System.Diagnostics;

namespace SecureImage.Core.Tests.TestSupport;

/// <summary>
/// ImageMagick (libjpeg, libpng, giflib, libwebp) as a second independent decoder, for the cases where
/// ImageSharp's recovery from corrupt data tells input and output apart.
/// </summary>
internal static class SecondDecoder
{
    /// <summary>
    /// True when ImageMagick reports the input as corrupt (warnings or errors) and, where it decodes both,
    /// finds no pixel that differs; false when it sees a clean input or a changed pixel.
    /// </summary>
    public static async Task<bool> FindsCorruptAndUnchangedAsync(byte[] input, byte[] output)
    {
        using var folder = new TemporaryDirectory();
        var (inputPath, outputPath) = (Path.Combine(folder.Path, "input"), Path.Combine(folder.Path, "output"));
        await File.WriteAllBytesAsync(inputPath, input);
        await File.WriteAllBytesAsync(outputPath, output);
        var (exitCode, errors) = await RunAsync("compare", ["-metric", "AE", inputPath + "[0]", outputPath + "[0]", "null:"]);
        var corrupt = errors.Contains("orrupt", StringComparison.Ordinal) || errors.Contains("premature", StringComparison.OrdinalIgnoreCase);
        if (!corrupt)
        {
            return false;
        }

        // compare exits 0 when no pixel differs, 1 when one does, 2 when it could not decode the corrupt input at all.
        return exitCode is 0 or 2;
    }

    private static async Task<(int ExitCode, string Errors)> RunAsync(string fileName, string[] arguments)
    {
        var start = new ProcessStartInfo(fileName, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{fileName} did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = await process.StandardError.ReadToEndAsync();
        await output;
        await process.WaitForExitAsync();
        return (process.ExitCode, errors);
    }
}
