using Azure.Storage.Blobs.Models;
using SecureImage.Core.Blobs;

namespace SecureImage.Storage.AzureBlob;

/// <summary>
/// The body of one Get Blob answer, read straight from the connection. Owns the SDK's result:
/// disposing the stream releases the connection, however much was read. A connection lost mid-body
/// (after the SDK's own resumptions) is reported as <see cref="BlobStoreUnavailableException"/>.
/// </summary>
internal sealed class BlobDownloadStream(BlobDownloadStreamingResult result) : ForwardOnlyReadStream
{
    private readonly Stream _body = result.Content;

    public override int Read(byte[] buffer, int offset, int count)
    {
        try
        {
            return _body.Read(buffer, offset, count);
        }
        catch (Exception ex) when (BlobStorageErrors.FromException("download", ex, CancellationToken.None) is { } mapped)
        {
            throw Interrupted(mapped);
        }
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            return await _body.ReadAsync(buffer, cancellationToken);
        }
        catch (Exception ex) when (BlobStorageErrors.FromException("download", ex, cancellationToken) is { } mapped)
        {
            throw Interrupted(mapped);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            result.Dispose();
        }

        base.Dispose(disposing);
    }

    private static BlobStoreUnavailableException Interrupted(BlobStoreUnavailableException cause) =>
        new("Blob storage stopped sending the blob before its end.", cause.ErrorCode ?? BlobStorageErrors.ServiceUnreachable, cause.Status, cause.InnerException);
}
