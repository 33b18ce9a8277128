namespace SecureImage.Api.Problems;

/// <summary>
/// Problems the framework writes on its own (no route, wrong method, wrong content type) and the answers Kestrel
/// gives to requests it cannot parse get the same stable <c>type</c> URIs and a safe detail as the service's own.
/// </summary>
internal static class FrameworkProblems
{
    public const string RequestTimeout = Problems.Prefix + "request-timeout";
    public const string RequestTargetTooLong = Problems.Prefix + "request-target-too-long";
    public const string RequestHeadersTooLarge = Problems.Prefix + "request-headers-too-large";
    public const string HttpVersionNotSupported = Problems.Prefix + "http-version-not-supported";

    public static void UseStableTypes(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        if (problem.Type is not null && problem.Type.StartsWith("urn:secureimage:", StringComparison.Ordinal))
        {
            return;
        }

        (problem.Type, problem.Detail) = ForStatus(problem.Status ?? StatusCodes.Status500InternalServerError, problem.Detail);
    }

    /// <summary>The stable type and a safe detail of an error known only by its status; <paramref name="detail"/> is kept for a 400.</summary>
    public static (string Type, string Detail) ForStatus(int status, string? detail = null) => status switch
    {
        StatusCodes.Status400BadRequest => (Problems.Types.BadRequest, detail ?? "The request could not be read."),
        StatusCodes.Status401Unauthorized => (Problems.Types.Unauthorized, "Send a valid bot API key in the X-Api-Key header."),
        StatusCodes.Status403Forbidden => (Problems.Types.Forbidden, "This credential may not call this endpoint."),
        StatusCodes.Status404NotFound => (Problems.Types.NotFound, "There is nothing at this address."),
        StatusCodes.Status405MethodNotAllowed => (Problems.Prefix + "method-not-allowed", "This address does not accept this method."),
        StatusCodes.Status408RequestTimeout => (RequestTimeout, "The request did not arrive in time."),
        StatusCodes.Status413PayloadTooLarge => (Problems.Types.UploadTooLarge, "The request body is larger than the service accepts."),
        StatusCodes.Status414UriTooLong => (RequestTargetTooLong, "The path and query of the request are longer than the service accepts."),
        StatusCodes.Status415UnsupportedMediaType => (Problems.Types.UnsupportedMediaType, "This endpoint does not accept a body of this content type."),
        StatusCodes.Status431RequestHeaderFieldsTooLarge => (RequestHeadersTooLarge, "The request headers are larger than the service accepts."),
        StatusCodes.Status505HttpVersionNotsupported => (HttpVersionNotSupported, "Send the request over HTTP/1.1."),
        >= 500 => (Problems.Types.InternalError, "Something went wrong on our side. It has been logged."),
        _ => (Problems.Prefix + "http-" + status, detail ?? "The request could not be processed."),
    };
}
