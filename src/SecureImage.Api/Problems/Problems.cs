using Microsoft.AspNetCore.Http.HttpResults;

namespace SecureImage.Api.Problems;

/// <summary>
/// Every error the API returns, with a stable <c>type</c> URI. <c>detail</c> is safe to show to an
/// end user; internal detail goes to logs only.
/// </summary>
internal static class Problems
{
    public const string Prefix = "urn:secureimage:problem:";

    public static class Types
    {
        public const string BadRequest = Prefix + "bad-request";
        public const string Unauthorized = Prefix + "unauthorized";
        public const string Forbidden = Prefix + "forbidden";
        public const string ConsentMissing = Prefix + "consent-missing";
        public const string ConsentUnknown = Prefix + "consent-unknown";
        public const string ConsentWithdrawn = Prefix + "consent-withdrawn";
        public const string NotFound = Prefix + "not-found";
        public const string LinkInvalid = Prefix + "link-invalid";
        public const string ImageGone = Prefix + "image-gone";
        public const string UploadTooLarge = Prefix + "upload-too-large";
        public const string UnsupportedMediaType = Prefix + "unsupported-media-type";
        public const string UnsupportedImageType = Prefix + "unsupported-image-type";
        public const string MalformedImage = Prefix + "malformed-image";
        public const string ImageDimensionsTooLarge = Prefix + "image-dimensions-too-large";
        public const string TooManyFrames = Prefix + "too-many-frames";
        public const string ImageBlocked = Prefix + "image-blocked";
        public const string PreviewUnavailable = Prefix + "preview-unavailable";
        public const string ServiceUnavailable = Prefix + "service-unavailable";
        public const string InternalError = Prefix + "internal-error";
    }

    public static ProblemHttpResult BadRequest(string detail) => Make(StatusCodes.Status400BadRequest, Types.BadRequest, "The request is not valid.", detail);

    public static ProblemHttpResult NotFound(string what) => Make(StatusCodes.Status404NotFound, Types.NotFound, "Not found.", $"No {what} with this id exists for this bot.");

    public static ProblemHttpResult ConsentMissing() =>
        Make(StatusCodes.Status403Forbidden, Types.ConsentMissing, "Consent is required.", "The upload names no consent. Record a consent with POST /v1/consents and send its id as the consentId form field.");

    public static ProblemHttpResult ConsentUnknown() =>
        Make(StatusCodes.Status403Forbidden, Types.ConsentUnknown, "Consent is required.", "No consent with this id exists for this bot.");

    public static ProblemHttpResult ConsentWithdrawn() =>
        Make(StatusCodes.Status403Forbidden, Types.ConsentWithdrawn, "Consent is required.", "This consent has been withdrawn; images can no longer be stored under it.");

    public static ProblemHttpResult LinkInvalid() =>
        Make(StatusCodes.Status403Forbidden, Types.LinkInvalid, "The link is not valid.", "The link is invalid or has expired. Ask for a new link.");

    public static ProblemHttpResult ImageGone() =>
        Make(StatusCodes.Status410Gone, Types.ImageGone, "The image is gone.", "The image has expired or was erased.");

    public static ProblemHttpResult ImageBlocked() =>
        Make(StatusCodes.Status451UnavailableForLegalReasons, Types.ImageBlocked, "The image is blocked.", "The image was reported and is not available.");

    public static ProblemHttpResult PreviewUnavailable() =>
        Make(StatusCodes.Status404NotFound, Types.PreviewUnavailable, "No preview of this image.", "No preview can be made of this image. The original is still available: ask for a link without a variant.");

    public static ProblemHttpResult UploadTooLarge(long maxBytes) =>
        Make(StatusCodes.Status413PayloadTooLarge, Types.UploadTooLarge, "The upload is too large.", $"The image is larger than the limit of {maxBytes} bytes.");

    public static ProblemHttpResult UnsupportedMediaType(string detail) =>
        Make(StatusCodes.Status415UnsupportedMediaType, Types.UnsupportedMediaType, "Unsupported request body.", detail);

    public static ProblemHttpResult ServiceUnavailable() =>
        Make(StatusCodes.Status503ServiceUnavailable, Types.ServiceUnavailable, "Temporarily unavailable.", "A storage backend is not answering. Try again in a few seconds.");

    /// <summary>The problem's stable code: its type without the prefix (e.g. <c>link-invalid</c>), for spans and metrics.</summary>
    public static string Code(ProblemHttpResult problem)
    {
        ArgumentNullException.ThrowIfNull(problem);
        return problem.ProblemDetails.Type is { } type && type.StartsWith(Prefix, StringComparison.Ordinal) ? type[Prefix.Length..] : "problem";
    }

    public static ProblemHttpResult Make(int status, string type, string title, string detail) =>
        TypedResults.Problem(statusCode: status, type: type, title: title, detail: detail);
}
