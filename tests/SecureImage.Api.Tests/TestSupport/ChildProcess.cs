using System.Diagnostics;

namespace SecureImage.Api.Tests.TestSupport;

/// <summary>Runs a helper program from the repository root; a non-zero exit fails the test with its stderr.</summary>
internal static class ChildProcess
{
    public static async Task<string> RunAsync(string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = Corpus.RepositoryRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync(TestTimeout.After(TimeSpan.FromMinutes(2)));
        Assert.True(process.ExitCode == 0, $"{fileName} {start.ArgumentList.FirstOrDefault()} exited with {process.ExitCode}: {await stderr}");
        return await stdout;
    }
}
