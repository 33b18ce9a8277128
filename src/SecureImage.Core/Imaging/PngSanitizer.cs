using System.Buffers.Binary;

namespace SecureImage.Core.Imaging;

/// <summary>
/// PNG: verifies the signature and every chunk's CRC, keeps the critical chunks and those that
/// change how pixels look (and the APNG chunks, counting frames), drops text, EXIF, time and
/// unknown ancillary chunks. Chunk data is streamed, never held whole.
/// </summary>
internal sealed class PngSanitizer(ImageReader reader, ImageWriter writer, ImageLimits limits)
{
    public static ReadOnlySpan<byte> Signature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    private const int HeaderLength = 13;

    private static readonly HashSet<string> KeptAncillary = ["tRNS", "gAMA", "cHRM", "sRGB", "iCCP", "sBIT", "pHYs", "acTL", "fcTL", "fdAT"];

    public async ValueTask<(int Width, int Height)> RunAsync(CancellationToken cancellationToken)
    {
        await reader.ReadExactlyAsync(Signature.Length, cancellationToken).ConfigureAwait(false);
        await writer.WriteAsync(Signature.ToArray(), cancellationToken).ConfigureAwait(false);

        var (width, height) = (0, 0);
        var seenData = false;
        var seenPalette = false;
        var colourType = 0;
        long declaredFrames = -1;
        long frameControls = 0;
        while (true)
        {
            var chunkHeader = await reader.ReadExactlyAsync(8, cancellationToken).ConfigureAwait(false);
            var length = BinaryPrimitives.ReadUInt32BigEndian(chunkHeader.Span);
            var typeBytes = chunkHeader.Span[4..8];
            if (length > int.MaxValue || !IsChunkType(typeBytes))
            {
                throw ImageErrors.Malformed("The PNG image has a damaged chunk header.");
            }

            var type = System.Text.Encoding.ASCII.GetString(typeBytes);
            var header = chunkHeader.ToArray();
            if (width == 0 && type != "IHDR")
            {
                throw ImageErrors.Malformed("The PNG image does not start with its header chunk.");
            }

            switch (type)
            {
                case "IHDR" when width != 0:
                    throw ImageErrors.Malformed("The PNG image has more than one header chunk.");
                case "IHDR":
                    var ihdr = await ReadSmallChunkAsync(header, length, HeaderLength, cancellationToken).ConfigureAwait(false);
                    (width, height, colourType) = ReadHeader(ihdr);
                    await WriteChunkAsync(header, ihdr, cancellationToken).ConfigureAwait(false);
                    continue;
                case "acTL":
                    var actl = await ReadSmallChunkAsync(header, length, 8, cancellationToken).ConfigureAwait(false);
                    if (declaredFrames >= 0 || seenData)
                    {
                        throw ImageErrors.Malformed("The PNG animation control chunk is out of place.");
                    }

                    declaredFrames = BinaryPrimitives.ReadUInt32BigEndian(actl);
                    if (declaredFrames == 0)
                    {
                        throw ImageErrors.Malformed("The PNG animation declares no frames.");
                    }

                    ImageErrors.CheckFrames(declaredFrames, limits);
                    await WriteChunkAsync(header, actl, cancellationToken).ConfigureAwait(false);
                    continue;
                case "fcTL":
                    if (declaredFrames < 0 || ++frameControls > declaredFrames)
                    {
                        throw ImageErrors.Malformed("The PNG animation has more frames than it declares.");
                    }

                    break;
                case "fdAT" when declaredFrames < 0:
                    throw ImageErrors.Malformed("The PNG image has animation data without animation control.");
                case "PLTE":
                    seenPalette = true;
                    break;
                case "IDAT":
                    seenData = true;
                    break;
                case "IEND":
                    if (!seenData || (colourType == 3 && !seenPalette))
                    {
                        throw ImageErrors.Malformed("The PNG image ends before its image data.");
                    }

                    if (declaredFrames >= 0 && frameControls != declaredFrames)
                    {
                        throw ImageErrors.Malformed("The PNG animation has fewer frames than it declares.");
                    }

                    await CopyChunkAsync(header, length, keep: true, cancellationToken).ConfigureAwait(false);
                    return (width, height);
            }

            var critical = (typeBytes[0] & 0x20) == 0;
            if (critical && type is not ("IHDR" or "PLTE" or "IDAT" or "IEND"))
            {
                throw ImageErrors.Malformed("The PNG image has a critical chunk of an unknown kind.");
            }

            await CopyChunkAsync(header, length, critical || KeptAncillary.Contains(type), cancellationToken).ConfigureAwait(false);
        }
    }

    private static bool IsChunkType(ReadOnlySpan<byte> type)
    {
        foreach (var letter in type)
        {
            if (!char.IsAsciiLetter((char)letter))
            {
                return false;
            }
        }

        return true;
    }

    private (int Width, int Height, int ColourType) ReadHeader(byte[] ihdr)
    {
        var width = BinaryPrimitives.ReadUInt32BigEndian(ihdr);
        var height = BinaryPrimitives.ReadUInt32BigEndian(ihdr.AsSpan(4));
        var (bitDepth, colourType) = (ihdr[8], ihdr[9]);
        var depthValid = colourType switch
        {
            0 => bitDepth is 1 or 2 or 4 or 8 or 16,
            3 => bitDepth is 1 or 2 or 4 or 8,
            2 or 4 or 6 => bitDepth is 8 or 16,
            _ => false,
        };
        if (!depthValid || ihdr[10] != 0 || ihdr[11] != 0 || ihdr[12] > 1)
        {
            throw ImageErrors.Malformed("The PNG header declares an invalid combination of colour type, depth or compression.");
        }

        ImageErrors.CheckDimensions(width, height, limits);
        return ((int)width, (int)height, colourType);
    }

    /// <summary>Reads a fixed-size chunk's data and verifies its CRC.</summary>
    private async ValueTask<byte[]> ReadSmallChunkAsync(byte[] header, uint length, int expected, CancellationToken cancellationToken)
    {
        if (length != expected)
        {
            throw ImageErrors.Malformed("The PNG image has a chunk of the wrong size.");
        }

        var data = (await reader.ReadExactlyAsync(expected, cancellationToken).ConfigureAwait(false)).ToArray();
        var crc = Crc32.Update(Crc32.Update(Crc32.Initial, header.AsSpan(4)), data);
        await VerifyCrcAsync(crc, cancellationToken).ConfigureAwait(false);
        return data;
    }

    private async ValueTask WriteChunkAsync(byte[] header, byte[] data, CancellationToken cancellationToken)
    {
        await writer.WriteAsync(header, cancellationToken).ConfigureAwait(false);
        await writer.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        var crc = Crc32.Finish(Crc32.Update(Crc32.Update(Crc32.Initial, header.AsSpan(4)), data));
        await WriteCrcAsync(crc, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Streams a chunk's data, verifying its CRC whether it is kept or dropped.</summary>
    private async ValueTask CopyChunkAsync(byte[] header, uint length, bool keep, CancellationToken cancellationToken)
    {
        if (keep)
        {
            await writer.WriteAsync(header, cancellationToken).ConfigureAwait(false);
        }

        var crc = Crc32.Update(Crc32.Initial, header.AsSpan(4));
        long remaining = length;
        while (remaining > 0)
        {
            var block = await reader.ReadBlockAsync(remaining, cancellationToken).ConfigureAwait(false);
            crc = Crc32.Update(crc, block.Span);
            if (keep)
            {
                await writer.WriteAsync(block, cancellationToken).ConfigureAwait(false);
            }

            remaining -= block.Length;
        }

        await VerifyCrcAsync(crc, cancellationToken).ConfigureAwait(false);
        if (keep)
        {
            await WriteCrcAsync(Crc32.Finish(crc), cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask VerifyCrcAsync(uint crc, CancellationToken cancellationToken)
    {
        var stored = await reader.ReadExactlyAsync(4, cancellationToken).ConfigureAwait(false);
        if (BinaryPrimitives.ReadUInt32BigEndian(stored.Span) != Crc32.Finish(crc))
        {
            throw ImageErrors.Malformed("The PNG image has a chunk whose checksum does not match: the file is damaged.");
        }
    }

    private async ValueTask WriteCrcAsync(uint crc, CancellationToken cancellationToken)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, crc);
        await writer.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
    }
}
