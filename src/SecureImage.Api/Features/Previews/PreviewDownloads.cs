using Microsoft.AspNetCore.Http.HttpResults;
using SecureImage.Api.Features.Images;
using SecureImage.Core.Catalog;
using SecureImage.Core.Previews;

namespace SecureImage.Api.Features.Previews;

/// <summary>The preview a verified preview link serves, or the problem it answers instead.</summary>
internal sealed record PreviewToServe(ImagePreview? Preview, ProblemHttpResult? Problem);

internal static class PreviewDownloads
{
    /// <summary>
    /// The stored preview of <paramref name="image"/> (which may be served now), made on the spot when there is
    /// none yet; null when the image disappeared meanwhile. An image erased, expired, held or blocked while the
    /// preview was made answers the same problem as its original.
    /// </summary>
    public static async Task<PreviewToServe?> FindAsync(ImageRecord image, PreviewMaker previews, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        if (image.PreviewState is null)
        {
            if (await previews.EnsureAsync(image.Id, cancellationToken) is not { } made)
            {
                return null;
            }

            if (ImageStatus.Unavailable(made, timeProvider.GetUtcNow()) is { } problem)
            {
                return new PreviewToServe(null, problem);
            }

            image = made;
        }

        return image.PreviewState switch
        {
            PreviewState.Ready when image.Preview?.WrappedKey is not null => new PreviewToServe(image.Preview, null),
            PreviewState.Unavailable => new PreviewToServe(null, Problems.Problems.PreviewUnavailable()),

            // Not made because the image is committed to erasure, or its key already shredded.
            _ => new PreviewToServe(null, Problems.Problems.ImageGone()),
        };
    }
}
