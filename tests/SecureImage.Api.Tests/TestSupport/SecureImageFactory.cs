using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace SecureImage.Api.Tests.TestSupport;

/// <summary>
/// The whole service in memory on the embedded default (SQLite + files) in its own temp folder, with
/// two bots, generated keys and a clock the test controls.
/// </summary>
public sealed class SecureImageFactory : WebApplicationFactory<Program>
{
    public const string BotA = "bot-a";
    public const string BotAKey = "key-for-bot-a";
    public const string BotB = "bot-b";
    public const string BotBKey = "key-for-bot-b";

    private readonly string _environment;
    private readonly Dictionary<string, string?> _settings;
    private readonly Action<IServiceCollection>? _services;

    public SecureImageFactory()
        : this("Testing")
    {
    }

    internal SecureImageFactory(string environment, IDictionary<string, string?>? settings = null, bool withKeys = true, bool withBots = true, Action<IServiceCollection>? services = null)
    {
        _environment = environment;
        _services = services;
        DataDirectory = Directory.CreateTempSubdirectory("secureimage-test-").FullName;
        _settings = new Dictionary<string, string?>
        {
            ["SecureImage:DataDirectory"] = DataDirectory,

            // No preview job after each upload (the service's default is on): tests count blobs, bytes and log
            // lines exactly, and a background decode would race them. The job has its own tests (PreviewTests).
            ["SecureImage:Imaging:PreviewOnUpload"] = "false",
        };
        if (withBots)
        {
            _settings[$"SecureImage:Bots:{BotA}:ApiKeySha256"] = Sha256Hex(BotAKey);
            _settings[$"SecureImage:Bots:{BotB}:ApiKeySha256"] = Sha256Hex(BotBKey);
        }

        if (withKeys)
        {
            foreach (var (key, value) in NewKeySettings())
            {
                _settings[key] = value;
            }
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }
    }

    public ManualTimeProvider Time { get; } = new();

    /// <summary>Everything the host logged (at the levels its configuration lets through).</summary>
    public CapturedLogs Logs { get; } = new();

    public string DataDirectory { get; }

    public HttpClient CreateBotClient(string apiKey = BotAKey)
    {
        var client = CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, BaseAddress = ClientOptions.BaseAddress });
        client.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        return client;
    }

    /// <summary>
    /// Starts the real service as a process with this factory's environment and settings and expects
    /// it to refuse to start as the README says: exit code 78, one line on standard error naming the
    /// setting, no stack trace anywhere. Returns everything it printed. (Refusals are checked on a real
    /// process because an in-memory host that fails to start can mask its cause.)
    /// </summary>
    public async Task<string> AssertRefusesToStartAsync(int exitCode = 78, string linePrefix = "SecureImage refused to start: ", string urls = "http://127.0.0.1:0")
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = DataDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "SecureImage.Api.dll"));
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(urls);
        start.Environment["ASPNETCORE_ENVIRONMENT"] = _environment;
        foreach (var (key, value) in _settings)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail("The service started although it should have refused to.");
        }

        var output = await stdout + await stderr;
        AssertOneLineRefusal(process.ExitCode, await stderr, output, exitCode, linePrefix);
        return output;
    }

    /// <summary>
    /// The service on a real Kestrel server (127.0.0.1, a free port) instead of the in-memory test server, for what only
    /// Kestrel does: parsing raw requests. <see cref="WebApplicationFactory{TEntryPoint}.ClientOptions"/> has its address.
    /// </summary>
    public static SecureImageFactory OnKestrel(IDictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>()) { ["urls"] = "http://127.0.0.1:0" };
        var factory = new SecureImageFactory("Testing", all);
        factory.UseKestrel();
        factory.StartServer();
        return factory;
    }

    /// <summary>A refusal as documented: the exit code, exactly one line on standard error, no stack frame or crash report anywhere.</summary>
    public static void AssertOneLineRefusal(int actualExitCode, string stderr, string output, int exitCode = 78, string linePrefix = "SecureImage refused to start: ")
    {
        Assert.True(actualExitCode == exitCode, $"The service exited with {actualExitCode}, not {exitCode}. Output:\n{output}");
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.True(lines.Length == 1 && lines[0].StartsWith(linePrefix, StringComparison.Ordinal), $"Standard error is not one line starting with '{linePrefix}':\n{stderr}");
        Assert.DoesNotMatch(@"(?m)^\s+at ", output);
        Assert.DoesNotContain("Unhandled exception", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Hosting failed to start", output, StringComparison.Ordinal);
    }

    public HttpClient CreateAnonymousClient() => CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, BaseAddress = ClientOptions.BaseAddress });

    public static string Sha256Hex(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));

    public static Dictionary<string, string?> NewKeySettings(string kekId = "kek1", string linkKeyId = "link1") => new()
    {
        ["SecureImage:Keys:Kek:ActiveKeyId"] = kekId,
        [$"SecureImage:Keys:Kek:Keys:{kekId}"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
        ["SecureImage:Keys:Links:ActiveKeyId"] = linkKeyId,
        [$"SecureImage:Keys:Links:Keys:{linkKeyId}"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
        ["SecureImage:Keys:SubjectHashKey"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
    };

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment(_environment);
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureLogging(logging => logging.AddProvider(Logs));
        builder.ConfigureServices(services =>
        {
            services.RemoveAll<TimeProvider>();
            services.AddSingleton<TimeProvider>(Time);
            _services?.Invoke(services);
        });
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            try
            {
                Directory.Delete(DataDirectory, recursive: true);
            }
            catch (IOException)
            {
                // A file still held open by the host's pool; the OS temp cleaner takes it.
            }
        }
    }
}
