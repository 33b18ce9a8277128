namespace SecureImage.Api.Problems;

/// <summary>
/// Problems the framework writes on its own (no route, wrong method, wrong content type) get the
/// same stable <c>type</c> URIs and a safe detail as the service's own.
/// </summary>
internal static class FrameworkProblems
{
    public static void UseStableTypes(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        if (problem.Type is not null && problem.Type.StartsWith("urn:secureimage:", StringComparison.Ordinal))
        {
            return;
        }

        (problem.Type, problem.Detail) = problem.Status switch
        {
            StatusCodes.Status400BadRequest => (Problems.Types.BadRequest, problem.Detail ?? "The request could not be read."),
            StatusCodes.Status401Unauthorized => (Problems.Types.Unauthorized, "Send a valid bot API key in the X-Api-Key header."),
            StatusCodes.Status403Forbidden => (Problems.Types.Forbidden, "This credential may not call this endpoint."),
            StatusCodes.Status404NotFound => (Problems.Types.NotFound, "There is nothing at this address."),
            StatusCodes.Status405MethodNotAllowed => (Problems.Prefix + "method-not-allowed", "This address does not accept this method."),
            StatusCodes.Status413PayloadTooLarge => (Problems.Types.UploadTooLarge, "The request body is larger than the service accepts."),
            StatusCodes.Status415UnsupportedMediaType => (Problems.Types.UnsupportedMediaType, "This endpoint does not accept a body of this content type."),
            >= 500 => (Problems.Types.InternalError, "Something went wrong on our side. It has been logged."),
            _ => (Problems.Prefix + "http-" + problem.Status, problem.Detail),
        };
    }
}
