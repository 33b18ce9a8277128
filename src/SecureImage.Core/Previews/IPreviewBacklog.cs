namespace SecureImage.Core.Previews;

/// <summary>
/// The catalog's list of images still waiting for a preview: what the background pass (<see cref="PreviewPass"/>)
/// works through. It is the catalog's own state (the preview columns), so it survives restarts and needs no job store.
/// </summary>
public interface IPreviewBacklog
{
    /// <summary>
    /// Up to <paramref name="limit"/> images that have no preview yet and may get one (not erased, not committed to
    /// erasure, not expired at <paramref name="now"/>), oldest upload first, after <paramref name="after"/> in that order.
    /// </summary>
    Task<IReadOnlyList<PreviewCandidate>> FindImagesWithoutPreviewAsync(DateTimeOffset now, PreviewCandidate? after, int limit, CancellationToken cancellationToken);
}

/// <summary>An image without a preview, with its upload time (which bounds how long its preview may be deferred).</summary>
public sealed record PreviewCandidate(Guid ImageId, DateTimeOffset CreatedAt);
