using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using SecureImage.Api.Problems;
using SecureImage.Api.Security;
using SecureImage.Core;
using SecureImage.Core.Catalog;
using SecureImage.Core.Retention;

namespace SecureImage.Api.Features.Reports;

internal sealed record ReportRequest(string? Reason);

internal sealed record ReportResponse(Guid ImageId, string Status, string Reason);

/// <summary>
/// POST /v1/images/{id}/reports: a user reported the image. It is hidden at once (links answer 451)
/// and put on legal hold: the retention sweep skips it until an admin releases the hold. An image
/// already expired, erased or being erased answers 410 and is not held.
/// </summary>
internal static class ReportsEndpoints
{
    /// <summary>The reasons kept; anything else is recorded as "other", so no free text (possibly personal) reaches the audit log.</summary>
    public static readonly IReadOnlySet<string> ReasonCodes = new HashSet<string>(StringComparer.Ordinal)
    {
        "illegal-content", "privacy", "harassment", "copyright", "wrong-recipient", "other",
    };

    public static RouteGroupBuilder MapReportsEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/images/{id:guid}/reports").RequireAuthorization(ApiKeyDefaults.BotPolicy).WithTags("Reports");
        group.MapPost("/", ReportImageAsync).WithName("ReportImage")
            .WithSummary("Report an image: hide it at once and put it on legal hold. Optional JSON {reason}.");
        return group;
    }

    public static async Task<Results<Accepted<ReportResponse>, ProblemHttpResult>> ReportImageAsync(
        Guid id, HttpRequest request, ClaimsPrincipal user, IImageCatalog catalog, IRetentionCatalog retention, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var botId = user.BotId();
        var image = await catalog.FindImageAsync(id, cancellationToken);
        if (image is null || image.BotId != botId)
        {
            return Problems.Problems.NotFound("image");
        }

        var reason = "other";
        if (request.ContentLength is > 0 || request.Headers.TransferEncoding.Count > 0)
        {
            var (body, problem) = await JsonRequestBody.ReadAsync<ReportRequest>(request, "Send the report as application/json: {\"reason\": \"…\"}, or with no body.", cancellationToken);
            if (problem is not null)
            {
                return problem;
            }

            reason = body?.Reason is { } code && ReasonCodes.Contains(code) ? code : "other";
        }

        // One catalog step decides: an image erased, expired or already committed to erasure (a DELETE,
        // a withdrawal or a sweep got there first) is gone for every client purpose, and stays gone.
        return await retention.PlaceHoldAsync(id, $"bot:{botId}", reason, timeProvider.UtcNowMilliseconds(), cancellationToken) switch
        {
            HoldOutcome.Held or HoldOutcome.AlreadyHeld => TypedResults.Accepted($"/v1/images/{id}", new ReportResponse(id, "held", reason)),
            HoldOutcome.Gone => Problems.Problems.ImageGone(),
            _ => Problems.Problems.NotFound("image"),
        };
    }
}
