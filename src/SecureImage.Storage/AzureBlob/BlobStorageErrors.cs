using Azure;
using Azure.Identity;
using SecureImage.Core.Blobs;

namespace SecureImage.Storage.AzureBlob;

/// <summary>
/// Maps the SDK's failures to the port's exceptions, keeping the status and the x-ms-error-code for logs
/// and readiness. The SDK's own messages are never copied: they can quote response bodies.
/// </summary>
internal static class BlobStorageErrors
{
    /// <summary>Our own error code when the credential could not produce a token at all.</summary>
    public const string CredentialUnavailable = "CredentialUnavailable";

    /// <summary>Our own error code when the service could not be reached (connection refused, DNS, TLS).</summary>
    public const string ServiceUnreachable = "ServiceUnreachable";

    /// <summary>Our own error code when the service did not answer in time.</summary>
    public const string Timeout = "Timeout";

    /// <summary>A status the operation does not expect. 401 and 403 say the credentials were refused.</summary>
    public static BlobStoreUnavailableException FromStatus(string operation, int status, string? code, Exception? inner = null)
    {
        var message = status is 401 or 403
            ? $"Blob storage refused the credentials for {operation} (status {status}, {code ?? "no error code"})."
            : $"Blob storage {operation} failed with status {status} ({code ?? "no error code"}).";
        return new BlobStoreUnavailableException(message, code, status, inner);
    }

    /// <summary>
    /// Maps an exception the SDK threw (after its retries) to <see cref="BlobStoreUnavailableException"/>,
    /// or returns null when it is no store failure. A caller's own cancellation is never an outage: then
    /// it is null too, and the caller's <see cref="OperationCanceledException"/> goes on.
    /// </summary>
    public static BlobStoreUnavailableException? FromException(string operation, Exception exception, CancellationToken cancellationToken) =>
        cancellationToken.IsCancellationRequested ? null : exception switch
        {
            // After its last retry the pipeline throws every attempt's failure together.
            AggregateException { InnerExceptions.Count: > 0 } all when FromException(operation, all.InnerExceptions[^1], cancellationToken) is { } last =>
                new BlobStoreUnavailableException(last.Message, last.ErrorCode, last.Status, exception),
            AuthenticationFailedException => new BlobStoreUnavailableException(
                $"Blob storage {operation}: no access token could be obtained.", CredentialUnavailable, null, exception),
            RequestFailedException { Status: 0 } => new BlobStoreUnavailableException(
                $"Blob storage could not be reached for {operation}.", ServiceUnreachable, null, exception),
            RequestFailedException failed => FromStatus(operation, failed.Status, failed.ErrorCode, exception),
            OperationCanceledException => new BlobStoreUnavailableException(
                $"Blob storage did not answer {operation} in time.", Timeout, null, exception),
            HttpRequestException or IOException => new BlobStoreUnavailableException(
                $"Blob storage could not be reached for {operation}.", ServiceUnreachable, null, exception),
            _ => null,
        };
}
