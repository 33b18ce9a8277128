using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using SecureImage.Api.Security;
using SecureImage.Api.Telemetry;
using SecureImage.Core.Catalog;
using SecureImage.Core.Retention;
using SecureImage.Core;

namespace SecureImage.Api.Features.Images;

internal sealed record ImageResponse(
    Guid Id,
    Guid ConsentId,
    string ContentType,
    long Bytes,
    int Width,
    int Height,
    DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt,
    string Status,
    DateTimeOffset? ErasedAt,
    string? EraseReason);

/// <summary>The answer to a DELETE that a legal hold defers: the erase is recorded and happens when the hold is released.</summary>
internal sealed record EraseDeferredResponse(Guid ImageId, string Status);

internal static class ImageStatus
{
    /// <summary>What a client sees: active, expired (not yet swept), erased, held or blocked.</summary>
    public static string Of(ImageRecord image, DateTimeOffset now) => image.State switch
    {
        ImageState.Erased => "erased",
        ImageState.Held => "held",
        ImageState.Blocked => "blocked",
        _ when now >= image.ExpiresAt => "expired",
        _ => "active",
    };

    /// <summary>The problem to answer when the image may not be served or linked, or null when it may.</summary>
    public static ProblemHttpResult? Unavailable(ImageRecord image, DateTimeOffset now) =>
        image.State == ImageState.Erased ? Problems.Problems.ImageGone()
        : image.State is ImageState.Held or ImageState.Blocked ? Problems.Problems.ImageBlocked()
        : image.IsGone(now) ? Problems.Problems.ImageGone()
        : null;
}

internal static class ImagesEndpoints
{
    public static RouteGroupBuilder MapImagesEndpoints(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/images").RequireAuthorization(ApiKeyDefaults.BotPolicy).WithTags("Images");
        group.MapGet("/{id:guid}", GetImageAsync).WithName("GetImage").WithSummary("An image's metadata (never its bytes).");
        group.MapDelete("/{id:guid}", DeleteImageAsync).WithName("DeleteImage")
            .WithSummary("Erase an image now: 204; 202 when it is on legal hold (erased once the hold is released).");
        return group;
    }

    public static async Task<Results<Ok<ImageResponse>, ProblemHttpResult>> GetImageAsync(
        Guid id, ClaimsPrincipal user, IImageCatalog catalog, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var image = await catalog.FindImageAsync(id, cancellationToken);
        if (image is null || image.BotId != user.BotId())
        {
            return Problems.Problems.NotFound("image");
        }

        return TypedResults.Ok(new ImageResponse(
            image.Id,
            image.ConsentId,
            image.ContentType,
            image.Bytes,
            image.Width,
            image.Height,
            image.CreatedAt,
            image.ExpiresAt,
            ImageStatus.Of(image, timeProvider.GetUtcNow()),
            image.ErasedAt,
            image.EraseReason));
    }

    public static async Task<Results<NoContent, Accepted<EraseDeferredResponse>, ProblemHttpResult>> DeleteImageAsync(
        Guid id, ClaimsPrincipal user, IImageCatalog catalog, ImageEraser eraser, ServiceMetrics metrics, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var botId = user.BotId();
        var image = await catalog.FindImageAsync(id, cancellationToken);
        if (image is null || image.BotId != botId)
        {
            return Problems.Problems.NotFound("image");
        }

        // Expire first, so nothing serves the image even if the erase below is interrupted. The same
        // step says whether a legal hold is on it; only then may the blob go (never from the row read above).
        var decision = await catalog.RequestEraseAsync(id, EraseReasons.DeletedByBot, $"bot:{botId}", timeProvider.UtcNowMilliseconds(), cancellationToken);
        switch (decision.Outcome)
        {
            case EraseOutcome.EraseNow:
                if (await eraser.EraseAsync(decision.ToErase!, $"bot:{botId}", cancellationToken))
                {
                    metrics.Erased(decision.ToErase!.Reason);
                }

                return TypedResults.NoContent();
            case EraseOutcome.DeferredByHold:
                return TypedResults.Accepted($"/v1/images/{id}", new EraseDeferredResponse(id, "held"));
            case EraseOutcome.AlreadyErased:
                return TypedResults.NoContent();
            default:
                return Problems.Problems.NotFound("image");
        }
    }
}
