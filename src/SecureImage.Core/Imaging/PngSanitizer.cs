namespace SecureImage.Core.Imaging;

internal sealed class PngSanitizer
{
    public static ReadOnlySpan<byte> Signature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    public PngSanitizer(ImageReader reader, ImageWriter writer, ImageLimits limits)
    {
        _ = reader;
        _ = writer;
        _ = limits;
    }

#pragma warning disable CA1822
    public ValueTask<(int Width, int Height)> RunAsync(CancellationToken cancellationToken) => throw ImageErrors.Unsupported();
#pragma warning restore CA1822
}
