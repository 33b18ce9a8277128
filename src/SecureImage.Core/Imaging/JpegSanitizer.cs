using System.Buffers.Binary;

namespace SecureImage.Core.Imaging;

/// <summary>
/// JPEG: walks the marker segments, keeps what a decoder needs (tables, frame, scans, JFIF, ICC,
/// Adobe), replaces EXIF with a minimal one holding only a non-default orientation and drops every
/// other application segment and comment. JFIF, Adobe and ICC are rebuilt from their parsed values
/// and the coding tables must fill their segments exactly, so no kept segment carries extra bytes.
/// Scan data is copied in blocks between 0xFF bytes.
/// </summary>
internal sealed class JpegSanitizer(ImageReader reader, ImageWriter writer, ImageLimits limits)
{
    public static ReadOnlySpan<byte> Signature => [0xFF, 0xD8, 0xFF];

    private const byte Soi = 0xD8;
    private const byte Eoi = 0xD9;
    private const byte Sos = 0xDA;
    private const byte App0 = 0xE0;
    private const byte App1 = 0xE1;
    private const byte App2 = 0xE2;
    private const byte App14 = 0xEE;

    /// <summary>JFIF APP0 up to and including the thumbnail size bytes; the thumbnail itself is dropped.</summary>
    private const int JfifHeaderLength = 14;

    /// <summary>"Adobe", version, two flag words and the colour transform.</summary>
    private const int AdobeLength = 12;

    /// <summary>"ICC_PROFILE\0", the chunk number and the chunk count.</summary>
    private const int IccHeaderLength = 14;

    private int width;
    private int height;
    private bool exifSeen;
    private bool jfifSeen;
    private bool adobeSeen;
    private bool scanSeen;

    /// <summary>The ICC chunks collected so far (the profile is parsed once all have arrived); null before the first.</summary>
    private byte[]?[]? iccChunks;
    private int iccBytes;
    private bool iccDone;

    public async ValueTask<(int Width, int Height)> RunAsync(CancellationToken cancellationToken)
    {
        await reader.ReadExactlyAsync(2, cancellationToken).ConfigureAwait(false);
        await writer.WriteAsync(new byte[] { 0xFF, Soi }, cancellationToken).ConfigureAwait(false);

        var marker = await ReadMarkerAsync(cancellationToken).ConfigureAwait(false);
        while (true)
        {
            switch (marker)
            {
                case Eoi when !scanSeen:
                    throw ImageErrors.Malformed("The JPEG image ends before its image data.");
                case Eoi:
                    await writer.WriteAsync(new byte[] { 0xFF, Eoi }, cancellationToken).ConfigureAwait(false);
                    return (width, height);
                case Sos:
                    marker = await CopyScanAsync(cancellationToken).ConfigureAwait(false);
                    continue;
                case Soi or 0x01 or (>= 0xD0 and <= 0xD7):
                    throw ImageErrors.Malformed("The JPEG image has a marker out of place.");
                default:
                    await HandleSegmentAsync(marker, cancellationToken).ConfigureAwait(false);
                    break;
            }

            marker = await ReadMarkerAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask<byte> ReadMarkerAsync(CancellationToken cancellationToken)
    {
        if (await reader.ReadByteAsync(cancellationToken).ConfigureAwait(false) != 0xFF)
        {
            throw ImageErrors.Malformed("The JPEG image has data where a marker was expected.");
        }

        byte marker;
        do
        {
            // Any number of 0xFF fill bytes may precede a marker.
            marker = await reader.ReadByteAsync(cancellationToken).ConfigureAwait(false);
        }
        while (marker == 0xFF);

        return marker == 0 ? throw ImageErrors.Malformed("The JPEG image has data where a marker was expected.") : marker;
    }

    private async ValueTask<int> ReadPayloadLengthAsync(CancellationToken cancellationToken)
    {
        var bytes = await reader.ReadExactlyAsync(2, cancellationToken).ConfigureAwait(false);
        var length = BinaryPrimitives.ReadUInt16BigEndian(bytes.Span);
        return length < 2 ? throw ImageErrors.Malformed("The JPEG image has a segment with an impossible length.") : length - 2;
    }

    private async ValueTask HandleSegmentAsync(byte marker, CancellationToken cancellationToken)
    {
        var length = await ReadPayloadLengthAsync(cancellationToken).ConfigureAwait(false);
        var payload = await reader.ReadExactlyAsync(length, cancellationToken).ConfigureAwait(false);
        var span = payload.Span;
        switch (marker)
        {
            case App0 when !jfifSeen && span.Length >= JfifHeaderLength && span.StartsWith("JFIF\0"u8):
                jfifSeen = true;
                await WriteSegmentAsync(App0, BuildJfif(span), cancellationToken).ConfigureAwait(false);
                break;
            case App1 when !exifSeen && span.StartsWith(ExifOrientation.ExifHeader):
                exifSeen = true;
                var orientation = ExifOrientation.Read(span);
                if (orientation is > 1 and <= 8)
                {
                    await WriteSegmentAsync(App1, ExifOrientation.BuildPayload(orientation), cancellationToken).ConfigureAwait(false);
                }

                break;
            case App2 when span.StartsWith("ICC_PROFILE\0"u8) && !scanSeen && !iccDone:
                if (CollectIccChunk(span) is { } profile)
                {
                    await WriteSegmentAsync(App2, profile, cancellationToken).ConfigureAwait(false);
                }

                break;
            case App14 when !adobeSeen && span.Length >= AdobeLength && span.StartsWith("Adobe"u8):
                adobeSeen = true;
                await WriteSegmentAsync(App14, BuildAdobe(span), cancellationToken).ConfigureAwait(false);
                break;
            case (>= App0 and <= 0xEF) or 0xFE:
                break; // metadata: other application segments and comments
            case 0xC0 or 0xC1 or 0xC2 or 0xC3 or 0xC9 or 0xCA or 0xCB:
                ReadFrameHeader(span);
                await WriteSegmentAsync(marker, payload, cancellationToken).ConfigureAwait(false);
                break;
            case 0xC4 or 0xCC or 0xDB or 0xDD:
                // Huffman, arithmetic-coding, quantisation tables and the restart interval.
                if (!CodingTablesFill(marker, span))
                {
                    throw ImageErrors.Malformed("The JPEG image has a damaged coding table segment.");
                }

                await WriteSegmentAsync(marker, payload, cancellationToken).ConfigureAwait(false);
                break;
            case (>= 0xC5 and <= 0xCF) or 0xDE or 0xDF:
                throw ImageErrors.Malformed("The JPEG image uses hierarchical or differential coding, which is not accepted.");
            default:
                throw ImageErrors.Malformed("The JPEG image has an unknown segment.");
        }
    }

    /// <summary>JFIF rebuilt from its fields: version 1.00–1.02 (else 1.02), units 0–2 (else 0), densities, no thumbnail.</summary>
    private static byte[] BuildJfif(ReadOnlySpan<byte> payload)
    {
        var jfif = new byte[JfifHeaderLength];
        "JFIF\0"u8.CopyTo(jfif);
        var validVersion = payload[5] == 1 && payload[6] <= 2;
        jfif[5] = 1;
        jfif[6] = validVersion ? payload[6] : (byte)2;
        jfif[7] = payload[7] <= 2 ? payload[7] : (byte)0;
        payload[8..12].CopyTo(jfif.AsSpan(8)); // horizontal and vertical density
        // Thumbnail size 0×0: a thumbnail would show the uncropped original.
        return jfif;
    }

    /// <summary>Adobe APP14 rebuilt: version 100, no flags, the colour transform (which changes how the pixels decode).</summary>
    private static byte[] BuildAdobe(ReadOnlySpan<byte> payload)
    {
        var transform = payload[11];
        if (transform > 2)
        {
            throw ImageErrors.Malformed("The JPEG image has a damaged Adobe segment.");
        }

        return [.. "Adobe"u8, 0, 100, 0, 0, 0, 0, transform];
    }

    /// <summary>
    /// Collects one APP2 ICC chunk; once every chunk has arrived, returns the APP2 payload holding the
    /// rebuilt profile, or null (also when the profile is dropped: chunks out of order, too large, or
    /// not a kept kind of profile). Later chunks and profiles are dropped.
    /// </summary>
    private byte[]? CollectIccChunk(ReadOnlySpan<byte> payload)
    {
        if (payload.Length <= IccHeaderLength)
        {
            iccDone = true;
            return null;
        }

        var (number, count) = (payload[12], payload[13]);
        iccChunks ??= count == 0 ? null : new byte[]?[count];
        var data = payload[IccHeaderLength..];
        iccBytes += data.Length;
        if (iccChunks is null || number == 0 || number > iccChunks.Length || count != iccChunks.Length
            || iccChunks[number - 1] is not null || iccBytes > IccProfile.MaxBytes)
        {
            (iccDone, iccChunks) = (true, null);
            return null;
        }

        iccChunks[number - 1] = data.ToArray();
        if (Array.IndexOf(iccChunks, null) >= 0)
        {
            return null;
        }

        var profile = IccProfile.Rebuild(iccChunks.SelectMany(chunk => chunk!).ToArray());
        (iccDone, iccChunks) = (true, null);
        return profile is null || profile.Length > ushort.MaxValue - 2 - IccHeaderLength
            ? null
            : [.. "ICC_PROFILE\0"u8, 1, 1, .. profile];
    }

    /// <summary>DQT, DHT, DAC and DRI hold tables of fixed layouts that must fill the segment exactly.</summary>
    private static bool CodingTablesFill(byte marker, ReadOnlySpan<byte> payload)
    {
        if (marker == 0xDD)
        {
            return payload.Length == 2;
        }

        if (marker == 0xCC)
        {
            // Pairs of table class/destination and conditioning value.
            for (var pair = 0; pair + 1 < payload.Length; pair += 2)
            {
                if (payload[pair] >> 4 > 1 || (payload[pair] & 0x0F) > 3)
                {
                    return false;
                }
            }

            return payload.Length > 0 && payload.Length % 2 == 0;
        }

        var at = 0;
        while (at < payload.Length)
        {
            var (tableClass, id) = (payload[at] >> 4, payload[at] & 0x0F);
            if (tableClass > 1 || id > 3)
            {
                return false;
            }

            if (marker == 0xDB)
            {
                at += 1 + (tableClass == 0 ? 64 : 128); // 8- or 16-bit quantisation values
                continue;
            }

            if (at + 17 > payload.Length)
            {
                return false;
            }

            var symbols = 0;
            foreach (var count in payload.Slice(at + 1, 16))
            {
                symbols += count;
            }

            if (symbols > 256)
            {
                return false;
            }

            at += 17 + symbols;
        }

        return payload.Length > 0 && at == payload.Length;
    }

    private void ReadFrameHeader(ReadOnlySpan<byte> frame)
    {
        if (width != 0)
        {
            throw ImageErrors.Malformed("The JPEG image has more than one frame header.");
        }

        if (frame.Length < 6 || frame[5] is 0 or > 4 || frame.Length != 6 + (3 * frame[5]))
        {
            throw ImageErrors.Malformed("The JPEG image has a damaged frame header.");
        }

        var frameHeight = BinaryPrimitives.ReadUInt16BigEndian(frame[1..]);
        var frameWidth = BinaryPrimitives.ReadUInt16BigEndian(frame[3..]);
        if (frameHeight == 0)
        {
            throw ImageErrors.Malformed("The JPEG image does not declare its height in the frame header.");
        }

        ImageErrors.CheckDimensions(frameWidth, frameHeight, limits);
        width = frameWidth;
        height = frameHeight;
    }

    private async ValueTask WriteSegmentAsync(byte marker, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        var header = new byte[4];
        header[0] = 0xFF;
        header[1] = marker;
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(2), (ushort)(payload.Length + 2));
        await writer.WriteAsync(header, cancellationToken).ConfigureAwait(false);
        await writer.WriteAsync(payload, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Copies the scan header and its entropy-coded data; returns the marker that ends the scan.</summary>
    private async ValueTask<byte> CopyScanAsync(CancellationToken cancellationToken)
    {
        if (width == 0)
        {
            throw ImageErrors.Malformed("The JPEG image has scan data before its frame header.");
        }

        var length = await ReadPayloadLengthAsync(cancellationToken).ConfigureAwait(false);
        var header = await reader.ReadExactlyAsync(length, cancellationToken).ConfigureAwait(false);
        if (header.Length < 4 || header.Span[0] is 0 or > 4 || header.Length != 4 + (2 * header.Span[0]))
        {
            throw ImageErrors.Malformed("The JPEG image has a damaged scan header.");
        }

        await WriteSegmentAsync(Sos, header, cancellationToken).ConfigureAwait(false);
        scanSeen = true;

        while (true)
        {
            if (await reader.FillAsync(2, cancellationToken).ConfigureAwait(false) < 2)
            {
                throw ImageErrors.Truncated();
            }

            var data = reader.Buffered;
            var span = data.Span;
            var position = 0;
            while (true)
            {
                var next = span[position..].IndexOf((byte)0xFF);
                if (next < 0)
                {
                    position = span.Length;
                    break;
                }

                position += next;
                if (position + 1 >= span.Length)
                {
                    break; // the byte after 0xFF is not buffered yet
                }

                var follower = span[position + 1];
                if (follower == 0 || (follower & 0xF8) == 0xD0)
                {
                    position += 2; // a stuffed 0xFF data byte or a restart marker: part of the scan
                    continue;
                }

                await writer.WriteAsync(data[..position], cancellationToken).ConfigureAwait(false);
                reader.Advance(position);
                return await ReadMarkerAsync(cancellationToken).ConfigureAwait(false);
            }

            await writer.WriteAsync(data[..position], cancellationToken).ConfigureAwait(false);
            reader.Advance(position);
        }
    }
}
