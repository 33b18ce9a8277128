using System.Buffers.Binary;

namespace SecureImage.Core.Imaging;

/// <summary>
/// WebP: RIFF with a VP8, VP8L or VP8X first chunk. Drops EXIF, XMP and unknown chunks and makes the
/// VP8X flags and the RIFF size agree with what is left. The RIFF size comes first in the file, so
/// the (small) header chunks are buffered and the output size computed before any image data is
/// streamed; image data itself is never buffered.
/// </summary>
internal sealed class WebPSanitizer(ImageReader reader, ImageWriter writer, ImageLimits limits)
{
    private const int RiffHeaderLength = 12;
    private const int ChunkHeaderLength = 8;
    private const int ExtendedHeaderLength = 10;

    /// <summary>Bound on the buffered header chunks (ICC profile, animation parameters).</summary>
    private const int MaxHeaderBytes = 1024 * 1024;

    private const byte IccFlag = 0x20;
    private const byte AlphaFlag = 0x10;
    private const byte AnimationFlag = 0x02;

    private static readonly byte[] Zeros = new byte[4096];

    private long remaining;

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
                await CopyChunkAsync(first, cancellationToken).ConfigureAwait(false);
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
        var animated = (fields[0] & AnimationFlag) != 0;

        // Header chunks before the image data: ICC profile and animation parameters are kept.
        var kept = new List<(Chunk Chunk, byte[] Data)>();
        long keptBytes = 0;
        Chunk chunk;
        while (true)
        {
            chunk = await ReadChunkHeaderAsync(cancellationToken).ConfigureAwait(false);
            if (chunk.FourCc is "ALPH" or "VP8 " or "VP8L" or "ANMF")
            {
                break;
            }

            if (chunk.FourCc is "ICCP" or "ANIM")
            {
                keptBytes += ChunkHeaderLength + chunk.Padded;
                if (keptBytes > MaxHeaderBytes || kept.Exists(entry => entry.Chunk.FourCc == chunk.FourCc))
                {
                    throw ImageErrors.Malformed("The WebP image has oversized or repeated header chunks.");
                }

                kept.Add((chunk, await ReadSmallAsync(chunk.Padded, cancellationToken).ConfigureAwait(false)));
            }
            else
            {
                await reader.SkipAsync(chunk.Padded, cancellationToken).ConfigureAwait(false);
            }
        }

        var hasAnimationHeader = kept.Exists(entry => entry.Chunk.FourCc == "ANIM");
        if (animated != (chunk.FourCc == "ANMF") || animated != hasAnimationHeader)
        {
            throw ImageErrors.Malformed("The WebP image's animation flag does not match its chunks.");
        }

        fields[0] = (byte)((fields[0] & (AlphaFlag | AnimationFlag)) | (kept.Exists(entry => entry.Chunk.FourCc == "ICCP") ? IccFlag : 0));
        var headerBytes = (ChunkHeaderLength + ExtendedHeaderLength) + keptBytes;

        if (chunk.FourCc is "VP8 " or "VP8L")
        {
            // The common still image: the output ends with this chunk, so its size is known now.
            await CheckStillSizeAsync(chunk, width, height, cancellationToken).ConfigureAwait(false);
            await WriteHeadersAsync(headerBytes + ChunkHeaderLength + chunk.Padded, extended, fields, kept, cancellationToken).ConfigureAwait(false);
            await CopyChunkAsync(chunk, cancellationToken).ConfigureAwait(false);
            return (width, height);
        }

        // Alpha plus bitstream, or animation frames: the image data runs to the RIFF end, and the
        // chunks dropped from it (EXIF, XMP, unknown) are replaced by one zero-filled JUNK chunk at
        // the end so that the RIFF size can be written before the data is streamed.
        await WriteHeadersAsync(headerBytes + ChunkHeaderLength + chunk.Padded + remaining, extended, fields, kept, cancellationToken).ConfigureAwait(false);
        long dropped = 0;
        var frames = 0;
        var bitstreamSeen = false;
        while (true)
        {
            var keep = animated ? chunk.FourCc == "ANMF" : chunk.FourCc is "ALPH" or "VP8 " or "VP8L" && !bitstreamSeen;
            if (keep && animated)
            {
                ImageErrors.CheckFrames(++frames, limits);
                await CheckFrameAsync(chunk, width, height, cancellationToken).ConfigureAwait(false);
            }
            else if (keep && chunk.FourCc != "ALPH")
            {
                await CheckStillSizeAsync(chunk, width, height, cancellationToken).ConfigureAwait(false);
                bitstreamSeen = true;
            }

            if (keep)
            {
                await CopyChunkAsync(chunk, cancellationToken).ConfigureAwait(false);
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
        if (remaining < ChunkHeaderLength)
        {
            throw ImageErrors.Malformed("The WebP image's chunks do not fit its declared size.");
        }

        var header = (await reader.ReadExactlyAsync(ChunkHeaderLength, cancellationToken).ConfigureAwait(false)).ToArray();
        var chunk = new Chunk(System.Text.Encoding.ASCII.GetString(header, 0, 4), BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4)), header);
        remaining -= ChunkHeaderLength;
        if (chunk.Padded > remaining)
        {
            throw ImageErrors.Malformed("The WebP image's chunks do not fit its declared size.");
        }

        remaining -= chunk.Padded;
        return chunk;
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

    private async ValueTask CheckFrameAsync(Chunk chunk, int width, int height, CancellationToken cancellationToken)
    {
        if (chunk.Size < 16 || await reader.FillAsync(16, cancellationToken).ConfigureAwait(false) < 16)
        {
            throw ImageErrors.Malformed("The WebP animation frame is too short to hold its header.");
        }

        var frame = reader.Buffered.Span;
        var right = (2L * ReadUInt24(frame)) + ReadUInt24(frame[6..]) + 1;
        var bottom = (2L * ReadUInt24(frame[3..])) + ReadUInt24(frame[9..]) + 1;
        if (right > width || bottom > height)
        {
            throw ImageErrors.Malformed("The WebP animation has a frame outside its canvas.");
        }
    }

    private async ValueTask WriteRiffHeaderAsync(long contentBytes, CancellationToken cancellationToken)
    {
        var header = new byte[RiffHeaderLength];
        "RIFF"u8.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), checked((uint)(4 + contentBytes)));
        "WEBP"u8.CopyTo(header.AsSpan(8));
        await writer.WriteAsync(header, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask WriteHeadersAsync(long contentBytes, Chunk extended, byte[] fields, List<(Chunk Chunk, byte[] Data)> kept, CancellationToken cancellationToken)
    {
        await WriteRiffHeaderAsync(contentBytes, cancellationToken).ConfigureAwait(false);
        await writer.WriteAsync(extended.Header, cancellationToken).ConfigureAwait(false);
        await writer.WriteAsync(fields, cancellationToken).ConfigureAwait(false);
        foreach (var (chunk, data) in kept.OrderBy(entry => entry.Chunk.FourCc == "ANIM"))
        {
            // The container requires ICCP before ANIM.
            await writer.WriteAsync(chunk.Header, cancellationToken).ConfigureAwait(false);
            await writer.WriteAsync(data, cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask CopyChunkAsync(Chunk chunk, CancellationToken cancellationToken)
    {
        await writer.WriteAsync(chunk.Header, cancellationToken).ConfigureAwait(false);
        await reader.CopyAsync(writer, chunk.Padded, cancellationToken).ConfigureAwait(false);
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
