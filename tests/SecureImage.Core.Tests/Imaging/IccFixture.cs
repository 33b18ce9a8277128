using System.Buffers.Binary;
using System.Text;

namespace SecureImage.Core.Tests.Imaging;

/// <summary>Where a crafted ICC profile hides the marker.</summary>
public enum IccPlant
{
    None,
    /// <summary>CMM, date, platform, manufacturer, model, attributes, creator, profile id and reserved header bytes.</summary>
    HeaderFields,
    DescriptionTag,
    CopyrightTag,
    DeviceTags,
    PrivateTag,
    /// <summary>Bytes between two tags that no tag table entry points at.</summary>
    GapBetweenTags,
    /// <summary>Bytes after the last tag, still inside the declared profile size.</summary>
    TrailingBytes,
    /// <summary>A tag declared shorter than the region it occupies, the marker in the rest.</summary>
    TagSlack,
    /// <summary>The marker as the values of a tone curve (not a curve: not monotonic).</summary>
    CurveValues,
    /// <summary>The marker as an XYZ colour (far outside any colour).</summary>
    XyzValues,
    /// <summary>Two tag table entries with the same signature, the second pointing at the marker.</summary>
    DuplicateTag,
}

/// <summary>A realistic matrix/TRC RGB display profile (sRGB primaries) built in code, with text tags.</summary>
internal static class IccFixture
{
    public const string MarkerText = "SECRET-MARKER-1234";

    public static byte[] Marker => Encoding.ASCII.GetBytes(MarkerText);

    public static readonly double[] Red = [0.4361, 0.2225, 0.0139];
    public static readonly double[] Green = [0.3851, 0.7169, 0.0971];
    public static readonly double[] Blue = [0.1431, 0.0606, 0.7141];
    public static readonly double[] White = [0.9642, 1.0, 0.8249];

    public static IccPlant[] AllPlants => Enum.GetValues<IccPlant>().Where(plant => plant != IccPlant.None).ToArray();

    public static byte[] Rgb(IccPlant plant = IccPlant.None, byte major = 2, bool tableCurve = false, string? marker = null)
    {
        var mark = Encoding.ASCII.GetBytes(marker ?? MarkerText);
        var curve = tableCurve ? CurveTable(256) : Curve(gamma: 2.2);
        var tags = new List<(string Signature, byte[] Data)>
        {
            ("desc", major >= 4 ? Mluc(plant == IccPlant.DescriptionTag ? Encoding.ASCII.GetString(mark) : "sRGB-like") : Description(plant == IccPlant.DescriptionTag ? mark : "sRGB-like"u8.ToArray())),
            ("cprt", major >= 4 ? Mluc(plant == IccPlant.CopyrightTag ? Encoding.ASCII.GetString(mark) : "No copyright") : Text(plant == IccPlant.CopyrightTag ? mark : "No copyright"u8.ToArray())),
            ("wtpt", Xyz(White)),
            ("rXYZ", plant == IccPlant.XyzValues ? Bytes.Concat("XYZ \0\0\0\0"u8.ToArray(), mark[..12]) : Xyz(Red)),
            ("gXYZ", Xyz(Green)),
            ("bXYZ", Xyz(Blue)),
            ("rTRC", plant == IccPlant.CurveValues ? Bytes.Concat("curv\0\0\0\0"u8.ToArray(), U32((uint)(mark.Length / 2)), mark[..(mark.Length / 2 * 2)]) : curve),
            ("gTRC", curve),
            ("bTRC", curve),
            ("chad", Sf32([1.0478, 0.0229, -0.0501, 0.0295, 0.9905, -0.0171, -0.0092, 0.0151, 0.7519])),
        };
        if (plant == IccPlant.DeviceTags)
        {
            tags.Add(("dmnd", Description(mark)));
            tags.Add(("dmdd", Description(mark)));
        }

        if (plant == IccPlant.PrivateTag)
        {
            tags.Add(("zzzz", Text(mark)));
        }

        var entries = tags.Count + (plant == IccPlant.DuplicateTag ? 1 : 0);
        var body = new List<byte>();
        var table = new List<(string Signature, int Offset, int Size)>();
        var dataStart = 128 + 4 + (12 * entries);
        foreach (var (signature, data) in tags)
        {
            var offset = dataStart + body.Count;
            var declared = data.Length;
            body.AddRange(data);
            if (plant == IccPlant.TagSlack && signature == "wtpt")
            {
                body.AddRange(mark); // inside the region up to the next tag, outside the declared size
            }

            table.Add((signature, offset, declared));
            Pad(body);
            if (plant == IccPlant.GapBetweenTags && signature == "bXYZ")
            {
                body.AddRange(mark);
                Pad(body);
            }
        }

        if (plant == IccPlant.DuplicateTag)
        {
            table.Add(("rXYZ", dataStart + body.Count, 8 + mark.Length));
            body.AddRange("XYZ \0\0\0\0"u8.ToArray());
            body.AddRange(mark);
            Pad(body);
        }

        if (plant == IccPlant.TrailingBytes)
        {
            body.AddRange(mark);
        }

        var profile = new byte[dataStart + body.Count];
        BinaryPrimitives.WriteUInt32BigEndian(profile, (uint)profile.Length);
        "lcms"u8.CopyTo(profile.AsSpan(4));
        profile[8] = major;
        profile[9] = major >= 4 ? (byte)0x30 : (byte)0x10;
        "mntr"u8.CopyTo(profile.AsSpan(12));
        "RGB "u8.CopyTo(profile.AsSpan(16));
        "XYZ "u8.CopyTo(profile.AsSpan(20));
        BinaryPrimitives.WriteUInt16BigEndian(profile.AsSpan(24), 2024);
        "acsp"u8.CopyTo(profile.AsSpan(36));
        "APPL"u8.CopyTo(profile.AsSpan(40));
        "ACME"u8.CopyTo(profile.AsSpan(48));
        "MDL1"u8.CopyTo(profile.AsSpan(52));
        Fixed(profile.AsSpan(68), White[0]);
        Fixed(profile.AsSpan(72), 1.0);
        Fixed(profile.AsSpan(76), 0.8249);
        "lcms"u8.CopyTo(profile.AsSpan(80));
        if (plant == IccPlant.HeaderFields)
        {
            mark.CopyTo(profile.AsSpan(84)); // profile id and reserved bytes
            mark.AsSpan(0, 12).CopyTo(profile.AsSpan(24)); // date and time
            mark.AsSpan(0, 4).CopyTo(profile.AsSpan(4)); // CMM
            mark.AsSpan(4, 4).CopyTo(profile.AsSpan(48)); // manufacturer
        }

        BinaryPrimitives.WriteUInt32BigEndian(profile.AsSpan(128), (uint)entries);
        for (var index = 0; index < table.Count; index++)
        {
            var at = 132 + (12 * index);
            Encoding.ASCII.GetBytes(table[index].Signature).CopyTo(profile, at);
            BinaryPrimitives.WriteUInt32BigEndian(profile.AsSpan(at + 4), (uint)table[index].Offset);
            BinaryPrimitives.WriteUInt32BigEndian(profile.AsSpan(at + 8), (uint)table[index].Size);
        }

        body.CopyTo(profile, dataStart);
        return profile;
    }

    /// <summary>The (first) ICC profile a JPEG carries, reassembled from its APP2 chunks (null when none).</summary>
    public static byte[]? FromJpeg(byte[] jpeg)
    {
        var segments = RealImages.JpegSegments(jpeg)
            .Where(segment => segment.Marker == 0xE2 && segment.Payload.Length > 14 && segment.Payload.AsSpan().StartsWith("ICC_PROFILE\0"u8))
            .ToArray();
        var chunks = segments
            .Take(segments.Length == 0 ? 0 : segments[0].Payload[13])
            .OrderBy(segment => segment.Payload[12])
            .Select(segment => segment.Payload[14..])
            .ToArray();
        return chunks.Length == 0 ? null : Bytes.Concat(chunks);
    }

    /// <summary>APP2 segments carrying <paramref name="profile"/> in <paramref name="chunks"/> pieces.</summary>
    public static byte[][] JpegSegments(byte[] profile, int chunks = 1)
    {
        var size = (profile.Length + chunks - 1) / chunks;
        return Enumerable.Range(0, chunks)
            .Select(index => JpegFixture.Segment(0xE2, Bytes.Concat("ICC_PROFILE\0"u8.ToArray(), [(byte)(index + 1), (byte)chunks], profile.Skip(index * size).Take(size).ToArray())))
            .ToArray();
    }

    /// <summary>Tag signature → (type, data) of a profile, read with its own table.</summary>
    public static Dictionary<string, byte[]> Tags(byte[] profile)
    {
        var tags = new Dictionary<string, byte[]>();
        var count = BinaryPrimitives.ReadUInt32BigEndian(profile.AsSpan(128));
        for (var index = 0; index < count; index++)
        {
            var at = 132 + (12 * index);
            var offset = (int)BinaryPrimitives.ReadUInt32BigEndian(profile.AsSpan(at + 4));
            var size = (int)BinaryPrimitives.ReadUInt32BigEndian(profile.AsSpan(at + 8));
            tags[Encoding.ASCII.GetString(profile, at, 4)] = profile[offset..(offset + size)];
        }

        return tags;
    }

    public static double[] ReadXyz(byte[] tag) =>
        [.. Enumerable.Range(0, 3).Select(index => BinaryPrimitives.ReadInt32BigEndian(tag.AsSpan(8 + (4 * index))) / 65536.0)];

    public static byte[] Xyz(double[] value)
    {
        var data = new byte[20];
        "XYZ "u8.CopyTo(data);
        for (var index = 0; index < 3; index++)
        {
            Fixed(data.AsSpan(8 + (4 * index)), value[index]);
        }

        return data;
    }

    public static byte[] Curve(double gamma) => Bytes.Concat("curv\0\0\0\0"u8.ToArray(), U32(1), [(byte)gamma, (byte)Math.Round((gamma - Math.Floor(gamma)) * 256)]);

    public static byte[] CurveTable(int entries)
    {
        var values = new byte[2 * entries];
        for (var index = 0; index < entries; index++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(values.AsSpan(2 * index), (ushort)Math.Round(Math.Pow(index / (entries - 1.0), 2.2) * 65535));
        }

        return Bytes.Concat("curv\0\0\0\0"u8.ToArray(), U32((uint)entries), values);
    }

    private static byte[] Description(byte[] ascii) =>
        Bytes.Concat("desc\0\0\0\0"u8.ToArray(), U32((uint)ascii.Length + 1), ascii, [0], U32(0), U32(0), [0, 0, 0], new byte[67]);

    private static byte[] Text(byte[] ascii) => Bytes.Concat("text\0\0\0\0"u8.ToArray(), ascii, [0]);

    private static byte[] Mluc(string text)
    {
        var utf16 = Encoding.BigEndianUnicode.GetBytes(text);
        return Bytes.Concat("mluc\0\0\0\0"u8.ToArray(), U32(1), U32(12), "enUS"u8.ToArray(), U32((uint)utf16.Length), U32(28), utf16);
    }

    private static byte[] Sf32(double[] values)
    {
        var data = new byte[8 + (4 * values.Length)];
        "sf32"u8.CopyTo(data);
        for (var index = 0; index < values.Length; index++)
        {
            Fixed(data.AsSpan(8 + (4 * index)), values[index]);
        }

        return data;
    }

    private static void Fixed(Span<byte> target, double value) => BinaryPrimitives.WriteInt32BigEndian(target, (int)Math.Round(value * 65536));

    private static byte[] U32(uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return bytes;
    }

    private static void Pad(List<byte> body)
    {
        while (body.Count % 4 != 0)
        {
            body.Add(0);
        }
    }
}
