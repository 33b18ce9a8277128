using SecureImage.Core.Blobs;

namespace SecureImage.Tests.Shared;

/// <summary>
/// A blob store whose deletes stop before they reach the store until <see cref="Resume"/>: the test
/// acts while an erase sits between its catalog decision and its blob delete.
/// </summary>
internal sealed class PausingBlobDeletes(IBlobStore inner) : IBlobStore
{
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _resumed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the first delete has started (and is paused).</summary>
    public Task DeleteStarted => _started.Task;

    public void Resume() => _resumed.TrySetResult();

    public async Task<bool> DeleteIfExistsAsync(string blobName, CancellationToken cancellationToken)
    {
        _started.TrySetResult();
        await _resumed.Task.WaitAsync(cancellationToken);
        return await inner.DeleteIfExistsAsync(blobName, cancellationToken);
    }

    public Task CreateIfNotExistsAsync(CancellationToken cancellationToken) => inner.CreateIfNotExistsAsync(cancellationToken);

    public Task UploadAsync(string blobName, Stream content, CancellationToken cancellationToken) => inner.UploadAsync(blobName, content, cancellationToken);

    public Task UploadAsync(string blobName, Stream content, long? expectedLength, CancellationToken cancellationToken) => inner.UploadAsync(blobName, content, expectedLength, cancellationToken);

    public Task<Stream> DownloadStreamingAsync(string blobName, CancellationToken cancellationToken) => inner.DownloadStreamingAsync(blobName, cancellationToken);

    public IAsyncEnumerable<BlobItem> GetBlobsAsync(string? prefix, CancellationToken cancellationToken) => inner.GetBlobsAsync(prefix, cancellationToken);

    public Task CheckAvailableAsync(CancellationToken cancellationToken) => inner.CheckAvailableAsync(cancellationToken);
}
