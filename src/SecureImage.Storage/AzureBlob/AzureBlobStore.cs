using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using SecureImage.Core.Blobs;
using BlobItem = SecureImage.Core.Blobs.BlobItem;

namespace SecureImage.Storage.AzureBlob;

/// <summary>
/// <see cref="IBlobStore"/> on Azure Blob Storage through the official Azure.Storage.Blobs client
/// (Shared Key or Entra ID, the SDK's retries, pinned service version). Uploads do not use the SDK's
/// partitioned upload, which buffers a non-seekable stream up to its initial transfer size and then
/// once more per block: they stage blocks themselves from one pooled buffer (see <see cref="UploadAsync"/>).
/// </summary>
public sealed class AzureBlobStore : IBlobStore
{
    private static readonly BlobHttpHeaders OctetStream = new() { ContentType = "application/octet-stream" };

    private readonly BlobContainerClient _container;
    private readonly int _singlePutThresholdBytes;
    private readonly int _blockSizeBytes;
    private readonly int _listPageSize;

    public AzureBlobStore(AzureBlobStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Problems() is { Count: > 0 } problems)
        {
            throw new ArgumentException(string.Join(" ", problems));
        }

        _container = options.CreateContainerClient();
        _singlePutThresholdBytes = options.SinglePutThresholdBytes;
        _blockSizeBytes = options.BlockSizeBytes;
        _listPageSize = options.ListPageSize;
    }

    public async Task CreateIfNotExistsAsync(CancellationToken cancellationToken)
    {
        try
        {
            // No public access: the container is private; an existing one is left as it is.
            await _container.CreateIfNotExistsAsync(PublicAccessType.None, cancellationToken: cancellationToken);
        }
        catch (Exception ex) when (BlobStorageErrors.FromException("create container", ex, cancellationToken) is { } mapped)
        {
            throw mapped;
        }
    }

    public Task UploadAsync(string blobName, Stream content, CancellationToken cancellationToken) =>
        UploadAsync(blobName, content, expectedLength: null, cancellationToken);

    /// <summary>
    /// Reads at most threshold + 1 bytes into one pooled buffer to learn whether one Put Blob suffices;
    /// otherwise stages blocks from that same buffer, one at a time, and commits the list. When
    /// <paramref name="expectedLength"/> already says the content is past the threshold, the head is not
    /// read: blocks go up from a buffer of one block only (at 64 concurrent 16 MiB uploads, 64 MiB of
    /// buffers instead of 128). Each request body is a seekable view of the buffer, so the SDK's retries
    /// can resend it. Reading the caller's stream happens here, outside the SDK, so its failures reach the
    /// caller as they are.
    /// </summary>
    public async Task UploadAsync(string blobName, Stream content, long? expectedLength, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        BlobNames.Validate(blobName);
        var blob = _container.GetBlockBlobClient(blobName);
        var declaredLong = expectedLength > _singlePutThresholdBytes;
        var buffer = ArrayPool<byte>.Shared.Rent(declaredLong ? _blockSizeBytes : _singlePutThresholdBytes + 1);
        try
        {
            var headLength = 0;
            if (!declaredLong)
            {
                headLength = await FillAsync(content, buffer.AsMemory(0, _singlePutThresholdBytes + 1), cancellationToken);
                if (headLength <= _singlePutThresholdBytes)
                {
                    using var body = new MemoryStream(buffer, 0, headLength, writable: false);
                    await SendAsync("upload", () => blob.UploadAsync(body, new BlobUploadOptions { HttpHeaders = OctetStream }, cancellationToken), cancellationToken);
                    return;
                }
            }

            await UploadInBlocksAsync(blob, buffer, headLength, content, cancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// One Get Blob whose body is read straight from the connection (<c>DownloadStreamingAsync</c>), not
    /// <c>OpenReadAsync</c>, which first asks for the properties and then fetches ranges into a buffer of
    /// its own: one more round trip before the first byte and a buffer per download.
    /// </summary>
    public async Task<Stream> DownloadStreamingAsync(string blobName, CancellationToken cancellationToken)
    {
        BlobNames.Validate(blobName);
        try
        {
            var response = await _container.GetBlobClient(blobName).DownloadStreamingAsync(cancellationToken: cancellationToken);
            return new BlobDownloadStream(response.Value);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // BlobNotFound or ContainerNotFound: either way there is no such blob.
            throw new BlobNotFoundException($"The blob does not exist ({ex.ErrorCode ?? "404"}).", ex);
        }
        catch (Exception ex) when (BlobStorageErrors.FromException("download", ex, cancellationToken) is { } mapped)
        {
            throw mapped;
        }
    }

    public async Task<bool> DeleteIfExistsAsync(string blobName, CancellationToken cancellationToken)
    {
        BlobNames.Validate(blobName);

        // The SDK answers false for BlobNotFound and ContainerNotFound: already gone counts as deleted.
        var deleted = await SendAsync(
            "delete",
            () => _container.GetBlobClient(blobName).DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: cancellationToken),
            cancellationToken);
        return deleted.Value;
    }

    public async IAsyncEnumerable<BlobItem> GetBlobsAsync(string? prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var pages = _container.GetBlobsAsync(new GetBlobsOptions { Prefix = string.IsNullOrEmpty(prefix) ? null : prefix }, cancellationToken)
            .AsPages(pageSizeHint: _listPageSize)
            .GetAsyncEnumerator(cancellationToken);
        await using (pages)
        {
            while (await SendAsync("list", () => pages.MoveNextAsync().AsTask(), cancellationToken))
            {
                foreach (var blob in pages.Current.Values)
                {
                    var properties = blob.Properties;
                    yield return new BlobItem(blob.Name, properties.ContentLength ?? 0, properties.CreatedOn ?? properties.LastModified ?? DateTimeOffset.MinValue);
                }
            }
        }
    }

    public async Task CheckAvailableAsync(CancellationToken cancellationToken)
    {
        // Get Container Properties: cheap, and proves both reachability and authorization.
        await SendAsync("check", () => _container.GetPropertiesAsync(cancellationToken: cancellationToken), cancellationToken);
    }

    /// <summary>
    /// Put Block for each block-sized piece (first from the bytes already read, then from the stream
    /// into the same buffer), then Put Block List. Uncommitted blocks are invisible, so a failed upload
    /// leaves nothing readable behind.
    /// </summary>
    private async Task UploadInBlocksAsync(BlockBlobClient blob, byte[] buffer, int headLength, Stream rest, CancellationToken cancellationToken)
    {
        var blockIds = new List<string>();
        var offset = 0;
        while (headLength - offset >= _blockSizeBytes)
        {
            await StageBlockAsync(blob, blockIds, buffer, offset, _blockSizeBytes, cancellationToken);
            offset += _blockSizeBytes;
        }

        var blockSize = Math.Min(_blockSizeBytes, buffer.Length);
        buffer.AsSpan(offset, headLength - offset).CopyTo(buffer);
        var filled = headLength - offset;
        while (true)
        {
            filled += await FillAsync(rest, buffer.AsMemory(filled, blockSize - filled), cancellationToken);
            if (filled > 0)
            {
                await StageBlockAsync(blob, blockIds, buffer, 0, filled, cancellationToken);
            }

            if (filled < blockSize)
            {
                break;
            }

            filled = 0;
        }

        await SendAsync(
            "commit blocks",
            () => blob.CommitBlockListAsync(blockIds, new CommitBlockListOptions { HttpHeaders = OctetStream }, cancellationToken),
            cancellationToken);
    }

    private static async Task StageBlockAsync(BlockBlobClient blob, List<string> blockIds, byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        // Ids must have one length within a blob. A fixed-width counter says nothing about the image:
        // every blob's blocks have the same ids. (Kept out of logs all the same: AzureBlobStoreOptions.)
        var blockId = Convert.ToBase64String(Encoding.ASCII.GetBytes(blockIds.Count.ToString("D8", CultureInfo.InvariantCulture)));
        using var body = new MemoryStream(buffer, offset, count, writable: false);
        await SendAsync("upload block", () => blob.StageBlockAsync(blockId, body, options: null, cancellationToken), cancellationToken);
        blockIds.Add(blockId);
    }

    private static async Task<T> SendAsync<T>(string operation, Func<Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call();
        }
        catch (Exception ex) when (BlobStorageErrors.FromException(operation, ex, cancellationToken) is { } mapped)
        {
            throw mapped;
        }
    }

    /// <summary>Reads until <paramref name="buffer"/> is full or the stream ends; returns the count read.</summary>
    private static async Task<int> FillAsync(Stream stream, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var read = await stream.ReadAsync(buffer[total..], cancellationToken);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }
}
