using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using SecureImage.Api.Features.Images;
using SecureImage.Api.Security;
using SecureImage.Core.Catalog;

namespace SecureImage.Api.Features.Links;

internal static class LinksEndpoints
{
    public static RouteGroupBuilder MapLinksEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/images/{id:guid}/links").RequireAuthorization(ApiKeyDefaults.BotPolicy).WithTags("Links");
        group.MapPost("/", IssueLinkAsync).WithName("IssueLink").WithSummary("Issue a fresh download link (10 minutes at most).");
        return group;
    }

    public static async Task<Results<Created<LinkResponse>, ProblemHttpResult>> IssueLinkAsync(
        Guid id, HttpRequest request, ClaimsPrincipal user, IImageCatalog catalog, LinkIssuer links, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
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

        var link = await links.IssueAsync(image, request, $"bot:{botId}", cancellationToken);
        return link is null ? Problems.Problems.ImageGone() : TypedResults.Created((string?)null, link);
    }
}
