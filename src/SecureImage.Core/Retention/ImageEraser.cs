using SecureImage.Core.Blobs;
using SecureImage.Core.Catalog;

namespace SecureImage.Core.Retention;

/// <summary>
/// The one erase path for a request (bot delete, consent withdrawal): delete the blob (a missing blob
/// counts as deleted), then in one catalog transaction shred the wrapped key, mark the row erased and
/// append one audit event. It takes only what the catalog committed to erasure in the same step that
/// checked for a legal hold, never a row read earlier, so a held image never loses its blob. Safe to
/// repeat: an image already erased is left alone and audited only once.
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

    /// <summary>Erases <paramref name="image"/> for its reason; true if this call erased it, false if it was already erased.</summary>
    public async Task<bool> EraseAsync(ImageToErase image, string actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(image);
        await _blobs.DeleteIfExistsAsync(image.BlobName, cancellationToken);
        if (image.PreviewBlobName is { } preview)
        {
            await _blobs.DeleteIfExistsAsync(preview, cancellationToken);
        }

        return await _catalog.MarkErasedAsync(image.ImageId, image.Reason, actor, _time.UtcNowMilliseconds(), cancellationToken);
    }
}
