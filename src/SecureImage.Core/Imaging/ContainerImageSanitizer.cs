namespace SecureImage.Core.Imaging;

/// <summary>
/// Sanitizes JPEG, PNG, GIF and WebP at the container level: walks the structure, copies the
/// compressed pixel data byte for byte, drops metadata and rejects anything not well formed.
/// </summary>
public sealed class ContainerImageSanitizer : IImageSanitizer
{
    public async Task<SanitizedImage> SanitizeAsync(Stream source, Stream destination, ImageLimits limits, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(limits);

        var reader = new ImageReader(source);
        var writer = new ImageWriter(destination);
        await reader.FillAsync(ImageSniffer.SignatureLength, cancellationToken).ConfigureAwait(false);
        var format = ImageSniffer.Recognise(reader.Buffered.Span) ?? throw ImageErrors.Unsupported();

        var (width, height) = format switch
        {
            ImageFormat.Jpeg => await new JpegSanitizer(reader, writer, limits).RunAsync(cancellationToken).ConfigureAwait(false),
            ImageFormat.Png => await new PngSanitizer(reader, writer, limits).RunAsync(cancellationToken).ConfigureAwait(false),
            ImageFormat.Gif => await new GifSanitizer(reader, writer, limits).RunAsync(cancellationToken).ConfigureAwait(false),
            ImageFormat.WebP => await new WebPSanitizer(reader, writer, limits).RunAsync(cancellationToken).ConfigureAwait(false),
            _ => throw ImageErrors.Unsupported(),
        };

        await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        await reader.DrainAsync(cancellationToken).ConfigureAwait(false);
        return new SanitizedImage(format, width, height, writer.Written);
    }
}
