using System.Buffers.Binary;

namespace SecureImage.Core.Imaging;

/// <summary>
/// WebP: RIFF with a VP8, VP8L or VP8X first chunk. Drops EXIF, XMP and unknown chunks (also inside
/// animation frames) and makes the VP8X flags and the RIFF size agree with what is left. VP8X, ANIM,
/// ICCP, frame headers and the alpha header are rebuilt from parsed values, padding bytes are
/// written as zero. The RIFF size comes first in the file, so the (small) header chunks are
/// buffered and the output size computed before any image data is streamed; image data itself is
/// never buffered.
/// </summary>
internal sealed class WebPSanitizer(ImageReader reader, ImageWriter writer, ImageLimits limits)
{
    private const int RiffHeaderLength = 12;
    private const int ChunkHeaderLength = 8;
    private const int ExtendedHeaderLength = 10;

    private const int FrameHeaderLength = 16;
    private const int AnimationHeaderLength = 6;

    private const byte IccFlag = 0x20;
    private const byte AlphaFlag = 0x10;
    private const byte AnimationFlag = 0x02;

    private static readonly byte[] Zeros = new byte[4096];

    private long remaining;
    private int canvasWidth;
    private int canvasHeight;

    private readonly record struct Chunk(string FourCc, uint Size, byte[] Header)
    {
        public long Padded => Size + (Size & 1);
    }

    public async ValueTask<(int Width, int Height)> RunAsync(CancellationToken cancellationToken)
    {
        var riff = await reader.ReadExactlyAsync(RiffHeaderLength, cancellationToken).ConfigureAwait(false);
        remaining = BinaryPrimitives.ReadUInt32LittleEndian(riff.Span[4..]) - 4L;
        var first = await ReadChunkHeaderAsync(cancellationToken).ConfigureAwait(false);
        switch (first.FourCc)
        {
            case "VP8 " or "VP8L":
                var (width, height) = await PeekBitstreamSizeAsync(first, cancellationToken).ConfigureAwait(false);
                ImageErrors.CheckDimensions(width, height, limits);
                await WriteRiffHeaderAsync(ChunkHeaderLength + first.Padded, cancellationToken).ConfigureAwait(false);
                await CopyChunkAsync(first, width, height, cancellationToken).ConfigureAwait(false);
                return (width, height);
            case "VP8X":
                return await SanitizeExtendedAsync(first, cancellationToken).ConfigureAwait(false);
            default:
                throw ImageErrors.Malformed("The WebP image does not start with an image chunk.");
        }
    }

    private async ValueTask<(int Width, int Height)> SanitizeExtendedAsync(Chunk extended, CancellationToken cancellationToken)
    {
        if (extended.Size != ExtendedHeaderLength)
        {
            throw ImageErrors.Malformed("The WebP extended header has the wrong size.");
        }

        var fields = (await reader.ReadExactlyAsync(ExtendedHeaderLength, cancellationToken).ConfigureAwait(false)).ToArray();
        var width = ReadUInt24(fields.AsSpan(4)) + 1;
        var height = ReadUInt24(fields.AsSpan(7)) + 1;
        ImageErrors.CheckDimensions(width, height, limits);
        (canvasWidth, canvasHeight) = (width, height);
        var animated = (fields[0] & AnimationFlag) != 0;
        fields.AsSpan(1, 3).Clear(); // reserved

        // Header chunks before the image data: a parsed ICC profile and the animation parameters
        // are kept, rebuilt; each appears once.
        byte[]? icc = null;
        byte[]? animation = null;
        var iccSeen = false;
        Chunk chunk;
        while (true)
        {
            chunk = await ReadChunkHeaderAsync(cancellationToken).ConfigureAwait(false);
            if (chunk.FourCc is "ALPH" or "VP8 " or "VP8L" or "ANMF")
            {
                break;
            }

            if (chunk.FourCc == "ICCP" && !iccSeen && chunk.Size <= IccProfile.MaxBytes)
            {
                iccSeen = true;
                var data = await ReadSmallAsync(chunk.Padded, cancellationToken).ConfigureAwait(false);
                icc = IccProfile.Rebuild(data.AsSpan(0, (int)chunk.Size));
            }
            else if (chunk.FourCc == "ANIM")
            {
                if (animation is not null || chunk.Size < AnimationHeaderLength)
                {
                    throw ImageErrors.Malformed("The WebP image has a damaged or repeated animation header.");
                }

                // Background colour and loop count; anything after them is dropped.
                animation = (await reader.ReadExactlyAsync(AnimationHeaderLength, cancellationToken).ConfigureAwait(false)).ToArray();
                await reader.SkipAsync(chunk.Padded - AnimationHeaderLength, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await reader.SkipAsync(chunk.Padded, cancellationToken).ConfigureAwait(false);
            }
        }

        if (animated != (chunk.FourCc == "ANMF") || animated != (animation is not null))
        {
            throw ImageErrors.Malformed("The WebP image's animation flag does not match its chunks.");
        }

        var kept = new List<byte[]>();
        if (icc is not null)
        {
            kept.Add(RiffChunk("ICCP", icc)); // the container requires ICCP before ANIM
        }

        if (animation is not null)
        {
            kept.Add(RiffChunk("ANIM", animation));
        }

        fields[0] = (byte)((fields[0] & (AlphaFlag | AnimationFlag)) | (icc is not null ? IccFlag : 0));
        var headerBytes = ChunkHeaderLength + ExtendedHeaderLength + kept.Sum(entry => (long)entry.Length);

        if (chunk.FourCc is "VP8 " or "VP8L")
        {
            // The common still image: the output ends with this chunk, so its size is known now.
            await CheckStillSizeAsync(chunk, width, height, cancellationToken).ConfigureAwait(false);
            await WriteHeadersAsync(headerBytes + ChunkHeaderLength + chunk.Padded, extended, fields, kept, cancellationToken).ConfigureAwait(false);
            await CopyChunkAsync(chunk, width, height, cancellationToken).ConfigureAwait(false);
            return (width, height);
        }

        // Alpha plus bitstream, or animation frames: the image data runs to the RIFF end, and the
        // chunks dropped from it (EXIF, XMP, unknown) are replaced by one zero-filled JUNK chunk at
        // the end so that the RIFF size can be written before the data is streamed.
        await WriteHeadersAsync(headerBytes + ChunkHeaderLength + chunk.Padded + remaining, extended, fields, kept, cancellationToken).ConfigureAwait(false);
        long dropped = 0;
        var frames = 0;
        var (alphaSeen, bitstreamSeen) = (false, false);
        while (true)
        {
            // A still image keeps one ALPH and the first bitstream; later ones are dropped.
            var keep = animated ? chunk.FourCc == "ANMF"
                : !bitstreamSeen && (chunk.FourCc is "VP8 " or "VP8L" || (chunk.FourCc == "ALPH" && !alphaSeen));
            if (keep && animated)
            {
                ImageErrors.CheckFrames(++frames, limits);
            }
            else if (keep && chunk.FourCc == "ALPH")
            {
                alphaSeen = true;
            }
            else if (keep)
            {
                CheckAlphaPairing(alphaSeen, chunk);
                await CheckStillSizeAsync(chunk, width, height, cancellationToken).ConfigureAwait(false);
                bitstreamSeen = true;
            }

            if (keep && animated)
            {
                await CopyFrameAsync(chunk, cancellationToken).ConfigureAwait(false);
            }
            else if (keep)
            {
                await CopyChunkAsync(chunk, width, height, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                dropped += ChunkHeaderLength + chunk.Padded;
                await reader.SkipAsync(chunk.Padded, cancellationToken).ConfigureAwait(false);
            }

            if (remaining == 0)
            {
                break;
            }

            chunk = await ReadChunkHeaderAsync(cancellationToken).ConfigureAwait(false);
        }

        if (!animated && !bitstreamSeen)
        {
            throw ImageErrors.Malformed("The WebP image has alpha data but no image data.");
        }

        await WriteFillerAsync(dropped, cancellationToken).ConfigureAwait(false);
        return (width, height);
    }

    private async ValueTask<Chunk> ReadChunkHeaderAsync(CancellationToken cancellationToken)
    {
        var chunk = await ReadChunkWithinAsync(remaining, "The WebP image's chunks do not fit its declared size.", cancellationToken).ConfigureAwait(false);
        remaining -= ChunkHeaderLength + chunk.Padded;
        return chunk;
    }

    /// <summary>Reads a chunk header whose chunk, with its data and padding, must fit in <paramref name="room"/> bytes.</summary>
    private async ValueTask<Chunk> ReadChunkWithinAsync(long room, string overrun, CancellationToken cancellationToken)
    {
        if (room < ChunkHeaderLength)
        {
            throw ImageErrors.Malformed(overrun);
        }

        var header = (await reader.ReadExactlyAsync(ChunkHeaderLength, cancellationToken).ConfigureAwait(false)).ToArray();
        var chunk = new Chunk(System.Text.Encoding.ASCII.GetString(header, 0, 4), BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4)), header);
        return ChunkHeaderLength + chunk.Padded > room ? throw ImageErrors.Malformed(overrun) : chunk;
    }

    private async ValueTask<byte[]> ReadSmallAsync(long count, CancellationToken cancellationToken)
    {
        var data = new byte[count];
        for (var filled = 0; filled < count;)
        {
            var block = await reader.ReadBlockAsync(count - filled, cancellationToken).ConfigureAwait(false);
            block.CopyTo(data.AsMemory(filled));
            filled += block.Length;
        }

        return data;
    }

    /// <summary>Reads the frame size from the start of a VP8 or VP8L bitstream without consuming it.</summary>
    private async ValueTask<(int Width, int Height)> PeekBitstreamSizeAsync(Chunk chunk, CancellationToken cancellationToken)
    {
        var needed = chunk.FourCc == "VP8 " ? 10 : 5;
        if (chunk.Size < needed || await reader.FillAsync(needed, cancellationToken).ConfigureAwait(false) < needed)
        {
            throw ImageErrors.Malformed("The WebP image data is too short to hold its header.");
        }

        var head = reader.Buffered.Span;
        if (chunk.FourCc == "VP8 ")
        {
            // Lossy: a key frame (tag bit 0 clear), then the start code 9D 01 2A and 14-bit sizes.
            if ((head[0] & 1) != 0 || head[3] != 0x9D || head[4] != 0x01 || head[5] != 0x2A)
            {
                throw ImageErrors.Malformed("The WebP lossy image data does not start with a key frame.");
            }

            return (BinaryPrimitives.ReadUInt16LittleEndian(head[6..]) & 0x3FFF, BinaryPrimitives.ReadUInt16LittleEndian(head[8..]) & 0x3FFF);
        }

        // Lossless: signature 0x2F, then 14 bits width−1, 14 bits height−1, alpha bit, 3-bit version 0.
        var bits = BinaryPrimitives.ReadUInt32LittleEndian(head[1..]);
        if (head[0] != 0x2F || bits >> 29 != 0)
        {
            throw ImageErrors.Malformed("The WebP lossless image data has a damaged header.");
        }

        return ((int)(bits & 0x3FFF) + 1, (int)((bits >> 14) & 0x3FFF) + 1);
    }

    private async ValueTask CheckStillSizeAsync(Chunk chunk, int width, int height, CancellationToken cancellationToken)
    {
        if (await PeekBitstreamSizeAsync(chunk, cancellationToken).ConfigureAwait(false) != (width, height))
        {
            throw ImageErrors.Malformed("The WebP image data does not match the declared canvas size.");
        }
    }

    /// <summary>
    /// Copies one animation frame: its header rebuilt (reserved bits cleared) after checking that
    /// it lies inside the canvas, then an optional ALPH and the VP8/VP8L bitstream of the frame's
    /// size. Chunks after the bitstream (EXIF, XMP, unknown) are dropped: the frame's size was
    /// written first, so they become one zero-filled JUNK chunk at the end of the frame, where the
    /// container allows unknown chunks.
    /// </summary>
    private async ValueTask CopyFrameAsync(Chunk frame, CancellationToken cancellationToken)
    {
        if (frame.Size < FrameHeaderLength || frame.Size % 2 != 0)
        {
            throw ImageErrors.Malformed("The WebP animation frame is too short to hold its header.");
        }

        var header = (await reader.ReadExactlyAsync(FrameHeaderLength, cancellationToken).ConfigureAwait(false)).ToArray();
        var span = header.AsSpan();
        var (frameWidth, frameHeight) = (ReadUInt24(span[6..]) + 1, ReadUInt24(span[9..]) + 1);
        if ((2L * ReadUInt24(span)) + frameWidth > canvasWidth || (2L * ReadUInt24(span[3..])) + frameHeight > canvasHeight)
        {
            throw ImageErrors.Malformed("The WebP animation has a frame outside its canvas.");
        }

        header[15] &= 0x03; // blending and disposal; the rest is reserved
        await writer.WriteAsync(frame.Header, cancellationToken).ConfigureAwait(false);
        await writer.WriteAsync(header, cancellationToken).ConfigureAwait(false);

        long left = frame.Size - FrameHeaderLength;
        long dropped = 0;
        var (alphaSeen, bitstreamSeen) = (false, false);
        while (left > 0)
        {
            var chunk = await ReadChunkWithinAsync(left, "The WebP animation frame's data is not chunks that fit the frame.", cancellationToken).ConfigureAwait(false);
            left -= ChunkHeaderLength + chunk.Padded;
            if (bitstreamSeen)
            {
                dropped += ChunkHeaderLength + chunk.Padded;
                await reader.SkipAsync(chunk.Padded, cancellationToken).ConfigureAwait(false);
                continue;
            }

            switch (chunk.FourCc)
            {
                case "ALPH" when !alphaSeen:
                    alphaSeen = true;
                    break;
                case "VP8 " or "VP8L":
                    CheckAlphaPairing(alphaSeen, chunk);
                    if (await PeekBitstreamSizeAsync(chunk, cancellationToken).ConfigureAwait(false) != (frameWidth, frameHeight))
                    {
                        throw ImageErrors.Malformed("The WebP animation frame's image data does not match the frame size.");
                    }

                    bitstreamSeen = true;
                    break;
                default:
                    throw ImageErrors.Malformed("The WebP animation frame does not start with its image data.");
            }

            await CopyChunkAsync(chunk, frameWidth, frameHeight, cancellationToken).ConfigureAwait(false);
        }

        if (!bitstreamSeen)
        {
            throw ImageErrors.Malformed("The WebP animation frame has no image data.");
        }

        await WriteFillerAsync(dropped, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A lossless bitstream holds its own alpha: an ALPH chunk before it is never read, so it is refused.</summary>
    private static void CheckAlphaPairing(bool alphaSeen, Chunk bitstream)
    {
        if (alphaSeen && bitstream.FourCc == "VP8L")
        {
            throw ImageErrors.Malformed("The WebP image has alpha data for a lossless image, which carries its own.");
        }
    }

    private async ValueTask WriteRiffHeaderAsync(long contentBytes, CancellationToken cancellationToken)
    {
        // The output size follows the input's declared size; a rebuilt profile larger than the
        // original could push a declared size near 4 GiB past what RIFF can state.
        if (4 + contentBytes > uint.MaxValue)
        {
            throw ImageErrors.Malformed("The WebP image declares a size larger than the format allows.");
        }

        var header = new byte[RiffHeaderLength];
        "RIFF"u8.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), (uint)(4 + contentBytes));
        "WEBP"u8.CopyTo(header.AsSpan(8));
        await writer.WriteAsync(header, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask WriteHeadersAsync(long contentBytes, Chunk extended, byte[] fields, List<byte[]> kept, CancellationToken cancellationToken)
    {
        await WriteRiffHeaderAsync(contentBytes, cancellationToken).ConfigureAwait(false);
        await writer.WriteAsync(extended.Header, cancellationToken).ConfigureAwait(false);
        await writer.WriteAsync(fields, cancellationToken).ConfigureAwait(false);
        foreach (var chunk in kept)
        {
            await writer.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Copies a kept chunk: its header, its data (the alpha header's reserved bits cleared) and a zero
    /// padding byte. Alpha is compressed (method 1) or one byte per pixel of the image or frame
    /// (method 0); decoders ignore bytes past that, so uncompressed alpha must be exactly that long.
    /// </summary>
    private async ValueTask CopyChunkAsync(Chunk chunk, int width, int height, CancellationToken cancellationToken)
    {
        await writer.WriteAsync(chunk.Header, cancellationToken).ConfigureAwait(false);
        var data = (long)chunk.Size;
        if (chunk.FourCc == "ALPH")
        {
            var alphaHeader = data > 0 ? await reader.ReadByteAsync(cancellationToken).ConfigureAwait(false) : (byte)0xFF;
            if ((alphaHeader & 0x03) > 1 || ((alphaHeader & 0x03) == 0 && data != 1 + ((long)width * height)))
            {
                throw ImageErrors.Malformed("The WebP image has damaged alpha data.");
            }

            await writer.WriteAsync(new[] { (byte)(alphaHeader & 0x3F) }, cancellationToken).ConfigureAwait(false);
            data--;
        }

        await reader.CopyAsync(writer, data, cancellationToken).ConfigureAwait(false);
        if (chunk.Padded != chunk.Size)
        {
            await reader.SkipAsync(1, cancellationToken).ConfigureAwait(false);
            await writer.WriteAsync(Zeros.AsMemory(0, 1), cancellationToken).ConfigureAwait(false);
        }
    }

    private static byte[] RiffChunk(string fourCc, byte[] data)
    {
        var chunk = new byte[ChunkHeaderLength + data.Length + (data.Length & 1)];
        System.Text.Encoding.ASCII.GetBytes(fourCc).CopyTo(chunk, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(chunk.AsSpan(4), (uint)data.Length);
        data.CopyTo(chunk, ChunkHeaderLength);
        return chunk;
    }

    private async ValueTask WriteFillerAsync(long bytes, CancellationToken cancellationToken)
    {
        if (bytes == 0)
        {
            return;
        }

        var header = new byte[ChunkHeaderLength];
        "JUNK"u8.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), checked((uint)(bytes - ChunkHeaderLength)));
        await writer.WriteAsync(header, cancellationToken).ConfigureAwait(false);
        for (var left = bytes - ChunkHeaderLength; left > 0; left -= Zeros.Length)
        {
            await writer.WriteAsync(Zeros.AsMemory(0, (int)Math.Min(left, Zeros.Length)), cancellationToken).ConfigureAwait(false);
        }
    }

    private static int ReadUInt24(ReadOnlySpan<byte> bytes) => bytes[0] | (bytes[1] << 8) | (bytes[2] << 16);
}
