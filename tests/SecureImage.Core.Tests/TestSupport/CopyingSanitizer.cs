using SecureImage.Core.Imaging;

namespace SecureImage.Core.Tests.TestSupport;

/// <summary>
/// A sanitizer double: copies its input through unchanged in small chunks and reports a fixed PNG
/// of 640 × 480, or rejects the input as malformed after <see cref="RejectAfterBytes"/> bytes.
/// </summary>
internal sealed class CopyingSanitizer : IImageSanitizer
{
    public const int Width = 640;
    public const int Height = 480;

    public long? RejectAfterBytes { get; init; }

    public async Task<SanitizedImage> SanitizeAsync(Stream source, Stream destination, ImageLimits limits, CancellationToken cancellationToken)
    {
        var buffer = new byte[5000];
        long total = 0;
        int read;
        while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
        {
            await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            total += read;
            if (total > RejectAfterBytes)
            {
                throw new ImageRejectedException(ImageRejection.Malformed, "The image is malformed.");
            }
        }

        return new SanitizedImage(ImageFormat.Png, Width, Height, total);
    }
}
