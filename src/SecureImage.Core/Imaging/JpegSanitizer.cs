using System.Buffers.Binary;

namespace SecureImage.Core.Imaging;

/// <summary>
/// JPEG: walks the marker segments, keeps what a decoder needs (tables, frame, scans, JFIF, ICC,
/// Adobe), replaces EXIF with a minimal one holding only a non-default orientation and drops every
/// other application segment and comment. Scan data is copied in blocks between 0xFF bytes.
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

    private int width;
    private int height;
    private bool exifSeen;
    private bool scanSeen;

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
            case App0 when span.Length >= JfifHeaderLength && span.StartsWith("JFIF\0"u8):
                var jfif = span[..JfifHeaderLength].ToArray();
                jfif[12] = 0; // no thumbnail: it would show the uncropped original
                jfif[13] = 0;
                await WriteSegmentAsync(App0, jfif, cancellationToken).ConfigureAwait(false);
                break;
            case App1 when !exifSeen && span.StartsWith(ExifOrientation.ExifHeader):
                exifSeen = true;
                var orientation = ExifOrientation.Read(span);
                if (orientation is > 1 and <= 8)
                {
                    await WriteSegmentAsync(App1, ExifOrientation.BuildPayload(orientation), cancellationToken).ConfigureAwait(false);
                }

                break;
            case App2 when span.StartsWith("ICC_PROFILE\0"u8):
            case App14 when span.StartsWith("Adobe"u8):
                await WriteSegmentAsync(marker, payload, cancellationToken).ConfigureAwait(false);
                break;
            case (>= App0 and <= 0xEF) or 0xFE:
                break; // metadata: other application segments and comments
            case 0xC0 or 0xC1 or 0xC2 or 0xC3 or 0xC9 or 0xCA or 0xCB:
                ReadFrameHeader(span);
                await WriteSegmentAsync(marker, payload, cancellationToken).ConfigureAwait(false);
                break;
            case 0xC4 or 0xCC or 0xDB or 0xDD:
                // Huffman, arithmetic-coding, quantisation tables and the restart interval.
                await WriteSegmentAsync(marker, payload, cancellationToken).ConfigureAwait(false);
                break;
            case (>= 0xC5 and <= 0xCF) or 0xDE or 0xDF:
                throw ImageErrors.Malformed("The JPEG image uses hierarchical or differential coding, which is not accepted.");
            default:
                throw ImageErrors.Malformed("The JPEG image has an unknown segment.");
        }
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
