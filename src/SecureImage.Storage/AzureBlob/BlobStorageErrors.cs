using Azure;
using Azure.Identity;
using SecureImage.Core.Blobs;

namespace SecureImage.Storage.AzureBlob;

/// <summary>Maps Blob service failures to the port's exceptions, keeping the x-ms-error-code for logs.</summary>
internal static class BlobStorageErrors
{
    /// <summary>Our own error code when the credential could not produce a token at all.</summary>
    public const string CredentialUnavailable = "CredentialUnavailable";

    /// <summary>Our own error code when the service could not be reached (connection refused, DNS, TLS).</summary>
    public const string ServiceUnreachable = "ServiceUnreachable";

    /// <summary>Our own error code when the service did not answer in time.</summary>
    public const string Timeout = "Timeout";

    public static string? ErrorCode(Response response) =>
        response.Headers.TryGetValue("x-ms-error-code", out var code) ? code : null;

    /// <summary>An unexpected status. 401 and 403 say the credentials were refused.</summary>
    public static BlobStoreUnavailableException FromResponse(string operation, Response response)
    {
        var code = ErrorCode(response);
        var message = response.Status is 401 or 403
            ? $"Blob storage refused the credentials for {operation} (status {response.Status}, {code ?? "no error code"})."
            : $"Blob storage {operation} failed with status {response.Status} ({code ?? "no error code"}).";
        return new BlobStoreUnavailableException(message, code, response.Status);
    }

    /// <summary>
    /// Maps an exception thrown while sending (after the pipeline's retries) to
    /// <see cref="BlobStoreUnavailableException"/>, or returns null when it is not a store failure.
    /// </summary>
    public static BlobStoreUnavailableException? FromException(string operation, Exception exception, CancellationToken cancellationToken) =>
        exception switch
        {
            // After its last retry the pipeline throws every attempt's failure together.
            AggregateException { InnerExceptions.Count: > 0 } all when FromException(operation, all.InnerExceptions[^1], cancellationToken) is { } last =>
                new BlobStoreUnavailableException(last.Message, last.ErrorCode, last.Status, exception),
            AuthenticationFailedException => new BlobStoreUnavailableException(
                $"Blob storage {operation}: no access token could be obtained.", CredentialUnavailable, null, exception),
            RequestFailedException { Status: 0 } => new BlobStoreUnavailableException(
                $"Blob storage could not be reached for {operation}.", ServiceUnreachable, null, exception),
            RequestFailedException failed => new BlobStoreUnavailableException(
                $"Blob storage {operation} failed with status {failed.Status}.", failed.ErrorCode, failed.Status, exception),
            OperationCanceledException when !cancellationToken.IsCancellationRequested => new BlobStoreUnavailableException(
                $"Blob storage did not answer {operation} in time.", Timeout, null, exception),
            HttpRequestException or IOException => new BlobStoreUnavailableException(
                $"Blob storage could not be reached for {operation}.", ServiceUnreachable, null, exception),
            _ => null,
        };
}
