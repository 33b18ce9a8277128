namespace SecureImage.Core.Blobs;

/// <summary>
/// Where encrypted image envelopes live: Azure Blob Storage (through Azure.Storage.Blobs) in production,
/// a folder in the embedded default. Method names follow the SDK's BlobContainerClient and BlobClient.
/// </summary>
public interface IBlobStore
{
    /// <summary>Creates the container (private) if it does not exist yet.</summary>
    Task CreateIfNotExistsAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Streams <paramref name="content"/> into a new blob. The blob becomes visible only when the
    /// whole stream has been written; a failed upload leaves nothing readable behind.
    /// </summary>
    /// <exception cref="BlobStoreUnavailableException">The store could not be reached.</exception>
    Task UploadAsync(string blobName, Stream content, CancellationToken cancellationToken);

    /// <summary>
    /// <see cref="UploadAsync(string, Stream, CancellationToken)"/> with what the caller expects the content to hold
    /// (e.g. from the request's Content-Length). A hint only: the content decides. A store that buffers can skip
    /// buffering what it would need only to learn the length; the others ignore it.
    /// </summary>
    Task UploadAsync(string blobName, Stream content, long? expectedLength, CancellationToken cancellationToken) =>
        UploadAsync(blobName, content, cancellationToken);

    /// <summary>Opens the blob for reading as a stream.</summary>
    /// <exception cref="BlobNotFoundException">No blob of that name.</exception>
    /// <exception cref="BlobStoreUnavailableException">The store could not be reached.</exception>
    Task<Stream> DownloadStreamingAsync(string blobName, CancellationToken cancellationToken);

    /// <summary>Deletes the blob; returns false when it did not exist (which is not an error).</summary>
    Task<bool> DeleteIfExistsAsync(string blobName, CancellationToken cancellationToken);

    /// <summary>Lists blobs whose names start with <paramref name="prefix"/>, following continuations.</summary>
    IAsyncEnumerable<BlobItem> GetBlobsAsync(string? prefix, CancellationToken cancellationToken);

    /// <summary>A cheap round trip proving the store answers (for readiness).</summary>
    Task CheckAvailableAsync(CancellationToken cancellationToken);
}

public sealed record BlobItem(string Name, long ContentLength, DateTimeOffset CreatedOn);

/// <summary>The blob does not exist.</summary>
public sealed class BlobNotFoundException : Exception
{
    public BlobNotFoundException()
    {
    }

    public BlobNotFoundException(string message)
        : base(message)
    {
    }

    public BlobNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// The blob store failed or could not be reached. <see cref="ErrorCode"/> keeps the store's own
/// error code for logs; the client sees a 503 problem.
/// </summary>
public sealed class BlobStoreUnavailableException : Exception
{
    public BlobStoreUnavailableException()
    {
    }

    public BlobStoreUnavailableException(string message)
        : base(message)
    {
    }

    public BlobStoreUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public BlobStoreUnavailableException(string message, string? errorCode, int? status, Exception? innerException = null)
        : base(message, innerException)
    {
        ErrorCode = errorCode;
        Status = status;
    }

    public string? ErrorCode { get; }

    public int? Status { get; }
}
