using System.Buffers.Binary;

namespace SecureImage.Core.Imaging;

/// <summary>
/// JPEG: walks the marker segments, keeps what a decoder needs (tables, frame, scans, JFIF, ICC,
/// Adobe), replaces EXIF with a minimal one holding only a non-default orientation and drops every
/// other application segment and comment. JFIF, Adobe and ICC are rebuilt from their parsed values;
/// frame and scan headers are checked field by field; the coding tables must fill their segments
/// exactly and only those a scan uses are written, in front of it (<see cref="JpegCodingTables"/>),
/// so no kept segment carries extra bytes. Scan data is copied in blocks between 0xFF bytes.
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

    private readonly JpegCodingTables tables = new();
    private JpegFrame? frame;
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
                frame = ReadFrameHeader(marker, span);
                await writer.WriteAsync(tables.BeforeFrame(frame), cancellationToken).ConfigureAwait(false);
                await WriteSegmentAsync(marker, payload, cancellationToken).ConfigureAwait(false);
                break;
            case 0xC4 or 0xCC or 0xDB or 0xDD:
                // Huffman, arithmetic-coding, quantisation tables and the restart interval: held
                // until a scan uses them.
                tables.Define(marker, span);
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

    /// <summary>
    /// Precision 8 (baseline), 8 or 12 (extended, progressive), 2..16 (lossless); 1..4 components with
    /// distinct ids, sampling factors 1..4 and a quantisation table 0..3 (0 for lossless, which has none).
    /// </summary>
    private JpegFrame ReadFrameHeader(byte marker, ReadOnlySpan<byte> header)
    {
        if (frame is not null)
        {
            throw ImageErrors.Malformed("The JPEG image has more than one frame header.");
        }

        if (header.Length < 6 || header[5] is 0 or > 4 || header.Length != 6 + (3 * header[5]))
        {
            throw ImageErrors.Malformed("The JPEG image has a damaged frame header.");
        }

        var parsed = new JpegFrame(marker, header[0], new byte[header[5]], new byte[header[5]]);
        var valid = marker switch
        {
            0xC0 => parsed.Precision == 8,
            0xC3 or 0xCB => parsed.Precision is >= 2 and <= 16,
            _ => parsed.Precision is 8 or 12,
        };
        for (var index = 0; index < parsed.ComponentIds.Length; index++)
        {
            var (id, sampling, table) = (header[6 + (3 * index)], header[7 + (3 * index)], header[8 + (3 * index)]);
            if (Array.IndexOf(parsed.ComponentIds, id, 0, index) >= 0 || sampling >> 4 is 0 or > 4 || (sampling & 0x0F) is 0 or > 4
                || table > (parsed.Lossless ? 0 : 3))
            {
                valid = false;
            }

            (parsed.ComponentIds[index], parsed.QuantisationTables[index]) = (id, table);
        }

        if (!valid)
        {
            throw ImageErrors.Malformed("The JPEG image has a damaged frame header.");
        }

        var frameHeight = BinaryPrimitives.ReadUInt16BigEndian(header[1..]);
        var frameWidth = BinaryPrimitives.ReadUInt16BigEndian(header[3..]);
        if (frameHeight == 0)
        {
            throw ImageErrors.Malformed("The JPEG image does not declare its height in the frame header.");
        }

        ImageErrors.CheckDimensions(frameWidth, frameHeight, limits);
        width = frameWidth;
        height = frameHeight;
        return parsed;
    }

    /// <summary>
    /// Each component once and one of the frame's, table ids 0..3, and the band the coding process
    /// allows (libjpeg's checks): sequential the whole block; progressive a DC band or one
    /// component's AC band, successive approximation one bit at a time up to 13; lossless a
    /// predictor 1..7 and a point transform below the precision.
    /// </summary>
    private static JpegScan ReadScanHeader(JpegFrame frame, ReadOnlySpan<byte> header)
    {
        if (header.Length < 4 || header[0] is 0 or > 4 || header.Length != 4 + (2 * header[0]))
        {
            throw ImageErrors.Malformed("The JPEG image has a damaged scan header.");
        }

        var components = new (int Component, int Dc, int Ac)[header[0]];
        var valid = true;
        for (var index = 0; index < components.Length; index++)
        {
            var (selector, tables) = (header[1 + (2 * index)], header[2 + (2 * index)]);
            components[index] = (Array.IndexOf(frame.ComponentIds, selector), tables >> 4, tables & 0x0F);
            valid &= components[index].Component >= 0 && components[index].Dc <= 3 && components[index].Ac <= 3
                && !components.Take(index).Any(earlier => earlier.Component == components[index].Component);
        }

        var at = 1 + (2 * components.Length);
        var scan = new JpegScan(components, header[at], header[at + 1], header[at + 2] >> 4, header[at + 2] & 0x0F);
        valid &= frame switch
        {
            { Lossless: true } => scan is { Start: >= 1 and <= 7, End: 0, High: 0 } && scan.Low < frame.Precision,
            { Progressive: true } => scan.End <= 63 && scan.Start <= scan.End && (scan.Start == 0) == (scan.End == 0)
                && (scan.Start == 0 || components.Length == 1) && scan.Low <= 13 && (scan.High == 0 || scan.Low == scan.High - 1),
            _ => scan is { Start: 0, End: 63, High: 0, Low: 0 },
        };
        return valid ? scan : throw ImageErrors.Malformed("The JPEG image has a damaged scan header.");
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
        if (frame is null)
        {
            throw ImageErrors.Malformed("The JPEG image has scan data before its frame header.");
        }

        var length = await ReadPayloadLengthAsync(cancellationToken).ConfigureAwait(false);
        var header = await reader.ReadExactlyAsync(length, cancellationToken).ConfigureAwait(false);
        var scan = ReadScanHeader(frame, header.Span);
        await writer.WriteAsync(tables.BeforeScan(frame, scan), cancellationToken).ConfigureAwait(false);
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
