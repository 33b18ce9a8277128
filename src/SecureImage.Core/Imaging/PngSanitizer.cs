using System.Buffers.Binary;

namespace SecureImage.Core.Imaging;

/// <summary>
/// PNG: verifies the signature and every chunk's CRC, keeps the critical chunks and those that
/// change how pixels look (and the APNG chunks, counting frames), drops text, EXIF, time and
/// unknown ancillary chunks. Every kept chunk other than the pixel data is checked against its fixed
/// layout and rewritten from its parsed values; an ancillary chunk that does not fit its layout is
/// dropped. Pixel data is streamed, never held whole.
/// </summary>
internal sealed class PngSanitizer(ImageReader reader, ImageWriter writer, ImageLimits limits)
{
    public static ReadOnlySpan<byte> Signature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    private const int HeaderLength = 13;
    private const int FrameControlLength = 26;

    /// <summary>Largest ancillary chunk read whole (a compressed ICC profile); larger ones are dropped unread.</summary>
    private const int MaxAncillaryLength = ImageReader.BufferSize;

    /// <summary>IDAT and fdAT are written in chunks of this much data (the last of a run shorter).</summary>
    private const int DataChunkLength = 8 * 1024;

    /// <summary>PNG's own limit for a four-byte unsigned value.</summary>
    private const uint MaxPngInteger = int.MaxValue;

    private static ReadOnlySpan<byte> EndChunk => [0, 0, 0, 0, (byte)'I', (byte)'E', (byte)'N', (byte)'D', 0xAE, 0x42, 0x60, 0x82];

    private readonly HashSet<string> keptAncillary = [];
    private int width;
    private int height;
    private int bitDepth;
    private int colourType;
    private int paletteEntries;
    private bool seenData;

    /// <summary>A chunk other than IDAT followed the image data: IDAT may not resume (libpng refuses it too).</summary>
    private bool dataEnded;

    /// <summary>The current animation frame's control came after IDAT, so its data is fdAT (before IDAT it is IDAT).</summary>
    private bool frameTakesFrameData;
    private long declaredFrames = -1;
    private long frameControls;
    private uint nextSequence;

    /// <summary>
    /// The image data of the current run of IDAT or fdAT chunks (one image or frame), re-cut into
    /// chunks of <see cref="DataChunkLength"/>: decoders join them, so how the sender cut its data
    /// (chunk sizes, empty chunks, freely chosen) is not carried over. The APNG sequence is numbered
    /// again to match.
    /// </summary>
    private readonly byte[] pendingData = new byte[DataChunkLength];
    private int pendingLength;
    private string? dataRun;
    private bool dataRunWritten;
    private uint outputSequence;

    public async ValueTask<(int Width, int Height)> RunAsync(CancellationToken cancellationToken)
    {
        await reader.ReadExactlyAsync(Signature.Length, cancellationToken).ConfigureAwait(false);
        await writer.WriteAsync(Signature.ToArray(), cancellationToken).ConfigureAwait(false);

        while (true)
        {
            var chunkHeader = await reader.ReadExactlyAsync(8, cancellationToken).ConfigureAwait(false);
            var length = BinaryPrimitives.ReadUInt32BigEndian(chunkHeader.Span);
            var typeBytes = chunkHeader.Span[4..8];
            if (length > MaxPngInteger || !IsChunkType(typeBytes))
            {
                throw ImageErrors.Malformed("The PNG image has a damaged chunk header.");
            }

            var type = System.Text.Encoding.ASCII.GetString(typeBytes);
            var header = chunkHeader.ToArray();
            if (width == 0 && type != "IHDR")
            {
                throw ImageErrors.Malformed("The PNG image does not start with its header chunk.");
            }

            dataEnded |= seenData && type != "IDAT";
            if (dataRun is not null && type != dataRun)
            {
                await EndDataRunAsync(cancellationToken).ConfigureAwait(false);
            }

            switch (type)
            {
                case "IHDR" when width != 0:
                    throw ImageErrors.Malformed("The PNG image has more than one header chunk.");
                case "IHDR":
                    var ihdr = await ReadFixedChunkAsync(header, length, HeaderLength, cancellationToken).ConfigureAwait(false);
                    ReadHeader(ihdr);
                    await WriteChunkAsync(header, ihdr, cancellationToken).ConfigureAwait(false);
                    break;
                case "acTL":
                    var actl = await ReadFixedChunkAsync(header, length, 8, cancellationToken).ConfigureAwait(false);
                    ReadAnimationControl(actl);
                    await WriteChunkAsync(header, actl, cancellationToken).ConfigureAwait(false);
                    break;
                case "fcTL":
                    var fctl = await ReadFixedChunkAsync(header, length, FrameControlLength, cancellationToken).ConfigureAwait(false);
                    CheckFrameControl(fctl);
                    BinaryPrimitives.WriteUInt32BigEndian(fctl, outputSequence++);
                    await WriteChunkAsync(header, fctl, cancellationToken).ConfigureAwait(false);
                    break;
                case "fdAT":
                    await CheckFrameDataSequenceAsync(length, cancellationToken).ConfigureAwait(false);
                    await CopyDataChunkAsync(type, header, length, cancellationToken).ConfigureAwait(false);
                    break;
                case "PLTE":
                    await HandlePaletteAsync(header, length, cancellationToken).ConfigureAwait(false);
                    break;
                case "IDAT" when dataEnded:
                    throw ImageErrors.Malformed("The PNG image data is interrupted by another chunk.");
                case "IDAT":
                    seenData = true;
                    await CopyDataChunkAsync(type, header, length, cancellationToken).ConfigureAwait(false);
                    break;
                case "IEND":
                    if (!seenData || (colourType == 3 && paletteEntries == 0))
                    {
                        throw ImageErrors.Malformed("The PNG image ends before its image data.");
                    }

                    if (declaredFrames >= 0 && frameControls != declaredFrames)
                    {
                        throw ImageErrors.Malformed("The PNG animation has fewer frames than it declares.");
                    }

                    // IEND has no data: whatever an input puts there is verified and left behind.
                    await SkipChunkAsync(header, length, cancellationToken).ConfigureAwait(false);
                    await writer.WriteAsync(EndChunk.ToArray(), cancellationToken).ConfigureAwait(false);
                    return (width, height);
                case "gAMA" or "cHRM" or "sRGB" or "iCCP" or "sBIT" or "tRNS" or "pHYs":
                    await HandleAncillaryAsync(header, type, length, cancellationToken).ConfigureAwait(false);
                    break;
                default:
                    if ((header[4] & 0x20) == 0)
                    {
                        throw ImageErrors.Malformed("The PNG image has a critical chunk of an unknown kind.");
                    }

                    await SkipChunkAsync(header, length, cancellationToken).ConfigureAwait(false);
                    break;
            }
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

    private void ReadHeader(byte[] ihdr)
    {
        var headerWidth = BinaryPrimitives.ReadUInt32BigEndian(ihdr);
        var headerHeight = BinaryPrimitives.ReadUInt32BigEndian(ihdr.AsSpan(4));
        (bitDepth, colourType) = (ihdr[8], ihdr[9]);
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

        ImageErrors.CheckDimensions(headerWidth, headerHeight, limits);
        (width, height) = ((int)headerWidth, (int)headerHeight);
    }

    private void ReadAnimationControl(byte[] actl)
    {
        if (declaredFrames >= 0 || seenData)
        {
            throw ImageErrors.Malformed("The PNG animation control chunk is out of place.");
        }

        declaredFrames = BinaryPrimitives.ReadUInt32BigEndian(actl);
        if (declaredFrames == 0 || declaredFrames > MaxPngInteger || BinaryPrimitives.ReadUInt32BigEndian(actl.AsSpan(4)) > MaxPngInteger)
        {
            throw ImageErrors.Malformed("The PNG animation control chunk declares an invalid frame or play count.");
        }

        ImageErrors.CheckFrames(declaredFrames, limits);
    }

    /// <summary>Sequence number, a region inside the canvas (the whole canvas before the image data), delay, dispose 0..2, blend 0..1.</summary>
    private void CheckFrameControl(byte[] fctl)
    {
        if (declaredFrames < 0 || ++frameControls > declaredFrames)
        {
            throw ImageErrors.Malformed("The PNG animation has more frames than it declares.");
        }

        CheckSequence(BinaryPrimitives.ReadUInt32BigEndian(fctl));
        frameTakesFrameData = seenData;
        var span = fctl.AsSpan();
        long frameWidth = BinaryPrimitives.ReadUInt32BigEndian(span[4..]);
        long frameHeight = BinaryPrimitives.ReadUInt32BigEndian(span[8..]);
        long left = BinaryPrimitives.ReadUInt32BigEndian(span[12..]);
        long top = BinaryPrimitives.ReadUInt32BigEndian(span[16..]);
        var covers = left == 0 && top == 0 && frameWidth == width && frameHeight == height;
        if (frameWidth == 0 || frameHeight == 0 || left + frameWidth > width || top + frameHeight > height
            || (!seenData && !covers) || span[24] > 2 || span[25] > 1)
        {
            throw ImageErrors.Malformed("The PNG animation has a damaged frame control chunk.");
        }
    }

    private async ValueTask CheckFrameDataSequenceAsync(uint length, CancellationToken cancellationToken)
    {
        // Frame data belongs to the frame whose control precedes it; before that, or for the frame
        // that is the default image (its data is IDAT), no decoder reads it.
        if (!frameTakesFrameData || length < 4 || await reader.FillAsync(4, cancellationToken).ConfigureAwait(false) < 4)
        {
            throw ImageErrors.Malformed("The PNG image has damaged animation data.");
        }

        CheckSequence(BinaryPrimitives.ReadUInt32BigEndian(reader.Buffered.Span));
    }

    /// <summary>fcTL and fdAT share one sequence counting from 0 with no gap.</summary>
    private void CheckSequence(uint sequence)
    {
        if (sequence != nextSequence++)
        {
            throw ImageErrors.Malformed("The PNG animation chunks are out of sequence.");
        }
    }

    /// <summary>
    /// The palette is needed for indexed images (and then must fit the bit depth); the suggested
    /// palette of a truecolour image and a palette in a grey image are dropped.
    /// </summary>
    private async ValueTask HandlePaletteAsync(byte[] header, uint length, CancellationToken cancellationToken)
    {
        if (paletteEntries > 0 || seenData || length == 0 || length % 3 != 0 || length > 3 * 256)
        {
            throw ImageErrors.Malformed("The PNG image has a damaged or misplaced palette.");
        }

        var palette = await ReadChunkDataAsync(header, length, cancellationToken).ConfigureAwait(false);
        paletteEntries = palette.Length / 3;
        if (colourType != 3)
        {
            return;
        }

        if (paletteEntries > 1 << bitDepth)
        {
            throw ImageErrors.Malformed("The PNG palette has more entries than the bit depth can address.");
        }

        await WriteChunkAsync(header, palette, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask HandleAncillaryAsync(byte[] header, string type, uint length, CancellationToken cancellationToken)
    {
        // Each of these may appear once, before the image data; the colour-space ones also before the palette.
        var placed = !seenData && !keptAncillary.Contains(type)
            && (type is "tRNS" or "pHYs" || paletteEntries == 0)
            && (type != "tRNS" || colourType != 3 || paletteEntries > 0);
        if (!placed || length > MaxAncillaryLength)
        {
            await SkipChunkAsync(header, length, cancellationToken).ConfigureAwait(false);
            return;
        }

        var data = await ReadChunkDataAsync(header, length, cancellationToken).ConfigureAwait(false);
        var rebuilt = type switch
        {
            "gAMA" => data.Length == 4 && BinaryPrimitives.ReadUInt32BigEndian(data) is >= 1 and <= 1_000_000 ? data : null,
            "cHRM" => data.Length == 32 && AllAtMost(data, 100_000) ? data : null,
            "sRGB" => data is [<= 3] ? data : null,
            "pHYs" => data.Length == 9 && data[8] <= 1 && AllAtMost(data.AsSpan(0, 8), 1_000_000)
                && BinaryPrimitives.ReadUInt32BigEndian(data) > 0 && BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(4)) > 0 ? data : null,
            "sBIT" => SignificantBitsValid(data) ? data : null,
            "tRNS" => TransparencyValid(data) ? data : null,
            _ => RebuildIccChunk(data),
        };
        if (rebuilt is null)
        {
            return; // an ancillary chunk that does not fit its layout is ignored by decoders, and dropped here
        }

        keptAncillary.Add(type);
        await WriteChunkAsync(header, rebuilt, cancellationToken).ConfigureAwait(false);
    }

    private static bool AllAtMost(ReadOnlySpan<byte> values, uint limit)
    {
        for (var at = 0; at < values.Length; at += 4)
        {
            if (BinaryPrimitives.ReadUInt32BigEndian(values[at..]) > limit)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>One significant-bit count per channel of the colour type, each 1..the sample depth.</summary>
    private bool SignificantBitsValid(byte[] data)
    {
        var channels = colourType switch { 0 => 1, 2 or 3 => 3, 4 => 2, _ => 4 };
        var depth = colourType == 3 ? 8 : bitDepth;
        return data.Length == channels && data.All(bits => bits >= 1 && bits <= depth);
    }

    /// <summary>A grey or RGB sample within the bit depth, or one alpha per palette entry at most.</summary>
    private bool TransparencyValid(byte[] data)
    {
        if (colourType == 3)
        {
            return data.Length >= 1 && data.Length <= paletteEntries;
        }

        if ((colourType == 0 && data.Length != 2) || (colourType == 2 && data.Length != 6) || colourType is 4 or 6)
        {
            return false;
        }

        for (var at = 0; at < data.Length; at += 2)
        {
            if (BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(at)) >= 1 << bitDepth)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// iCCP: a Latin-1 name (free text, so replaced by a fixed one), compression method 0 and the
    /// zlib-compressed profile, which is inflated within <see cref="IccProfile.MaxBytes"/>, rebuilt
    /// and compressed again. A profile that does not inflate, parse or suit the colour type is dropped.
    /// </summary>
    private byte[]? RebuildIccChunk(byte[] data)
    {
        var nameEnd = Array.IndexOf(data, (byte)0);
        if (nameEnd is < 1 or > 79 || nameEnd + 2 > data.Length || data[nameEnd + 1] != 0)
        {
            return null;
        }

        var inflated = Zlib.Inflate(data.AsMemory(nameEnd + 2), IccProfile.MaxBytes);
        var profile = inflated is null ? null : IccProfile.Rebuild(inflated);
        var grey = colourType is 0 or 4;
        if (profile is null || profile.AsSpan(16, 4).SequenceEqual("GRAY"u8) != grey)
        {
            return null;
        }

        return [.. "ICC Profile\0\0"u8, .. Zlib.Deflate(profile)];
    }

    /// <summary>Reads a chunk that must have exactly <paramref name="expected"/> bytes and verifies its CRC.</summary>
    private async ValueTask<byte[]> ReadFixedChunkAsync(byte[] header, uint length, int expected, CancellationToken cancellationToken)
    {
        if (length != expected)
        {
            throw ImageErrors.Malformed("The PNG image has a chunk of the wrong size.");
        }

        return await ReadChunkDataAsync(header, length, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads a small chunk's data (at most the reader's buffer) and verifies its CRC.</summary>
    private async ValueTask<byte[]> ReadChunkDataAsync(byte[] header, uint length, CancellationToken cancellationToken)
    {
        var data = (await reader.ReadExactlyAsync((int)length, cancellationToken).ConfigureAwait(false)).ToArray();
        var crc = Crc32.Update(Crc32.Update(Crc32.Initial, header.AsSpan(4)), data);
        await VerifyCrcAsync(crc, cancellationToken).ConfigureAwait(false);
        return data;
    }

    /// <summary>Writes a chunk from its parsed data: its length, type, data and a fresh CRC.</summary>
    private async ValueTask WriteChunkAsync(byte[] header, byte[] data, CancellationToken cancellationToken)
    {
        var chunkHeader = new byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(chunkHeader, (uint)data.Length);
        header.AsSpan(4, 4).CopyTo(chunkHeader.AsSpan(4));
        await writer.WriteAsync(chunkHeader, cancellationToken).ConfigureAwait(false);
        await writer.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        var crc = Crc32.Finish(Crc32.Update(Crc32.Update(Crc32.Initial, chunkHeader.AsSpan(4)), data));
        await WriteCrcAsync(crc, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reads past a dropped chunk's data, verifying its CRC.</summary>
    private async ValueTask SkipChunkAsync(byte[] header, uint length, CancellationToken cancellationToken)
    {
        var crc = Crc32.Update(Crc32.Initial, header.AsSpan(4));
        for (long remaining = length; remaining > 0;)
        {
            var block = await reader.ReadBlockAsync(remaining, cancellationToken).ConfigureAwait(false);
            crc = Crc32.Update(crc, block.Span);
            remaining -= block.Length;
        }

        await VerifyCrcAsync(crc, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Streams an IDAT or fdAT chunk's data (after fdAT's sequence number) into the current run, verifying its CRC.</summary>
    private async ValueTask CopyDataChunkAsync(string type, byte[] header, uint length, CancellationToken cancellationToken)
    {
        dataRun = type;
        var crc = Crc32.Update(Crc32.Initial, header.AsSpan(4));
        var sequenceLeft = type == "fdAT" ? 4 : 0;
        for (long remaining = length; remaining > 0;)
        {
            var block = await reader.ReadBlockAsync(Math.Min(remaining, DataChunkLength - pendingLength + sequenceLeft), cancellationToken).ConfigureAwait(false);
            crc = Crc32.Update(crc, block.Span);
            remaining -= block.Length;
            var skipped = Math.Min(sequenceLeft, block.Length);
            sequenceLeft -= skipped;
            block[skipped..].CopyTo(pendingData.AsMemory(pendingLength));
            pendingLength += block.Length - skipped;
            if (pendingLength == DataChunkLength)
            {
                await WriteDataChunkAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        await VerifyCrcAsync(crc, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes the rest of the run; a run with no data at all is no image or frame.</summary>
    private async ValueTask EndDataRunAsync(CancellationToken cancellationToken)
    {
        if (pendingLength > 0)
        {
            await WriteDataChunkAsync(cancellationToken).ConfigureAwait(false);
        }

        if (!dataRunWritten)
        {
            throw ImageErrors.Malformed("The PNG image has an image or animation frame with no data.");
        }

        (dataRun, dataRunWritten) = (null, false);
    }

    private async ValueTask WriteDataChunkAsync(CancellationToken cancellationToken)
    {
        var frameData = dataRun == "fdAT";
        var chunkHeader = new byte[8 + (frameData ? 4 : 0)];
        BinaryPrimitives.WriteUInt32BigEndian(chunkHeader, (uint)(chunkHeader.Length - 8 + pendingLength));
        System.Text.Encoding.ASCII.GetBytes(dataRun!).CopyTo(chunkHeader, 4);
        if (frameData)
        {
            BinaryPrimitives.WriteUInt32BigEndian(chunkHeader.AsSpan(8), outputSequence++);
        }

        var data = pendingData.AsMemory(0, pendingLength);
        var crc = Crc32.Finish(Crc32.Update(Crc32.Update(Crc32.Initial, chunkHeader.AsSpan(4)), data.Span));
        await writer.WriteAsync(chunkHeader, cancellationToken).ConfigureAwait(false);
        await writer.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        await WriteCrcAsync(crc, cancellationToken).ConfigureAwait(false);
        (pendingLength, dataRunWritten) = (0, true);
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
