using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using SecureImage.Api.Tests.TestSupport;

namespace SecureImage.Api.Tests.Deployment;

/// <summary>
/// The service as the container image builds it: <c>dotnet publish</c> with the Dockerfile's own
/// arguments (read from infra/docker/Dockerfile, only the output folder replaced), once per test class.
/// </summary>
public sealed partial class PublishedApp : IAsyncLifetime
{
    public static string DockerfilePath => Path.Combine(Corpus.RepositoryRoot, "infra", "docker", "Dockerfile");

    public string Folder { get; } = Directory.CreateTempSubdirectory("secureimage-publish-").FullName;

    /// <summary>The arguments after <c>dotnet</c> on the Dockerfile's publish line.</summary>
    public static IReadOnlyList<string> DockerfilePublishArguments()
    {
        var match = PublishLine().Match(File.ReadAllText(DockerfilePath));
        Assert.True(match.Success, "infra/docker/Dockerfile has no `RUN dotnet publish …` line.");
        return match.Groups["args"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
    }

    public async Task InitializeAsync()
    {
        var arguments = DockerfilePublishArguments().ToList();
        var output = arguments.IndexOf("-o");
        Assert.True(output >= 0 && arguments[output + 1] == "/app", "The Dockerfile publishes with `-o /app`.");
        arguments[output + 1] = Folder;
        await ChildProcess.RunAsync("dotnet", arguments, new Dictionary<string, string> { ["DOTNET_NOLOGO"] = "1" });
        Assert.True(File.Exists(Path.Combine(Folder, "SecureImage.Api.dll")), "dotnet publish produced no SecureImage.Api.dll.");
    }

    public Task DisposeAsync()
    {
        Directory.Delete(Folder, recursive: true);
        return Task.CompletedTask;
    }

    /// <summary>Starts the published app (as the image's ENTRYPOINT does) with only these environment settings.</summary>
    public Process Start(IReadOnlyDictionary<string, string> environment, string workingDirectory)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(Folder, "SecureImage.Api.dll"));
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("SecureImage__", StringComparison.OrdinalIgnoreCase) || k.StartsWith("ASPNETCORE_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(name);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        return Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Collects a process's output while it runs (for failure messages).</summary>
    public static StringBuilder Capture(Process process)
    {
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return output;
    }

    /// <summary>Stops the app by its PID: SIGTERM first (graceful shutdown), then kill.</summary>
    public static async Task StopAsync(Process process)
    {
        if (process.HasExited)
        {
            return;
        }

        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync(TestTimeout.OneMinute);
        }

        try
        {
            await process.WaitForExitAsync(TestTimeout.After(TimeSpan.FromSeconds(40)));
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
        }
    }

    [GeneratedRegex(@"^RUN dotnet (?<args>publish [^\r\n]+)$", RegexOptions.Multiline)]
    private static partial Regex PublishLine();
}
