using SecureImage.Core.Blobs;
using SecureImage.Core.Catalog;

namespace SecureImage.Core.Retention;

/// <summary>
/// The one erase path for every reason: delete the blob (a missing blob counts as deleted), then in
/// one catalog transaction shred the wrapped key, mark the row erased and append one audit event.
/// Safe to repeat: an image already erased is left alone and audited only once. An image on legal
/// hold is never erased.
/// </summary>
public sealed class ImageEraser
{
    private readonly IImageCatalog _catalog;
    private readonly IBlobStore _blobs;
    private readonly TimeProvider _time;

    public ImageEraser(IImageCatalog catalog, IBlobStore blobs, TimeProvider timeProvider)
    {
        _catalog = catalog;
        _blobs = blobs;
        _time = timeProvider;
    }

    /// <summary>Erases <paramref name="image"/>; true if this call erased it, false if it was already erased.</summary>
    public async Task<bool> EraseAsync(ImageRecord image, string reason, string actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(image);
        // A legal hold outranks every erase reason; the reason waits until the hold is released.
        if (image.State is ImageState.Erased or ImageState.Held)
        {
            return false;
        }

        await _blobs.DeleteIfExistsAsync(image.BlobName, cancellationToken);
        return await _catalog.MarkErasedAsync(image.Id, reason, actor, _time.UtcNowMilliseconds(), cancellationToken);
    }
}
