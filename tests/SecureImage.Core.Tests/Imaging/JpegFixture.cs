using System.Buffers.Binary;
using System.Text;

namespace SecureImage.Core.Tests.Imaging;

/// <summary>Builds small structurally valid JPEGs (fake tables and scan bytes: the sanitizer never decodes).</summary>
internal static class JpegFixture
{
    public static readonly byte[] Soi = [0xFF, 0xD8];
    public static readonly byte[] Eoi = [0xFF, 0xD9];

    /// <summary>Scan bytes holding a stuffed 0xFF 0x00 and a restart marker, both part of the scan.</summary>
    public static readonly byte[] ScanData = [0x12, 0x34, 0xFF, 0x00, 0x56, 0xFF, 0xD0, 0x78, 0x9A];

    public static byte[] Segment(byte marker, byte[] payload)
    {
        var segment = new byte[4 + payload.Length];
        segment[0] = 0xFF;
        segment[1] = marker;
        BinaryPrimitives.WriteUInt16BigEndian(segment.AsSpan(2), (ushort)(payload.Length + 2));
        payload.CopyTo(segment, 4);
        return segment;
    }

    public static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);

    public static byte[] Jfif(byte thumbWidth = 0, byte thumbHeight = 0) =>
        Segment(0xE0, Bytes.Concat(Ascii("JFIF\0"), [1, 1, 0, 0, 72, 0, 72, thumbWidth, thumbHeight], new byte[3 * thumbWidth * thumbHeight]));

    public static byte[] Dqt() => Segment(0xDB, [0x00, .. Enumerable.Range(1, 64).Select(value => (byte)value)]);

    public static byte[] Dht() => Segment(0xC4, [0x00, 1, .. new byte[15], 0x05]);

    public static byte[] Frame(int width, int height, byte marker = 0xC0)
    {
        var payload = new byte[6 + 3];
        payload[0] = 8;
        BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(1), (ushort)height);
        BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(3), (ushort)width);
        payload[5] = 1;
        payload[6] = 1;
        payload[7] = 0x11;
        payload[8] = 0;
        return Segment(marker, payload);
    }

    public static byte[] ScanHeader() => Segment(0xDA, [1, 1, 0x00, 0, 63, 0]);

    /// <summary>EXIF with IFD0 (Make, Orientation, a GPS IFD pointer) and a GPS IFD holding a latitude reference.</summary>
    public static byte[] Exif(ushort orientation, bool bigEndian = false)
    {
        var tiff = new byte[8 + 2 + (3 * 12) + 4 + 2 + 12 + 4 + 8];
        void U16(int at, int value)
        {
            if (bigEndian) { BinaryPrimitives.WriteUInt16BigEndian(tiff.AsSpan(at), (ushort)value); }
            else { BinaryPrimitives.WriteUInt16LittleEndian(tiff.AsSpan(at), (ushort)value); }
        }

        void U32(int at, int value)
        {
            if (bigEndian) { BinaryPrimitives.WriteUInt32BigEndian(tiff.AsSpan(at), (uint)value); }
            else { BinaryPrimitives.WriteUInt32LittleEndian(tiff.AsSpan(at), (uint)value); }
        }

        Ascii(bigEndian ? "MM\0*" : "II*\0").CopyTo(tiff, 0);
        U32(4, 8);
        U16(8, 3);
        void Entry(int at, int tag, int type, int count, int value)
        {
            U16(at, tag);
            U16(at + 2, type);
            U32(at + 4, count);
            if (type == 3) { U16(at + 8, value); } else { U32(at + 8, value); }
        }

        Entry(10, 0x010F, 2, 4, 0x0053_4F4E); // Make "NOS" inline, ASCII
        Entry(22, 0x0112, 3, 1, orientation);
        var gpsIfd = 10 + 36 + 4;
        Entry(34, 0x8825, 4, 1, gpsIfd);
        U16(gpsIfd, 1);
        Entry(gpsIfd + 2, 0x0001, 2, 2, 0x4E); // GPSLatitudeRef "N"
        Ascii("GPSMARK!").CopyTo(tiff, tiff.Length - 8);
        return Segment(0xE1, Bytes.Concat(Ascii("Exif\0\0"), tiff));
    }

    public static byte[] Xmp() => Segment(0xE1, Ascii("http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>SECRET-XMP</x:xmpmeta>"));

    public static byte[] Iptc() => Segment(0xED, Ascii("Photoshop 3.0\08BIM\x04\x04SECRET-IPTC"));

    public static byte[] Comment() => Segment(0xFE, Ascii("SECRET-COMMENT"));

    public static byte[] Icc(byte chunk, byte chunks) => Segment(0xE2, Bytes.Concat(Ascii("ICC_PROFILE\0"), [chunk, chunks], Ascii("profile-bytes")));

    public static byte[] Adobe() => Segment(0xEE, Bytes.Concat(Ascii("Adobe"), [0, 100, 0, 0, 0, 0, 1]));

    /// <summary>The parts a decoder needs, in order, after SOI and before EOI.</summary>
    public static byte[] Core(int width = 16, int height = 8) =>
        Bytes.Concat(Dqt(), Frame(width, height), Dht(), ScanHeader(), ScanData);

    public static byte[] Build(params byte[][] headerSegments) =>
        Bytes.Concat(Soi, Bytes.Concat(headerSegments), Core(), Eoi);
}
