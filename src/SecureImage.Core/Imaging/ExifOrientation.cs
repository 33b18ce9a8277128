using System.Buffers.Binary;

namespace SecureImage.Core.Imaging;

/// <summary>
/// Reads the Orientation tag from an EXIF APP1 payload and builds a replacement EXIF that holds
/// nothing else, so phones' rotated photos still display upright without keeping any other tag.
/// </summary>
internal static class ExifOrientation
{
    public static ReadOnlySpan<byte> ExifHeader => "Exif\0\0"u8;

    private const ushort OrientationTag = 0x0112;
    private const ushort ShortType = 3;
    private const int EntrySize = 12;

    /// <summary>The orientation 1..8, or 0 when there is none or the EXIF is broken (it is then just dropped).</summary>
    public static int Read(ReadOnlySpan<byte> app1Payload)
    {
        var tiff = app1Payload[ExifHeader.Length..];
        if (tiff.Length < 8)
        {
            return 0;
        }

        bool bigEndian;
        if (tiff.StartsWith("MM\0*"u8))
        {
            bigEndian = true;
        }
        else if (tiff.StartsWith("II*\0"u8))
        {
            bigEndian = false;
        }
        else
        {
            return 0;
        }

        var ifdOffset = ReadUInt32(tiff[4..], bigEndian);
        if (ifdOffset < 8 || ifdOffset > (uint)tiff.Length - 2)
        {
            return 0;
        }

        var entries = ReadUInt16(tiff[(int)ifdOffset..], bigEndian);
        var first = (int)ifdOffset + 2;
        for (var index = 0; index < entries; index++)
        {
            var at = first + (index * EntrySize);
            if (at + EntrySize > tiff.Length)
            {
                return 0;
            }

            var entry = tiff.Slice(at, EntrySize);
            if (ReadUInt16(entry, bigEndian) != OrientationTag)
            {
                continue;
            }

            if (ReadUInt16(entry[2..], bigEndian) != ShortType || ReadUInt32(entry[4..], bigEndian) != 1)
            {
                return 0;
            }

            var value = ReadUInt16(entry[8..], bigEndian);
            return value is >= 1 and <= 8 ? value : 0;
        }

        return 0;
    }

    /// <summary>An APP1 payload: the EXIF header, a big-endian TIFF header and IFD0 with the one tag.</summary>
    public static byte[] BuildPayload(int orientation)
    {
        var payload = new byte[ExifHeader.Length + 8 + 2 + EntrySize + 4];
        ExifHeader.CopyTo(payload);
        var tiff = payload.AsSpan(ExifHeader.Length);
        "MM\0*"u8.CopyTo(tiff);
        BinaryPrimitives.WriteUInt32BigEndian(tiff[4..], 8);
        BinaryPrimitives.WriteUInt16BigEndian(tiff[8..], 1);
        BinaryPrimitives.WriteUInt16BigEndian(tiff[10..], OrientationTag);
        BinaryPrimitives.WriteUInt16BigEndian(tiff[12..], ShortType);
        BinaryPrimitives.WriteUInt32BigEndian(tiff[14..], 1);
        BinaryPrimitives.WriteUInt16BigEndian(tiff[18..], (ushort)orientation);
        // The two value padding bytes and the next-IFD offset stay zero: there is no IFD1 (no thumbnail).
        return payload;
    }

    private static ushort ReadUInt16(ReadOnlySpan<byte> bytes, bool bigEndian) =>
        bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(bytes) : BinaryPrimitives.ReadUInt16LittleEndian(bytes);

    private static uint ReadUInt32(ReadOnlySpan<byte> bytes, bool bigEndian) =>
        bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(bytes) : BinaryPrimitives.ReadUInt32LittleEndian(bytes);
}
