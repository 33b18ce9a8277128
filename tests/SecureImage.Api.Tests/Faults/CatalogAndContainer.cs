using Npgsql;
using SecureImage.Storage.AzureBlob;

namespace SecureImage.Api.Tests.Faults;

/// <summary>
/// The catalog's live rows against the container's blobs, read directly (not through the service):
/// no live row may point at a missing blob, and reconciliation must leave no blob without a live row.
/// </summary>
internal sealed class CatalogAndContainer(string catalogConnectionString, string azuriteConnectionString, string container)
{
    private readonly AzureBlobStore _store = new(new AzureBlobStoreOptions { ConnectionString = azuriteConnectionString, ContainerName = container });

    public async Task<HashSet<string>> LiveBlobNamesAsync()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(catalogConnectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync(TestTimeout.OneMinute);
        await using var command = new NpgsqlCommand("""
            SELECT blob_name FROM images WHERE state <> 'erased'
            UNION ALL SELECT preview_blob_name FROM images WHERE state <> 'erased' AND preview_blob_name IS NOT NULL;
            """, connection);
        await using var reader = await command.ExecuteReaderAsync(TestTimeout.OneMinute);
        while (await reader.ReadAsync(TestTimeout.OneMinute))
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

    public async Task<HashSet<string>> BlobNamesAsync()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var blob in _store.GetBlobsAsync(null, TestTimeout.OneMinute))
        {
            names.Add(blob.Name);
        }

        return names;
    }

    /// <summary>
    /// Checks that every live row has its blob, then waits (bounded) until reconciliation has removed
    /// every blob without a live row. Returns the live rows and the orphans seen at the first look.
    /// </summary>
    public async Task<(int LiveRows, int OrphansBefore)> AssertNoRowWithoutBlobThenReconciledAsync(TimeSpan limit, Func<string> diagnostics)
    {
        var live = await LiveBlobNamesAsync();
        var blobs = await BlobNamesAsync();
        Assert.Empty(live.Except(blobs));
        var orphansBefore = blobs.Count - live.Count;
        var deadline = DateTime.UtcNow + limit;
        while (!blobs.SetEquals(live))
        {
            Assert.True(DateTime.UtcNow < deadline, $"{blobs.Except(live).Count()} orphan blobs still there after {limit.TotalSeconds:0} s:\n{diagnostics()}");
            await Task.Delay(500);
            live = await LiveBlobNamesAsync();
            blobs = await BlobNamesAsync();
        }

        return (live.Count, orphansBefore);
    }
}
