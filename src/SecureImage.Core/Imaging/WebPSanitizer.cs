namespace SecureImage.Core.Imaging;

internal sealed class WebPSanitizer
{


    public WebPSanitizer(ImageReader reader, ImageWriter writer, ImageLimits limits)
    {
        _ = reader;
        _ = writer;
        _ = limits;
    }

#pragma warning disable CA1822
    public ValueTask<(int Width, int Height)> RunAsync(CancellationToken cancellationToken) => throw ImageErrors.Unsupported();
#pragma warning restore CA1822
}
