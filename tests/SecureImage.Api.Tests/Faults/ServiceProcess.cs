using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using SecureImage.Api.Tests.TestSupport;

namespace SecureImage.Api.Tests.Faults;

/// <summary>
/// The real service as a child process (<c>dotnet SecureImage.Api.dll</c> from the build output),
/// configured through <c>SecureImage__…</c> environment variables, on 127.0.0.1 and a free port that
/// stays the same across restarts. <see cref="Kill"/> is SIGKILL by the PID this class started.
/// Its data and temp folders are its own, so a test can scan them afterwards.
/// </summary>
internal sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Dictionary<string, string> _settings;
    private readonly ConcurrentQueue<string> _output = new();
    private Process? _process;

    public ServiceProcess(IReadOnlyDictionary<string, string?> settings)
    {
        var root = Directory.CreateTempSubdirectory("secureimage-fault-").FullName;
        DataDirectory = Directory.CreateDirectory(Path.Combine(root, "data")).FullName;
        TempDirectory = Directory.CreateDirectory(Path.Combine(root, "tmp")).FullName;
        Root = root;
        _settings = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["SecureImage:DataDirectory"] = DataDirectory,
            [$"SecureImage:Bots:{SecureImageFactory.BotA}:ApiKeySha256"] = SecureImageFactory.Sha256Hex(SecureImageFactory.BotAKey),
        };
        foreach (var (key, value) in settings)
        {
            if (value is not null)
            {
                _settings[key] = value;
            }
        }

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        BaseAddress = new Uri($"http://127.0.0.1:{Port}");
    }

    /// <summary>The production backends: a PostgreSQL catalog and a container on Azurite, fresh keys, and <paramref name="extraSettings"/>.</summary>
    public static ServiceProcess OnPostgresAndAzurite(string catalogConnectionString, string azuriteConnectionString, string container, IReadOnlyDictionary<string, string?>? extraSettings = null)
    {
        var settings = new Dictionary<string, string?>(SecureImageFactory.NewKeySettings())
        {
            ["SecureImage:Catalog:Provider"] = "Postgres",
            ["SecureImage:Catalog:ConnectionString"] = catalogConnectionString,
            ["SecureImage:Blobs:Provider"] = "AzureBlob",
            ["SecureImage:Blobs:ConnectionString"] = azuriteConnectionString,
            ["SecureImage:Blobs:Container"] = container,
        };
        foreach (var (key, value) in extraSettings ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return new ServiceProcess(settings);
    }

    public string Root { get; }

    public string DataDirectory { get; }

    public string TempDirectory { get; }

    public int Port { get; }

    public Uri BaseAddress { get; }

    public int? Pid => _process is { HasExited: false } ? _process.Id : null;

    /// <summary>The build output of SecureImage.Api in the same configuration as these tests.</summary>
    public static string ApiDll
    {
        get
        {
            var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var path = Path.Combine(Corpus.RepositoryRoot, "src", "SecureImage.Api", "bin", output.Parent!.Name, output.Name, "SecureImage.Api.dll");
            Assert.True(File.Exists(path), $"{path} is missing: build the solution first.");
            return path;
        }
    }

    public HttpClient CreateClient(string? apiKey = SecureImageFactory.BotAKey)
    {
        var client = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(1) })
        {
            BaseAddress = BaseAddress,
            Timeout = TimeSpan.FromSeconds(100),
        };
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        }

        return client;
    }

    /// <summary>Starts (or restarts) the service, with <paramref name="overrides"/> on top of the settings, and waits until /health/ready answers 200.</summary>
    public async Task StartAsync(IReadOnlyDictionary<string, string>? overrides = null)
    {
        Assert.True(_process is null or { HasExited: true }, "the service is already running");
        var start = StartInfo(["--urls", BaseAddress.ToString().TrimEnd('/')], overrides);
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, e) => Remember(e.Data);
        _process.ErrorDataReceived += (_, e) => Remember(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        await WaitUntilReadyAsync(_process, BaseAddress, () => Output);
    }

    /// <summary>Polls /health/ready until it answers 200; fails the test if the process exits first or 90 s pass.</summary>
    public static async Task WaitUntilReadyAsync(Process process, Uri baseAddress, Func<string> output)
    {
        using var probe = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            Assert.False(process.HasExited, $"the service exited with {(process.HasExited ? process.ExitCode : 0)} while starting:\n{output()}");
            try
            {
                if ((await probe.GetAsync("/health/ready")).StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Slow start on a busy machine.
            }

            Assert.True(DateTime.UtcNow < deadline, $"the service was not ready within 90 s:\n{output()}");
            await Task.Delay(200);
        }
    }

    /// <summary>
    /// Runs the service binary once with a command (e.g. <c>rewrap-keys</c>) and the same settings plus
    /// <paramref name="overrides"/>; returns its exit code, everything it printed, and its standard error alone.
    /// </summary>
    public async Task<(int ExitCode, string Output, string Error)> RunCommandAsync(IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string>? overrides = null)
    {
        using var process = Process.Start(StartInfo(arguments, overrides))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync(TestTimeout.After(TimeSpan.FromMinutes(2)));
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stdout + await stderr, await stderr);
    }

    /// <summary>kill -9: SIGKILL by the PID this class started, then waits for the exit.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: false);
            Assert.True(_process.WaitForExit(TimeSpan.FromSeconds(30)), "the killed service did not exit");
        }
    }

    public string Output => string.Join('\n', _output);

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(TestTimeout.OneMinute);
        }

        _process?.Dispose();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // Left for the OS temp cleaner.
        }
    }

    private ProcessStartInfo StartInfo(IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? overrides)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments.Prepend(ApiDll))
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Testing";
        start.Environment["DOTNET_ENVIRONMENT"] = "Testing";
        start.Environment["TMPDIR"] = TempDirectory;
        foreach (var (key, value) in overrides is null ? _settings : _settings.Concat(overrides).GroupBy(p => p.Key).Select(g => g.Last()))
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        return start;
    }

    private void Remember(string? line)
    {
        if (line is null)
        {
            return;
        }

        _output.Enqueue(line);
        while (_output.Count > 200 && _output.TryDequeue(out _))
        {
        }
    }
}
