using System.Diagnostics;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using SecureImage.Api.Configuration;
using SecureImage.Api.Features.Links;
using SecureImage.Api.Security;
using SecureImage.Api.Telemetry;
using SecureImage.Core;
using SecureImage.Core.Catalog;
using SecureImage.Core.Diagnostics;
using SecureImage.Core.Imaging;
using SecureImage.Core.Ingestion;

namespace SecureImage.Api.Features.Uploads;

internal sealed record UploadedImageResponse(
    Guid Id,
    string ContentType,
    long Bytes,
    int Width,
    int Height,
    DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt,
    LinkResponse Link);

/// <summary>
/// POST /v1/images: a multipart form with <c>file</c> and <c>consentId</c>, read as a stream (never
/// buffered to disk: that would put plaintext image bytes there). The size limit is enforced while
/// reading, whatever Content-Length claims.
/// </summary>
internal static partial class UploadsEndpoints
{
    private const string FileField = "file";
    private const string ConsentField = "consentId";

    // Room for multipart boundaries and the small form fields around the file.
    private const long MultipartOverheadBytes = 64 * 1024;
    private const int MaxFieldBytes = 1024;

    public static RouteGroupBuilder MapUploadsEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/images").RequireAuthorization(ApiKeyDefaults.BotPolicy).WithTags("Images");
        group.MapPost("/", UploadImageAsync)
            .WithName("UploadImage")
            .WithSummary("Upload an image under a consent (multipart/form-data: file, consentId).")
            .Accepts<UploadForm>("multipart/form-data")
            .DisableAntiforgery();
        return group;
    }

    public static async Task<Results<Created<UploadedImageResponse>, ProblemHttpResult>> UploadImageAsync(
        HttpRequest request,
        ClaimsPrincipal user,
        IImageCatalog catalog,
        ImageIngestion ingestion,
        LinkIssuer links,
        IOptions<LimitsOptions> limits,
        ServiceMetrics metrics,
        TimeProvider timeProvider,
        ILogger<UploadLog> logger,
        CancellationToken cancellationToken)
    {
        // The span carries the bot id, the outcome and a reason code; never the file name or the consent's subject.
        using var activity = Tracing.Source.StartActivity("secureimage.upload");
        activity?.SetTag(Tracing.Tags.BotId, user.BotId());
        try
        {
            return await UploadAsync(request, user, catalog, ingestion, links, limits.Value.MaxUploadBytes, new UploadTelemetry(activity, metrics), timeProvider, logger, cancellationToken);
        }
        catch (Exception ex)
        {
            activity.Fail(Tracing.CodeOf(ex));
            throw;
        }
    }

    private static async Task<Results<Created<UploadedImageResponse>, ProblemHttpResult>> UploadAsync(
        HttpRequest request,
        ClaimsPrincipal user,
        IImageCatalog catalog,
        ImageIngestion ingestion,
        LinkIssuer links,
        long maxBytes,
        UploadTelemetry telemetry,
        TimeProvider timeProvider,
        ILogger<UploadLog> logger,
        CancellationToken cancellationToken)
    {
        var botId = user.BotId();
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodyLimit)
        {
            bodyLimit.MaxRequestBodySize = maxBytes + MultipartOverheadBytes;
        }

        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType)
            || !mediaType.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase)
            || HeaderUtilities.RemoveQuotes(mediaType.Boundary).Length is 0 or > 256)
        {
            return Problems.Problems.UnsupportedMediaType("Send the upload as multipart/form-data with the fields 'file' and 'consentId'.");
        }

        var attempt = new UploadAttempt(botId, catalog, ingestion, telemetry, timeProvider);
        try
        {
            var reader = new MultipartReader(HeaderUtilities.RemoveQuotes(mediaType.Boundary).ToString(), request.Body)
            {
                HeadersLengthLimit = 16 * 1024,
                HeadersCountLimit = 16,
            };
            while (await reader.ReadNextSectionAsync(cancellationToken) is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition) || !disposition.DispositionType.Equals("form-data", StringComparison.OrdinalIgnoreCase))
                {
                    return await attempt.RefuseAsync(Problems.Problems.BadRequest("Every part of the form needs a Content-Disposition: form-data header."), null, cancellationToken);
                }

                var name = HeaderUtilities.RemoveQuotes(disposition.Name).ToString();
                if (name == ConsentField)
                {
                    if (attempt.ConsentIdText is not null)
                    {
                        return await attempt.RefuseAsync(Problems.Problems.BadRequest("'consentId' appears more than once."), null, cancellationToken);
                    }

                    attempt.ConsentIdText = await ReadFieldAsync(section.Body, cancellationToken);
                    if (attempt.ConsentIdText is null)
                    {
                        return await attempt.RefuseAsync(Problems.Problems.BadRequest("'consentId' is too long."), null, cancellationToken);
                    }

                    if (attempt.Stored is null && await attempt.CheckConsentAsync(cancellationToken) is { } refused)
                    {
                        return refused;
                    }
                }
                else if (name == FileField)
                {
                    if (attempt.Stored is not null)
                    {
                        return await attempt.RefuseAsync(Problems.Problems.BadRequest("Send one 'file' per upload."), null, cancellationToken);
                    }

                    // With the consent already known, refuse before reading the image at all.
                    if (attempt.ConsentIdText is not null && await attempt.CheckConsentAsync(cancellationToken) is { } refused)
                    {
                        return refused;
                    }

                    // The request's declared length (when not chunked) tells the blob store a 16 MiB image is large before it reads any.
                    attempt.Stored = await ingestion.StoreAsync(new MaxLengthReadStream(section.Body, maxBytes), request.ContentLength, cancellationToken);
                }
                else
                {
                    // Unknown fields are read past, bounded by the request size limit.
                    await section.Body.DrainAsync(cancellationToken);
                }
            }
        }
        catch (UploadTooLargeException)
        {
            return await attempt.RefuseAsync(Problems.Problems.UploadTooLarge(maxBytes), RejectionReasons.TooLarge, cancellationToken);
        }
        catch (UploadTimedOutException)
        {
            return await attempt.RefuseAsync(UploadTimedOut(), null, cancellationToken);
        }
        catch (ImageRejectedException ex)
        {
            Log.ImageRejected(logger, ex.Reason);
            return await attempt.RefuseAsync(RejectionProblem(ex), ex.Reason == ImageRejection.UnsupportedType ? RejectionReasons.BadType : RejectionReasons.Malformed, cancellationToken);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return await attempt.RefuseAsync(Problems.Problems.UploadTooLarge(maxBytes), RejectionReasons.TooLarge, cancellationToken);
        }
        catch (BadHttpRequestException ex) when (!request.HttpContext.RequestAborted.IsCancellationRequested)
        {
            // Kestrel's other verdicts on the body keep their status: 408 too slow, 431 trailers too large, 400 broken framing.
            var (type, detail) = Problems.FrameworkProblems.ForStatus(ex.StatusCode);
            return await attempt.RefuseAsync(Problems.Problems.Make(ex.StatusCode, type, "The request is not valid.", detail), null, cancellationToken);
        }
        catch (InvalidDataException)
        {
            // MultipartReader's word for a malformed body.
            return await attempt.RefuseAsync(Problems.Problems.BadRequest("The multipart body is malformed."), null, cancellationToken);
        }
        catch (IOException) when (!cancellationToken.IsCancellationRequested && !request.HttpContext.RequestAborted.IsCancellationRequested)
        {
            return await attempt.RefuseAsync(Problems.Problems.BadRequest("The request body ended early."), null, cancellationToken);
        }
        catch
        {
            await attempt.DiscardAsync();
            throw;
        }

        if (attempt.Stored is null)
        {
            return await attempt.RefuseAsync(Problems.Problems.BadRequest("The form has no 'file' part."), null, cancellationToken);
        }

        if (await attempt.CheckConsentAsync(cancellationToken) is { } refusedAtEnd)
        {
            return refusedAtEnd;
        }

        ImageRecord image;
        try
        {
            image = await ingestion.CommitAsync(attempt.Stored, attempt.Consent!, cancellationToken);
        }
        catch (ConsentNotInForceException)
        {
            // Withdrawn while the image was being stored; the blob is already deleted.
            attempt.Stored = null;
            return await attempt.RefuseAsync(Problems.Problems.ConsentWithdrawn(), RejectionReasons.NoConsent, cancellationToken);
        }
        catch (UploadTimedOutException)
        {
            // Committed too late to be safe from reconciliation; the blob is already deleted.
            attempt.Stored = null;
            return await attempt.RefuseAsync(UploadTimedOut(), null, cancellationToken);
        }

        telemetry.Stored(image);
        request.HttpContext.RequestServices.GetRequiredService<Previews.PreviewSignal>().Wake();
        Log.ImageStored(logger, image.Id, image.Bytes);
        var link = await links.IssueAsync(image, request, $"bot:{botId}", cancellationToken);
        return TypedResults.Created(
            $"/v1/images/{image.Id}",
            new UploadedImageResponse(image.Id, image.ContentType, image.Bytes, image.Width, image.Height, image.CreatedAt, image.ExpiresAt, link!));
    }

    private static ProblemHttpResult UploadTimedOut() =>
        Problems.Problems.Make(StatusCodes.Status408RequestTimeout, Problems.FrameworkProblems.ForStatus(StatusCodes.Status408RequestTimeout).Type, "The upload took too long.", "The upload did not finish within the time the service allows (Limits:UploadTimeout). Send it again.");

    private static ProblemHttpResult RejectionProblem(ImageRejectedException ex) => ex.Reason switch
    {
        ImageRejection.UnsupportedType => Problems.Problems.Make(415, Problems.Problems.Types.UnsupportedImageType, "Not an accepted image type.", ex.Message),
        ImageRejection.DimensionsTooLarge => Problems.Problems.Make(422, Problems.Problems.Types.ImageDimensionsTooLarge, "The image is too large.", ex.Message),
        ImageRejection.TooManyFrames => Problems.Problems.Make(422, Problems.Problems.Types.TooManyFrames, "The animation is too long.", ex.Message),
        _ => Problems.Problems.Make(422, Problems.Problems.Types.MalformedImage, "The image is malformed.", ex.Message),
    };

    private static async Task<string?> ReadFieldAsync(Stream body, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxFieldBytes + 1];
        var total = 0;
        int read;
        while ((read = await body.ReadAsync(buffer.AsMemory(total), cancellationToken)) > 0)
        {
            total += read;
            if (total > MaxFieldBytes)
            {
                return null;
            }
        }

        return System.Text.Encoding.UTF8.GetString(buffer, 0, total).Trim();
    }

    /// <summary>The state of one upload request: the consent it names and the image stored so far.</summary>
    private sealed class UploadAttempt(string botId, IImageCatalog catalog, ImageIngestion ingestion, UploadTelemetry telemetry, TimeProvider timeProvider)
    {
        public string? ConsentIdText { get; set; }

        public ConsentRecord? Consent { get; private set; }

        public StoredImage? Stored { get; set; }

        /// <summary>Null when the named consent is this bot's and in force; else the 403 to answer (the stored image discarded).</summary>
        public async Task<ProblemHttpResult?> CheckConsentAsync(CancellationToken cancellationToken)
        {
            if (string.IsNullOrEmpty(ConsentIdText))
            {
                return await RefuseAsync(Problems.Problems.ConsentMissing(), RejectionReasons.NoConsent, cancellationToken);
            }

            if (Consent is null)
            {
                var found = Guid.TryParse(ConsentIdText, out var consentId) ? await catalog.FindConsentAsync(consentId, cancellationToken) : null;
                if (found is null || found.BotId != botId)
                {
                    return await RefuseAsync(Problems.Problems.ConsentUnknown(), RejectionReasons.NoConsent, cancellationToken);
                }

                Consent = found;
            }

            return Consent.IsWithdrawn ? await RefuseAsync(Problems.Problems.ConsentWithdrawn(), RejectionReasons.NoConsent, cancellationToken) : null;
        }

        public async Task<ProblemHttpResult> RefuseAsync(ProblemHttpResult problem, string? rejectionReason, CancellationToken cancellationToken)
        {
            await DiscardAsync();
            telemetry.Rejected(rejectionReason ?? Problems.Problems.Code(problem));
            if (rejectionReason is not null)
            {
                await catalog.AppendAuditAsync(
                    new AuditEvent(timeProvider.UtcNowMilliseconds(), AuditKinds.UploadRejected, botId, null, Consent?.Id, $"bot:{botId}", rejectionReason),
                    cancellationToken);
            }

            return problem;
        }

        public async Task DiscardAsync()
        {
            if (Stored is not null)
            {
                await ingestion.DiscardAsync(Stored);
                Stored = null;
            }
        }
    }

    /// <summary>The upload's span and counters: outcome, reason code, image id, format and size only.</summary>
    private sealed class UploadTelemetry(Activity? activity, ServiceMetrics metrics)
    {
        public void Stored(ImageRecord image)
        {
            var format = Tracing.FormatOf(image.ContentType);
            activity?.SetTag(Tracing.Tags.Outcome, "stored");
            activity?.SetTag(Tracing.Tags.ImageId, image.Id);
            activity?.SetTag(Tracing.Tags.Format, format);
            activity?.SetTag(Tracing.Tags.Bytes, image.Bytes);
            metrics.Uploaded("upload", format);
        }

        public void Rejected(string reason)
        {
            activity?.SetTag(Tracing.Tags.Outcome, "rejected");
            activity?.SetTag(Tracing.Tags.Reason, reason);
            metrics.UploadRejected(reason);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "Image {ImageId} stored ({Bytes} bytes after sanitizing).")]
        public static partial void ImageStored(ILogger logger, Guid imageId, long bytes);

        [LoggerMessage(Level = LogLevel.Information, Message = "Upload rejected by the sanitizer: {Reason}.")]
        public static partial void ImageRejected(ILogger logger, ImageRejection reason);
    }
}

/// <summary>The form, for the OpenAPI document only: the handler reads the body as a stream.</summary>
internal sealed record UploadForm(IFormFile File, Guid ConsentId);

/// <summary>Logger category for uploads.</summary>
internal sealed class UploadLog;
