using System.Runtime.CompilerServices;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using SecureImage.Core.Blobs;
using SecureImage.Storage.AzureBlob;
using BlobItem = SecureImage.Core.Blobs.BlobItem;

/// <summary>
/// The raw peer: Azurite through Azure.Storage.Blobs used the plain way (BlobClient.UploadAsync with
/// transfer options, DownloadStreamingAsync), without the service and without its adapter. Same
/// service version, retries and request shapes as the service's <see cref="AzureBlobStore"/>: bodies
/// shorter than the transfer size in one Put Blob, longer ones in blocks of that size, one at a time.
/// Its payloads are in-memory (seekable), so the SDK sends them without buffering a copy.
/// </summary>
internal sealed class RawPeer(string connectionString, string container) : IBlobStore
{
    private static readonly StorageTransferOptions Transfer = new()
    {
        InitialTransferSize = AzureBlobStoreOptions.DefaultTransferSizeBytes,
        MaximumTransferSize = AzureBlobStoreOptions.DefaultTransferSizeBytes,
        MaximumConcurrency = 1,
    };

    private readonly BlobContainerClient _container = new BlobServiceClient(connectionString, Options()).GetBlobContainerClient(container);

    public Task CreateIfNotExistsAsync(CancellationToken cancellationToken) => _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);

    public Task UploadAsync(string blobName, Stream content, CancellationToken cancellationToken) =>
        _container.GetBlobClient(blobName).UploadAsync(content, new BlobUploadOptions { TransferOptions = Transfer }, cancellationToken);

    public async Task<Stream> DownloadStreamingAsync(string blobName, CancellationToken cancellationToken) =>
        (await _container.GetBlobClient(blobName).DownloadStreamingAsync(cancellationToken: cancellationToken)).Value.Content;

    public async Task<bool> DeleteIfExistsAsync(string blobName, CancellationToken cancellationToken) =>
        await _container.GetBlobClient(blobName).DeleteIfExistsAsync(cancellationToken: cancellationToken);

    public async IAsyncEnumerable<BlobItem> GetBlobsAsync(string? prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var blob in _container.GetBlobsAsync(new GetBlobsOptions { Prefix = prefix }, cancellationToken))
        {
            yield return new BlobItem(blob.Name, blob.Properties.ContentLength ?? 0, blob.Properties.CreatedOn ?? DateTimeOffset.MinValue);
        }
    }

    public Task CheckAvailableAsync(CancellationToken cancellationToken) => _container.GetPropertiesAsync(cancellationToken: cancellationToken);

    /// <summary>As the service configures its client by default (AzureBlobStoreOptions): pinned version, 3 retries, no checksums.</summary>
    private static BlobClientOptions Options()
    {
        var options = new BlobClientOptions(BlobClientOptions.ServiceVersion.V2026_06_06);
        options.TransferValidation.Upload.ChecksumAlgorithm = StorageChecksumAlgorithm.None;
        options.TransferValidation.Download.ChecksumAlgorithm = StorageChecksumAlgorithm.None;
        options.Retry.MaxRetries = 3;
        options.Retry.Delay = TimeSpan.FromMilliseconds(500);
        options.Retry.MaxDelay = TimeSpan.FromSeconds(10);
        return options;
    }
}
