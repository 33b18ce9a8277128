using System.Collections.Concurrent;
using System.Diagnostics;

namespace SecureImage.Api.Tests.TestSupport;

/// <summary>
/// The service started the way the README starts it: <c>dotnet run --project src/SecureImage.Api</c> from the
/// repository root (its launch profile, so Development), on the build these tests run against
/// (<c>-c {configuration} --no-build</c>) and a free loopback port, with its data in a temp folder. Every
/// line it prints, on either stream, is kept. Stopped with SIGTERM by the PID this class started.
/// </summary>
internal sealed class RepositoryRootRun : IAsyncDisposable
{
    private readonly ConcurrentQueue<string> _output = new();
    private readonly Process _process;

    private RepositoryRootRun(Process process, Uri baseAddress, string dataDirectory)
    {
        _process = process;
        BaseAddress = baseAddress;
        DataDirectory = dataDirectory;
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public Uri BaseAddress { get; }

    public string DataDirectory { get; }

    /// <summary>The configuration these tests were built in (Release or Debug), from their own output folder.</summary>
    public static string Configuration => new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;

    /// <summary>The API's build output folder for that configuration.</summary>
    public static string ApiOutputFolder => Path.GetDirectoryName(Faults.ServiceProcess.ApiDll)!;

    public string Output => string.Join('\n', _output);

    /// <summary>Starts the service with only <paramref name="environment"/> added to a clean environment and waits until it is ready.</summary>
    public static async Task<RepositoryRootRun> StartAsync(IReadOnlyDictionary<string, string> environment)
    {
        var port = Deployment.PublishedApp.FreePort();
        var dataDirectory = Directory.CreateTempSubdirectory("secureimage-run-").FullName;
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Corpus.RepositoryRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "run", "--project", "src/SecureImage.Api", "-c", Configuration, "--no-build", "--", "--urls", $"http://127.0.0.1:{port}" })
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var name in start.Environment.Keys.Where(k =>
            k.StartsWith("SecureImage__", StringComparison.OrdinalIgnoreCase) || k.StartsWith("Logging__", StringComparison.OrdinalIgnoreCase)
            || k.StartsWith("ASPNETCORE_", StringComparison.Ordinal) || k.StartsWith("DOTNET_ENVIRONMENT", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(name);
        }

        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["SecureImage__DataDirectory"] = dataDirectory;
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var run = new RepositoryRootRun(Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start."), new Uri($"http://127.0.0.1:{port}"), dataDirectory);
        await Faults.ServiceProcess.WaitUntilReadyAsync(run._process, run.BaseAddress, () => run.Output);
        return run;
    }

    public HttpClient CreateClient(string? apiKey = null)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        }

        return client;
    }

    /// <summary>SIGTERM (a graceful stop that flushes the logs), then waits for the exit; returns everything printed.</summary>
    public async Task<string> StopAsync()
    {
        await Deployment.PublishedApp.StopAsync(_process);
        _process.WaitForExit();
        return Output;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(TestTimeout.OneMinute);
        }

        _process.Dispose();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // Left for the OS temp cleaner.
        }
    }

    private void Keep(string? line)
    {
        if (line is not null)
        {
            _output.Enqueue(line);
        }
    }
}
