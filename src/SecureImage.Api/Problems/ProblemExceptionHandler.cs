using System.Security.Cryptography;
using SecureImage.Core.Diagnostics;
using Microsoft.AspNetCore.Diagnostics;
using SecureImage.Core.Blobs;
using SecureImage.Core.Catalog;
using SecureImage.Core.Crypto;

namespace SecureImage.Api.Problems;

/// <summary>
/// Last line for exceptions no handler expected: storage outages become 503 problems, malformed
/// requests the framework rejected keep their 4xx, everything else is a 500 logged by type only.
/// </summary>
internal sealed partial class ProblemExceptionHandler(IProblemDetailsService problems, ILogger<ProblemExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        int status;
        string type;
        string title;
        string detail;
        var cause = DependencyOutage(exception) ?? exception;
        switch (cause)
        {
            case BlobStoreUnavailableException blob:
                LogBlobStoreUnavailable(logger, blob.ErrorCode ?? "none", blob.Status ?? 0);
                (status, type, title, detail) = (503, Problems.Types.ServiceUnavailable, "Temporarily unavailable.", "The image store is not answering. Try again in a few seconds.");
                httpContext.Response.Headers.RetryAfter = "5";
                break;
            case CatalogUnavailableException:
                LogCatalogUnavailable(logger, cause.InnerException?.GetType().Name ?? "none");
                (status, type, title, detail) = (503, Problems.Types.ServiceUnavailable, "Temporarily unavailable.", "The catalog is not answering. Try again in a few seconds.");
                httpContext.Response.Headers.RetryAfter = "5";
                break;
            case KeyProviderUnavailableException key:
                LogKeyProviderUnavailable(logger, key.ErrorCode ?? "none");
                (status, type, title, detail) = (503, Problems.Types.ServiceUnavailable, "Temporarily unavailable.", "The key service is not answering. Try again later.");
                if (key.RetryAfter is { } retryAfter)
                {
                    // Throttled or unreachable: worth retrying soon. Denied or disabled keys need an operator: no hint.
                    httpContext.Response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                }
                break;
            case BadHttpRequestException bad:
                // Kestrel's own verdicts on the body (too large, too slow, malformed chunks): the same types as its verdicts on the head.
                (status, title) = (bad.StatusCode, bad.StatusCode == StatusCodes.Status413PayloadTooLarge ? "The upload is too large." : "The request is not valid.");
                (type, detail) = FrameworkProblems.ForStatus(status);
                break;
            case OperationCanceledException when httpContext.RequestAborted.IsCancellationRequested:
                // The client went away; nobody is left to answer.
                return true;
            default:
                LogUnhandled(logger, exception.GetType().FullName ?? "unknown", RedactedException.From(exception));
                (status, type, title, detail) = (500, Problems.Types.InternalError, "Internal error.", "Something went wrong on our side. It has been logged.");
                break;
        }

        if (httpContext.Response.HasStarted)
        {
            return false;
        }

        httpContext.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = { Status = status, Type = type, Title = title, Detail = detail },
        });
    }

    /// <summary>
    /// Data protection (anti-forgery tokens, OIDC cookies) wraps whatever its key ring failed on, the catalog that holds
    /// it or the KEK that seals it, in a generic <see cref="CryptographicException"/>; the outage underneath is what the
    /// answer is about (503, not 500).
    /// </summary>
    private static Exception? DependencyOutage(Exception exception)
    {
        if (exception is not CryptographicException)
        {
            return null;
        }

        for (var inner = exception.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (inner is CatalogUnavailableException or KeyProviderUnavailableException)
            {
                return inner;
            }
        }

        return null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Blob store unavailable (error code {ErrorCode}, status {Status}).")]
    private static partial void LogBlobStoreUnavailable(ILogger logger, string errorCode, int status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Catalog unavailable ({Cause}).")]
    private static partial void LogCatalogUnavailable(ILogger logger, string cause);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Key provider unavailable (error code {ErrorCode}).")]
    private static partial void LogKeyProviderUnavailable(ILogger logger, string errorCode);

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled {ExceptionType}.")]
    private static partial void LogUnhandled(ILogger logger, string exceptionType, Exception exception);
}
