using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using SecureImage.Api.Features.Images;
using SecureImage.Api.Security;
using SecureImage.Api.Problems;
using SecureImage.Core.Catalog;
using SecureImage.Core.Links;

namespace SecureImage.Api.Features.Links;

internal static class LinksEndpoints
{
    public static RouteGroupBuilder MapLinksEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/images/{id:guid}/links").RequireAuthorization(ApiKeyDefaults.BotPolicy).WithTags("Links");
        group.MapPost("/", IssueLinkAsync).WithName("IssueLink").WithSummary("Issue a fresh download link (10 minutes at most); body {\"variant\": \"preview\"} for the preview rendition.");
        return group;
    }

    public static async Task<Results<Created<LinkResponse>, ProblemHttpResult>> IssueLinkAsync(
        Guid id, HttpRequest request, ClaimsPrincipal user, IImageCatalog catalog, LinkIssuer links, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var variant = LinkVariant.Original;
        if (request.ContentLength is > 0 || request.Headers.TransferEncoding.Count > 0)
        {
            var (body, bodyProblem) = await JsonRequestBody.ReadAsync<LinkRequest>(request, "Send application/json: {\"variant\": \"original\"} or {\"variant\": \"preview\"}, or no body.", cancellationToken);
            if (bodyProblem is not null)
            {
                return bodyProblem;
            }

            switch (body?.Variant)
            {
                case null or "original":
                    break;
                case "preview":
                    variant = LinkVariant.Preview;
                    break;
                default:
                    return Problems.Problems.BadRequest("variant must be \"original\" or \"preview\".");
            }
        }

        var botId = user.BotId();
        var image = await catalog.FindImageAsync(id, cancellationToken);
        if (image is null || image.BotId != botId)
        {
            return Problems.Problems.NotFound("image");
        }

        if (ImageStatus.Unavailable(image, timeProvider.GetUtcNow()) is { } problem)
        {
            return problem;
        }

        if (variant == LinkVariant.Preview && image.PreviewState == PreviewState.Unavailable)
        {
            return Problems.Problems.PreviewUnavailable();
        }

        var link = await links.IssueAsync(image, request, $"bot:{botId}", variant, cancellationToken);
        return link is null ? Problems.Problems.ImageGone() : TypedResults.Created((string?)null, link);
    }
}
