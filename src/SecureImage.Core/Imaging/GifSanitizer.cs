using System.Buffers.Binary;

namespace SecureImage.Core.Imaging;

/// <summary>
/// GIF: keeps the screen descriptor, colour tables, image data, graphic control extensions and the
/// NETSCAPE2.0 looping extension; drops comments, plain text and every other application extension
/// (XMP, ICC, vendor data). The control and looping extensions are rebuilt from their parsed values
/// (reserved bits cleared, only the loop count kept), and only the control extension in force for an
/// image is written, just before it; the image data is re-cut into full sub-blocks. Counts frames
/// against the limit as they arrive.
/// </summary>
internal sealed class GifSanitizer(ImageReader reader, ImageWriter writer, ImageLimits limits)
{
    private const byte ExtensionIntroducer = 0x21;
    private const byte ImageSeparator = 0x2C;
    private const byte Trailer = 0x3B;
    private const byte GraphicControlLabel = 0xF9;
    private const byte PlainTextLabel = 0x01;
    private const byte ApplicationLabel = 0xFF;
    private const int ApplicationIdentifierLength = 11;
    private const byte MaxSubBlock = 255;

    private bool loopSeen;

    /// <summary>
    /// The graphic control extension in force for the next image, written just before it: a later
    /// one replaces it (as browsers and ImageSharp apply the last), and one that precedes a dropped
    /// plain-text block or the trailer applies to no image and is dropped.
    /// </summary>
    private byte[]? pendingControl;

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
        var rebuilt = descriptor.ToArray();
        rebuilt[8] = (byte)(packed & 0xE7); // the two reserved bits
        if (pendingControl is not null)
        {
            await writer.WriteAsync(pendingControl, cancellationToken).ConfigureAwait(false);
            pendingControl = null;
        }

        await writer.WriteAsync(new[] { ImageSeparator }, cancellationToken).ConfigureAwait(false);
        await writer.WriteAsync(rebuilt, cancellationToken).ConfigureAwait(false);
        await CopyColourTableAsync(packed, cancellationToken).ConfigureAwait(false);

        var minimumCodeSize = await reader.ReadByteAsync(cancellationToken).ConfigureAwait(false);
        if (minimumCodeSize is < 2 or > 8)
        {
            throw ImageErrors.Malformed("The GIF image has damaged image data.");
        }

        await writer.WriteAsync(new[] { minimumCodeSize }, cancellationToken).ConfigureAwait(false);
        await CopyImageDataAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Copies the LZW data re-cut into full 255-byte sub-blocks (the last one shorter): decoders join
    /// the sub-blocks, so how the sender cut them (sizes it could choose freely) is not carried over.
    /// </summary>
    private async ValueTask CopyImageDataAsync(CancellationToken cancellationToken)
    {
        var block = new byte[1 + MaxSubBlock];
        var filled = 0;
        while (await reader.ReadByteAsync(cancellationToken).ConfigureAwait(false) is var size and not 0)
        {
            for (var left = (int)size; left > 0;)
            {
                var data = await reader.ReadBlockAsync(Math.Min(left, MaxSubBlock - filled), cancellationToken).ConfigureAwait(false);
                data.CopyTo(block.AsMemory(1 + filled));
                (filled, left) = (filled + data.Length, left - data.Length);
                if (filled == MaxSubBlock)
                {
                    block[0] = MaxSubBlock;
                    await writer.WriteAsync(block, cancellationToken).ConfigureAwait(false);
                    filled = 0;
                }
            }
        }

        if (filled > 0)
        {
            block[0] = (byte)filled;
            await writer.WriteAsync(block.AsMemory(0, 1 + filled), cancellationToken).ConfigureAwait(false);
        }

        await writer.WriteAsync(new byte[] { 0 }, cancellationToken).ConfigureAwait(false); // terminator
    }

    private async ValueTask HandleExtensionAsync(CancellationToken cancellationToken)
    {
        var label = await reader.ReadByteAsync(cancellationToken).ConfigureAwait(false);
        switch (label)
        {
            case GraphicControlLabel:
                // Fixed layout (block size 4, four bytes, terminator): nothing else may ride along.
                var control = (await reader.ReadExactlyAsync(6, cancellationToken).ConfigureAwait(false)).ToArray();
                if (control[0] != 4 || control[5] != 0)
                {
                    throw ImageErrors.Malformed("The GIF image has a damaged graphic control extension.");
                }

                control[1] &= 0x1F; // the three reserved bits
                if ((control[1] & 0x01) == 0)
                {
                    control[4] = 0; // the transparent index means nothing without the transparency flag
                }

                pendingControl = [ExtensionIntroducer, label, .. control];
                return;
            case ApplicationLabel:
                await HandleApplicationAsync(cancellationToken).ConfigureAwait(false);
                return;
            case PlainTextLabel:
                pendingControl = null; // it controlled the text, which is dropped
                await SkipSubBlocksAsync(cancellationToken).ConfigureAwait(false);
                return;
            default:
                await SkipSubBlocksAsync(cancellationToken).ConfigureAwait(false);
                return;
        }
    }

    /// <summary>
    /// The looping extension (NETSCAPE2.0 or its ANIMEXTS1.0 twin) only says how often to replay: the
    /// first one is rebuilt from its loop sub-block alone; any other sub-block, any other application
    /// extension and any later looping extension are dropped.
    /// </summary>
    private async ValueTask HandleApplicationAsync(CancellationToken cancellationToken)
    {
        var size = await reader.ReadByteAsync(cancellationToken).ConfigureAwait(false);
        var identifier = (await reader.ReadExactlyAsync(size, cancellationToken).ConfigureAwait(false)).ToArray();
        var looping = !loopSeen && (identifier.AsSpan().SequenceEqual("NETSCAPE2.0"u8) || identifier.AsSpan().SequenceEqual("ANIMEXTS1.0"u8));
        if (size == 0 || !looping)
        {
            if (size != 0)
            {
                await SkipSubBlocksAsync(cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        byte[]? loop = null;
        var first = true;
        while (await reader.ReadByteAsync(cancellationToken).ConfigureAwait(false) is var length and not 0)
        {
            var block = await reader.ReadExactlyAsync(length, cancellationToken).ConfigureAwait(false);
            if (first && length == 3 && block.Span[0] == 1)
            {
                loop = block.ToArray();
            }

            first = false;
        }

        if (loop is null)
        {
            return;
        }

        loopSeen = true;
        byte[] extension = [ExtensionIntroducer, ApplicationLabel, ApplicationIdentifierLength, .. identifier, 3, 1, loop[1], loop[2], 0];
        await writer.WriteAsync(extension, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Skips data sub-blocks up to and including the zero-length terminator.</summary>
    private async ValueTask SkipSubBlocksAsync(CancellationToken cancellationToken)
    {
        while (await reader.ReadByteAsync(cancellationToken).ConfigureAwait(false) is var size and not 0)
        {
            await reader.SkipAsync(size, cancellationToken).ConfigureAwait(false);
        }
    }
}
