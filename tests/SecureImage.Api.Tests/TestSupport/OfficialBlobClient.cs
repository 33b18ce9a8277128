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
        // The connection string goes through the environment so that its key never shows in a process list.
        var names = await ChildProcess.RunAsync(
            "node",
            [Path.Combine("infra", "local", "list-blobs.mjs"), container],
            new Dictionary<string, string> { ["AZURE_STORAGE_CONNECTION_STRING"] = connectionString });
        return JsonSerializer.Deserialize<string[]>(names)!;
    }

    /// <summary>Every blob with its length and its first 5 bytes (hex) as the official client downloads them.</summary>
    public static async Task<IReadOnlyList<BlobHead>> ListBlobHeadsAsync(string connectionString, string container)
    {
        var heads = await ChildProcess.RunAsync(
            "node",
            [Path.Combine("infra", "local", "list-blobs.mjs"), container, "--heads"],
            new Dictionary<string, string> { ["AZURE_STORAGE_CONNECTION_STRING"] = connectionString });
        return JsonSerializer.Deserialize<BlobHead[]>(heads, new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
    }

    internal sealed record BlobHead(string Name, long Length, string Head);
}
