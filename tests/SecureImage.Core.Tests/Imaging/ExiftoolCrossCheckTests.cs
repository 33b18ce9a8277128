using System.Diagnostics;
using System.Text.RegularExpressions;

namespace SecureImage.Core.Tests.Imaging;

/// <summary>An independent tool must agree that no metadata is left and that the image is intact.</summary>
public sealed partial class ExiftoolCrossCheckTests
{
    private static readonly string[] ForbiddenGroups = ["GPS", "XMP", "IPTC", "MakerNotes", "Photoshop", "IFD1", "Comment", "PNG-tEXt", "PNG-zTXt", "PNG-iTXt"];

    private static readonly string[] ForbiddenTags = ["ThumbnailImage", "ThumbnailOffset", "Comment", "PreviewImage", "GPSLatitude", "GPSPosition", "SerialNumber", "Make", "Model"];

    public static IEnumerable<object[]> AcceptedNames => CorpusTests.AcceptedNames.Select(name => new object[] { name });

    [Theory]
    [MemberData(nameof(AcceptedNames))]
    public async Task Exiftool_finds_no_metadata_and_the_same_dimensions_in_the_sanitized_corpus_file(string name)
    {
        var input = Corpus.Read(name);
        var (image, output) = await Sanitize.BytesAsync(input);
        var folder = Directory.CreateTempSubdirectory("sanitizer-exiftool-");
        try
        {
            var path = Path.Combine(folder.FullName, "sanitized" + Path.GetExtension(name));
            await File.WriteAllBytesAsync(path, output);

            var report = await RunExiftoolAsync(path);

            var lines = report.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (var line in lines)
            {
                var match = ReportLine().Match(line);
                Assert.True(match.Success, $"unexpected exiftool line: {line}");
                var (group, tag) = (match.Groups["group"].Value, match.Groups["tag"].Value);
                Assert.False(ForbiddenGroups.Any(forbidden => group.StartsWith(forbidden, StringComparison.OrdinalIgnoreCase)), $"{name}: {line}");
                Assert.DoesNotContain(tag, ForbiddenTags);
                Assert.False(tag.StartsWith("Warning", StringComparison.Ordinal) || tag.StartsWith("Error", StringComparison.Ordinal), $"{name}: {line}");
            }

            Assert.Contains(lines, line => Regex.IsMatch(line, $@"^\[\w+\]\s+ImageWidth\s+: {image.Width}$"));
            Assert.Contains(lines, line => Regex.IsMatch(line, $@"^\[\w+\]\s+ImageHeight\s+: {image.Height}$"));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static async Task<string> RunExiftoolAsync(string path)
    {
        var start = new ProcessStartInfo("exiftool", ["-a", "-G1", "-s", path]) { RedirectStandardOutput = true, RedirectStandardError = true };
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("exiftool did not start");
        }
        catch (System.ComponentModel.Win32Exception exception)
        {
            var hint = Environment.GetEnvironmentVariable("CI") == "true" ? "CI must install it" : "install it";
            throw new InvalidOperationException($"exiftool is required for this test ({hint}: apt-get install -y libimage-exiftool-perl).", exception);
        }

        using (process)
        {
            var output = await process.StandardOutput.ReadToEndAsync();
            var errors = await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            Assert.True(process.ExitCode == 0, $"exiftool failed: {errors}");
            return output;
        }
    }

    [GeneratedRegex(@"^\[(?<group>[^\]]+)\]\s+(?<tag>\S+)\s+:")]
    private static partial Regex ReportLine();
}
