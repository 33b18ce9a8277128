using SecureImage.Api.Tests.TestSupport;

namespace SecureImage.Api.Tests.Faults;

/// <summary>
/// An Azurite of the test's own (infra/local/start-azurite.sh in a private state folder), so that the
/// test knows its storage folder and may scan it; stopped by the PID the script recorded.
/// </summary>
internal sealed class OwnAzurite : IAsyncDisposable
{
    private readonly string _state = Directory.CreateTempSubdirectory("secureimage-fault-azurite-").FullName;

    public string ConnectionString { get; private set; } = "";

    /// <summary>Azurite's own folder: its blob extents, metadata database and logs.</summary>
    public string StorageDirectory { get; private set; } = "";

    public static async Task<OwnAzurite> StartAsync()
    {
        var azurite = new OwnAzurite();
        await ChildProcess.RunAsync("bash", [Script("start-azurite.sh"), azurite._state]);
        azurite.StorageDirectory = (await File.ReadAllTextAsync(Path.Combine(azurite._state, "azurite.dir"))).Trim();
        azurite.ConnectionString = (await ChildProcess.RunAsync(
            "bash", ["-c", $"source \"$1\" && printf %s \"${TestServers.AzuriteVariable}\"", "bash", Path.Combine(azurite._state, "azurite.env")])).Trim();
        return azurite;
    }

    public async ValueTask DisposeAsync()
    {
        await ChildProcess.RunAsync("bash", [Script("stop-servers.sh"), _state, "azurite"]);
        Directory.Delete(_state, recursive: true);
    }

    private static string Script(string name) => Path.Combine(Corpus.RepositoryRoot, "infra", "local", name);
}
