namespace SecureImage.Api.Tests.TestSupport;

/// <summary>
/// Servers a test starts for itself (so it may stop them) with infra/local's scripts, in a state
/// folder of its own: stopped by the PIDs the scripts recorded, never by name, and restarted on the
/// same port and data, as after an outage.
/// </summary>
internal sealed class OwnServers : IAsyncDisposable
{
    public const string Postgres = "postgres";
    public const string Azurite = "azurite";

    private readonly string _state = Directory.CreateTempSubdirectory("secureimage-own-servers-").FullName;

    /// <summary>
    /// Starts (or, after <see cref="StopAsync"/>, restarts) the server and returns its address;
    /// <paramref name="environment"/> goes to the server (e.g. Azurite's <c>AZURITE_ACCOUNTS</c>).
    /// </summary>
    public async Task<string> StartAsync(string name, IReadOnlyDictionary<string, string>? environment = null)
    {
        await ChildProcess.RunAsync("bash", [Script($"start-{(name == Postgres ? "postgres" : "azurite")}.sh"), _state], environment);
        return await AddressAsync(name);
    }

    /// <summary>Stops the server by its PID and keeps its data and port for <see cref="StartAsync"/>.</summary>
    public Task StopAsync(string name) => RunScriptAsync("stop-servers.sh", "--keep-data", _state, name);

    public async ValueTask DisposeAsync()
    {
        await RunScriptAsync("stop-servers.sh", _state);
        Directory.Delete(_state, recursive: true);
    }

    /// <summary>The address the start script exported (read by bash, which wrote it quoted).</summary>
    private async Task<string> AddressAsync(string name)
    {
        var variable = name == Postgres ? TestServers.PostgresVariable : TestServers.AzuriteVariable;
        return (await ChildProcess.RunAsync("bash", ["-c", $"source \"$1\" && printf %s \"${variable}\"", "bash", Path.Combine(_state, $"{name}.env")])).Trim();
    }

    private static Task<string> RunScriptAsync(string script, params string[] arguments) => ChildProcess.RunAsync("bash", [Script(script), .. arguments]);

    private static string Script(string name) => Path.Combine(Corpus.RepositoryRoot, "infra", "local", name);
}
