using Microsoft.AspNetCore.Http.HttpResults;
using SecureImage.Api.Features.Images;
using SecureImage.Api.Telemetry;
using SecureImage.Core;
using SecureImage.Core.Blobs;
using SecureImage.Core.Catalog;
using SecureImage.Core.Crypto;
using SecureImage.Core.Diagnostics;
using SecureImage.Core.Links;

namespace SecureImage.Api.Features.Downloads;

/// <summary>
/// GET {link}: the link's signature and expiry are the only credential. Invalid and expired links get
/// the same 403 body; the image streams from the blob through decryption, never whole in memory.
/// </summary>
internal static partial class DownloadsEndpoints
{
    public static RouteGroupBuilder MapDownloadsEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/downloads").AllowAnonymous().WithTags("Downloads");
        group.MapGet("/{id:guid}", DownloadImageAsync).WithName("DownloadImage").WithSummary("The image bytes, through a signed link.")
            .AddEndpointFilter(TraceDownloadAsync);
        return group;
    }

    /// <summary>
    /// The download's span and counter: the image id and an outcome code (served, or the problem answered).
    /// The link's query (signature, expiry) is never recorded.
    /// </summary>
    private static async ValueTask<object?> TraceDownloadAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        using var activity = Tracing.Source.StartActivity("secureimage.download");
        activity?.SetTag(Tracing.Tags.ImageId, context.GetArgument<Guid>(0));
        var metrics = context.HttpContext.RequestServices.GetRequiredService<ServiceMetrics>();
        var outcome = "cancelled";
        try
        {
            var result = await next(context);
            outcome = (result is INestedHttpResult nested ? nested.Result : result) is ProblemHttpResult problem ? Problems.Problems.Code(problem) : "served";
            activity?.SetTag(Tracing.Tags.Outcome, outcome);
            return result;
        }
        catch (Exception ex)
        {
            outcome = Tracing.CodeOf(ex);
            activity.Fail(outcome);
            throw;
        }
        finally
        {
            metrics.Downloaded(outcome);
        }
    }

    public static async Task<Results<FileStreamHttpResult, ProblemHttpResult>> DownloadImageAsync(
        Guid id,
        string? exp,
        string? kid,
        string? sig,
        string? variant,
        HttpContext context,
        LinkSigner signer,
        IImageCatalog catalog,
        IBlobStore blobs,
        IKeyEncryptionKey kek,
        Core.Previews.PreviewMaker previews,
        TimeProvider timeProvider,
        ILogger<DownloadLog> logger,
        CancellationToken cancellationToken)
    {
        var response = context.Response;
        response.Headers.CacheControl = "no-store";
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers["Referrer-Policy"] = "no-referrer";

        // Whole milliseconds, as the catalog keeps times: the catalog's servable check and ours below see the same instant.
        var now = timeProvider.UtcNowMilliseconds();
        if (!signer.Verify(id, exp, kid, sig, variant, now, out var linkVariant))
        {
            return Problems.Problems.LinkInvalid();
        }

        // An original's download event is written with the read (one round trip); it marks a servable image whose serving
        // began, so an erasure landing between the read and the blob (a 410 below) still shows as that attempt.
        // A preview's is written once the preview is known to exist.
        var image = linkVariant == LinkVariant.Preview
            ? await catalog.FindImageAsync(id, cancellationToken)
            : await catalog.FindImageForDownloadAsync(id, now, "link", null, cancellationToken);
        if (image is null)
        {
            return Problems.Problems.ImageGone();
        }

        if (ImageStatus.Unavailable(image, now) is { } problem)
        {
            return problem;
        }

        // What is served: the original, or the preview (made now if the background job has not yet).
        var (envelopeId, wrappedKey, blobName, bytes, contentType) = (image.Id, image.WrappedKey!, image.BlobName, image.Bytes, image.ContentType);
        if (linkVariant == LinkVariant.Preview)
        {
            if (await Previews.PreviewDownloads.FindAsync(image, previews, timeProvider, cancellationToken) is not { } preview)
            {
                return Problems.Problems.ImageGone();
            }

            if (preview.Problem is not null)
            {
                return preview.Problem;
            }

            (envelopeId, wrappedKey, blobName, bytes, contentType) = (preview.Preview!.Id, preview.Preview.WrappedKey!, preview.Preview.BlobName, preview.Preview.Bytes, preview.Preview.ContentType);
        }

        byte[] dataKey;
        using (var unwrap = Tracing.Source.StartActivity("secureimage.kek.unwrap"))
        {
            try
            {
                dataKey = await kek.UnwrapKeyAsync(wrappedKey, envelopeId, cancellationToken);
            }
            catch (Exception ex)
            {
                unwrap.Fail(Tracing.CodeOf(ex));
                if (ex is KeyUnwrapException)
                {
                    Log.KeyUnwrapFailed(logger, image.Id);
                }

                throw;
            }
        }

        try
        {
            Stream blob;
            try
            {
                blob = await blobs.DownloadStreamingAsync(blobName, cancellationToken);
            }
            catch (BlobNotFoundException)
            {
                // Erased between the catalog read and now.
                return Problems.Problems.ImageGone();
            }

            try
            {
                if (linkVariant == LinkVariant.Preview)
                {
                    await catalog.AppendAuditAsync(
                        new AuditEvent(timeProvider.UtcNowMilliseconds(), AuditKinds.ImageDownloaded, image.BotId, image.Id, image.ConsentId, "link", "preview"),
                        cancellationToken);
                }

                response.ContentLength = bytes;
                response.Headers.ContentSecurityPolicy = "default-src 'none'; sandbox";
                response.Headers.ContentDisposition = "inline";

                // From here the result owns the blob stream and disposes it however the response ends.
                return TypedResults.Stream(new EnvelopeDecryptingStream(blob, dataKey, envelopeId), contentType);
            }
            catch
            {
                // Nobody will read it: on Azure an open download holds a pooled connection until disposed.
                await blob.DisposeAsync();
                throw;
            }
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(dataKey);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Error, Message = "The data key of image {ImageId} could not be unwrapped.")]
        public static partial void KeyUnwrapFailed(ILogger logger, Guid imageId);
    }
}

/// <summary>Logger category for downloads.</summary>
internal sealed class DownloadLog;
