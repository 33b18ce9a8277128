namespace SecureImage.Core.Imaging;

/// <summary>
/// Validates an image by its structure and writes it to <paramref name="destination"/> without its
/// metadata, losslessly (no decode, no re-encode).
/// </summary>
public interface IImageSanitizer
{
    /// <summary>
    /// Reads <paramref name="source"/> to its end (or until it rejects), writing the sanitized image
    /// to <paramref name="destination"/> as it goes. Memory stays bounded by a small buffer.
    /// </summary>
    /// <exception cref="ImageRejectedException">The input is not an accepted, well-formed image within the limits.</exception>
    Task<SanitizedImage> SanitizeAsync(Stream source, Stream destination, ImageLimits limits, CancellationToken cancellationToken);
}
