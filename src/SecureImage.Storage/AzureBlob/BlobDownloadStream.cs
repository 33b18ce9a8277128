using Azure.Core;
using SecureImage.Core.Blobs;

namespace SecureImage.Storage.AzureBlob;

/// <summary>
/// The unbuffered body of a Get Blob answer. Owns the HTTP message (disposing the stream releases
/// the connection) and reports a connection lost mid-body as <see cref="BlobStoreUnavailableException"/>.
/// </summary>
internal sealed class BlobDownloadStream(Stream body, HttpMessage message) : ForwardOnlyReadStream
{
    public override int Read(byte[] buffer, int offset, int count)
    {
        try
        {
            return body.Read(buffer, offset, count);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            throw Interrupted(ex);
        }
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            return await body.ReadAsync(buffer, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw Interrupted(ex);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            body.Dispose();
            message.Dispose();
        }

        base.Dispose(disposing);
    }

    private static BlobStoreUnavailableException Interrupted(Exception inner) =>
        new("Blob storage stopped sending the blob before its end.", BlobStorageErrors.ServiceUnreachable, null, inner);
}
