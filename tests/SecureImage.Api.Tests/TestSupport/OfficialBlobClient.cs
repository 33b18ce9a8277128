using System.Diagnostics;
using System.Text.Json;

namespace SecureImage.Api.Tests.TestSupport;

/// <summary>
/// Microsoft's own @azure/storage-blob npm client (infra/local/list-blobs.mjs, installed into the
/// repository's node_modules by start-azurite.sh): a view of the container that no code of ours produced.
/// </summary>
internal static class OfficialBlobClient
{
    public static async Task<IReadOnlyList<string>> ListBlobNamesAsync(string connectionString, string container)
    {
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = Corpus.RepositoryRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine("infra", "local", "list-blobs.mjs"));
        start.ArgumentList.Add(container);
        start.Environment["AZURE_STORAGE_CONNECTION_STRING"] = connectionString;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync(TestTimeout.OneMinute);
        Assert.True(process.ExitCode == 0, $"list-blobs.mjs exited with {process.ExitCode}: {await stderr}");
        return JsonSerializer.Deserialize<string[]>(await stdout)!;
    }
}
