using System.Buffers.Binary;

namespace SecureImage.Core.Imaging;

/// <summary>
/// GIF: keeps the screen descriptor, colour tables, image data, graphic control extensions and the
/// NETSCAPE2.0 looping extension; drops comments, plain text and every other application extension
/// (XMP, ICC, vendor data). Counts frames against the limit as they arrive.
/// </summary>
internal sealed class GifSanitizer(ImageReader reader, ImageWriter writer, ImageLimits limits)
{
    private const byte ExtensionIntroducer = 0x21;
    private const byte ImageSeparator = 0x2C;
    private const byte Trailer = 0x3B;
    private const byte GraphicControlLabel = 0xF9;
    private const byte ApplicationLabel = 0xFF;

    public async ValueTask<(int Width, int Height)> RunAsync(CancellationToken cancellationToken)
    {
        // Signature and logical screen descriptor.
        var header = await reader.ReadExactlyAsync(13, cancellationToken).ConfigureAwait(false);
        var width = BinaryPrimitives.ReadUInt16LittleEndian(header.Span[6..]);
        var height = BinaryPrimitives.ReadUInt16LittleEndian(header.Span[8..]);
        ImageErrors.CheckDimensions(width, height, limits);
        var packed = header.Span[10];
        await writer.WriteAsync(header, cancellationToken).ConfigureAwait(false);
        await CopyColourTableAsync(packed, cancellationToken).ConfigureAwait(false);

        var frames = 0;
        while (true)
        {
            switch (await reader.ReadByteAsync(cancellationToken).ConfigureAwait(false))
            {
                case ImageSeparator:
                    ImageErrors.CheckFrames(++frames, limits);
                    await CopyImageAsync(cancellationToken).ConfigureAwait(false);
                    break;
                case ExtensionIntroducer:
                    await HandleExtensionAsync(cancellationToken).ConfigureAwait(false);
                    break;
                case Trailer when frames == 0:
                    throw ImageErrors.Malformed("The GIF image contains no image.");
                case Trailer:
                    await writer.WriteAsync(new[] { Trailer }, cancellationToken).ConfigureAwait(false);
                    return (width, height);
                default:
                    throw ImageErrors.Malformed("The GIF image has an unknown block.");
            }
        }
    }

    private async ValueTask CopyColourTableAsync(byte packed, CancellationToken cancellationToken)
    {
        if ((packed & 0x80) != 0)
        {
            await reader.CopyAsync(writer, 3 << ((packed & 0x07) + 1), cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask CopyImageAsync(CancellationToken cancellationToken)
    {
        var descriptor = await reader.ReadExactlyAsync(9, cancellationToken).ConfigureAwait(false);
        var frameWidth = BinaryPrimitives.ReadUInt16LittleEndian(descriptor.Span[4..]);
        var frameHeight = BinaryPrimitives.ReadUInt16LittleEndian(descriptor.Span[6..]);
        ImageErrors.CheckDimensions(frameWidth, frameHeight, limits);
        var packed = descriptor.Span[8];
        await writer.WriteAsync(new[] { ImageSeparator }, cancellationToken).ConfigureAwait(false);
        await writer.WriteAsync(descriptor, cancellationToken).ConfigureAwait(false);
        await CopyColourTableAsync(packed, cancellationToken).ConfigureAwait(false);

        var minimumCodeSize = await reader.ReadByteAsync(cancellationToken).ConfigureAwait(false);
        if (minimumCodeSize is < 2 or > 8)
        {
            throw ImageErrors.Malformed("The GIF image has damaged image data.");
        }

        await writer.WriteAsync(new[] { minimumCodeSize }, cancellationToken).ConfigureAwait(false);
        await PassSubBlocksAsync(keep: true, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask HandleExtensionAsync(CancellationToken cancellationToken)
    {
        var label = await reader.ReadByteAsync(cancellationToken).ConfigureAwait(false);
        var keep = false;
        byte[]? first = null;
        switch (label)
        {
            case GraphicControlLabel:
                // Fixed layout (block size 4, four bytes, terminator): nothing else may ride along.
                var control = await reader.ReadExactlyAsync(6, cancellationToken).ConfigureAwait(false);
                if (control.Span[0] != 4 || control.Span[5] != 0)
                {
                    throw ImageErrors.Malformed("The GIF image has a damaged graphic control extension.");
                }

                await writer.WriteAsync(new[] { ExtensionIntroducer, label }, cancellationToken).ConfigureAwait(false);
                await writer.WriteAsync(control, cancellationToken).ConfigureAwait(false);
                return;
            case ApplicationLabel:
                var size = await reader.ReadByteAsync(cancellationToken).ConfigureAwait(false);
                first = [size, .. (await reader.ReadExactlyAsync(size, cancellationToken).ConfigureAwait(false)).Span];
                // The looping extension (and its ANIMEXTS twin) only says how often to replay.
                keep = first.AsSpan(1).SequenceEqual("NETSCAPE2.0"u8) || first.AsSpan(1).SequenceEqual("ANIMEXTS1.0"u8);
                break;
        }

        if (keep)
        {
            await writer.WriteAsync(new[] { ExtensionIntroducer, label }, cancellationToken).ConfigureAwait(false);
            if (first is not null)
            {
                await writer.WriteAsync(first, cancellationToken).ConfigureAwait(false);
            }
        }

        if (first is not [0, ..])
        {
            await PassSubBlocksAsync(keep, cancellationToken).ConfigureAwait(false);
        }
        else if (keep)
        {
            await writer.WriteAsync(new byte[] { 0 }, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Copies or skips data sub-blocks up to and including the zero-length terminator.</summary>
    private async ValueTask PassSubBlocksAsync(bool keep, CancellationToken cancellationToken)
    {
        while (true)
        {
            var size = await reader.ReadByteAsync(cancellationToken).ConfigureAwait(false);
            if (keep)
            {
                await writer.WriteAsync(new[] { size }, cancellationToken).ConfigureAwait(false);
            }

            if (size == 0)
            {
                return;
            }

            if (keep)
            {
                await reader.CopyAsync(writer, size, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await reader.SkipAsync(size, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
