using SecureImage.Core.Blobs;

namespace SecureImage.Tests.Shared;

internal static class BlobStoreProbe
{
    /// <summary>Whether the store still has the blob (opened and closed, never read).</summary>
    public static async Task<bool> ExistsAsync(this IBlobStore blobs, string blobName)
    {
        try
        {
            await (await blobs.DownloadStreamingAsync(blobName, CancellationToken.None)).DisposeAsync();
            return true;
        }
        catch (BlobNotFoundException)
        {
            return false;
        }
    }
}
