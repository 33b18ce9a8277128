using System.Buffers.Binary;

namespace SecureImage.Core.Imaging;

/// <summary>
/// Keeps an embedded ICC profile only when it is a matrix/TRC profile (RGB or grey, XYZ connection
/// space) and rebuilds it from its colour values: a fresh header with no vendor, date, platform or
/// id fields, the colour tags re-encoded from parsed numbers and one fixed description. Everything
/// else a profile can hold (text tags, private tags, lookup tables, unreferenced bytes) is left
/// behind, so the profile cannot carry text. Any profile that does not parse is dropped whole.
/// </summary>
internal static class IccProfile
{
    /// <summary>Matrix/TRC profiles are a few KiB; larger ones are lookup-table profiles, which are not kept.</summary>
    public const int MaxBytes = 64 * 1024;

    private const int HeaderLength = 128;
    private const int TagEntryLength = 12;
    private const int MaxTags = 100;
    private const int MaxCurveEntries = 4096;

    /// <summary>XYZ and matrix numbers outside ±8 are no colour (and their bytes could spell text).</summary>
    private const int MaxFixedMagnitude = 8 << 16;

    /// <summary>u8Fixed8 gamma at most 10.0.</summary>
    private const int MaxGamma = 10 << 8;

    private static readonly string[] RgbTags = ["wtpt", "bkpt", "rXYZ", "gXYZ", "bXYZ", "rTRC", "gTRC", "bTRC", "chad"];
    private static readonly string[] GreyTags = ["wtpt", "bkpt", "kTRC", "chad"];
    private static readonly string[] XyzTags = ["wtpt", "bkpt", "rXYZ", "gXYZ", "bXYZ"];

    /// <summary>The parameter count of each parametric curve function type 0..4.</summary>
    private static readonly int[] ParametricCounts = [1, 3, 4, 5, 7];

    /// <summary>The rebuilt profile, or null when <paramref name="profile"/> is not a kept kind of profile.</summary>
    public static byte[]? Rebuild(ReadOnlySpan<byte> profile)
    {
        if (profile.Length < HeaderLength + 4 || profile.Length > MaxBytes
            || BinaryPrimitives.ReadUInt32BigEndian(profile) != (uint)profile.Length
            || !profile[36..40].SequenceEqual("acsp"u8)
            || profile[8] is not (2 or 4)
            || !profile[20..24].SequenceEqual("XYZ "u8)
            || BinaryPrimitives.ReadUInt32BigEndian(profile[64..]) > 3)
        {
            return null;
        }

        var deviceClass = profile[12..16];
        if (!deviceClass.SequenceEqual("mntr"u8) && !deviceClass.SequenceEqual("scnr"u8) && !deviceClass.SequenceEqual("spac"u8))
        {
            return null;
        }

        var grey = profile[16..20].SequenceEqual("GRAY"u8);
        if (!grey && !profile[16..20].SequenceEqual("RGB "u8))
        {
            return null;
        }

        var tags = ReadTagTable(profile);
        if (tags is null)
        {
            return null;
        }

        var wanted = grey ? GreyTags : RgbTags;
        var rebuilt = new List<(string Signature, byte[] Data)>();
        foreach (var signature in wanted)
        {
            if (!tags.TryGetValue(signature, out var range))
            {
                if (signature is "bkpt" or "chad")
                {
                    continue; // optional
                }

                return null;
            }

            var data = profile.Slice(range.Offset, range.Size);
            var tag = signature == "chad" ? RebuildMatrix(data)
                : XyzTags.Contains(signature) ? RebuildXyz(data)
                : RebuildCurve(data);
            if (tag is null)
            {
                return null;
            }

            rebuilt.Add((signature, tag));
        }

        return Write(profile, rebuilt, grey);
    }

    /// <summary>Signature → (offset, size) for every entry; null for a table outside the profile or a repeated signature.</summary>
    private static Dictionary<string, (int Offset, int Size)>? ReadTagTable(ReadOnlySpan<byte> profile)
    {
        var count = BinaryPrimitives.ReadUInt32BigEndian(profile[HeaderLength..]);
        var tableEnd = HeaderLength + 4 + ((long)count * TagEntryLength);
        if (count is 0 or > MaxTags || tableEnd > profile.Length)
        {
            return null;
        }

        var tags = new Dictionary<string, (int Offset, int Size)>();
        for (var index = 0; index < count; index++)
        {
            var entry = profile.Slice(HeaderLength + 4 + (index * TagEntryLength), TagEntryLength);
            var offset = BinaryPrimitives.ReadUInt32BigEndian(entry[4..]);
            var size = BinaryPrimitives.ReadUInt32BigEndian(entry[8..]);
            if (offset < tableEnd || size < 8 || offset + (long)size > profile.Length
                || !tags.TryAdd(System.Text.Encoding.ASCII.GetString(entry[..4]), ((int)offset, (int)size)))
            {
                return null;
            }
        }

        return tags;
    }

    private static byte[]? RebuildXyz(ReadOnlySpan<byte> data) =>
        data.Length >= 20 && data.StartsWith("XYZ "u8) ? Numbers("XYZ "u8, data.Slice(8, 12), MaxFixedMagnitude) : null;

    private static byte[]? RebuildMatrix(ReadOnlySpan<byte> data) =>
        data.Length >= 44 && data.StartsWith("sf32"u8) ? Numbers("sf32"u8, data.Slice(8, 36), MaxFixedMagnitude) : null;

    /// <summary>A curve: identity, one gamma, a non-decreasing table, or a parametric function.</summary>
    private static byte[]? RebuildCurve(ReadOnlySpan<byte> data)
    {
        if (data.Length >= 12 && data.StartsWith("curv"u8))
        {
            var entries = BinaryPrimitives.ReadUInt32BigEndian(data[8..]);
            if (entries > MaxCurveEntries || data.Length < 12 + (2 * entries))
            {
                return null;
            }

            var values = data.Slice(12, 2 * (int)entries);
            if (entries == 1 && BinaryPrimitives.ReadUInt16BigEndian(values) is 0 or > MaxGamma)
            {
                return null;
            }

            for (var index = 2; index < values.Length; index += 2)
            {
                if (BinaryPrimitives.ReadUInt16BigEndian(values[index..]) < BinaryPrimitives.ReadUInt16BigEndian(values[(index - 2)..]))
                {
                    return null; // a tone curve never falls
                }
            }

            var curve = new byte[12 + values.Length];
            "curv"u8.CopyTo(curve);
            BinaryPrimitives.WriteUInt32BigEndian(curve.AsSpan(8), entries);
            values.CopyTo(curve.AsSpan(12));
            return curve;
        }

        if (data.Length >= 12 && data.StartsWith("para"u8))
        {
            var function = BinaryPrimitives.ReadUInt16BigEndian(data[8..]);
            if (function >= ParametricCounts.Length || data.Length < 12 + (4 * ParametricCounts[function]))
            {
                return null;
            }

            var parameters = data.Slice(12, 4 * ParametricCounts[function]);
            var gamma = BinaryPrimitives.ReadInt32BigEndian(parameters);
            if (gamma <= 0 || gamma > MaxGamma << 8)
            {
                return null;
            }

            var rebuilt = Numbers("para"u8, parameters, MaxFixedMagnitude * 2, headerLength: 12);
            if (rebuilt is not null)
            {
                BinaryPrimitives.WriteUInt16BigEndian(rebuilt.AsSpan(8), function);
            }

            return rebuilt;
        }

        return null;
    }

    /// <summary>A tag of a type signature, 4 zero reserved bytes (and more for para) and signed 15.16 numbers within ±<paramref name="limit"/>.</summary>
    private static byte[]? Numbers(ReadOnlySpan<byte> type, ReadOnlySpan<byte> numbers, int limit, int headerLength = 8)
    {
        var tag = new byte[headerLength + numbers.Length];
        type.CopyTo(tag);
        for (var at = 0; at < numbers.Length; at += 4)
        {
            var value = BinaryPrimitives.ReadInt32BigEndian(numbers[at..]);
            if (value < -limit || value > limit)
            {
                return null;
            }

            BinaryPrimitives.WriteInt32BigEndian(tag.AsSpan(headerLength + at), value);
        }

        return tag;
    }

    private static byte[] Write(ReadOnlySpan<byte> original, List<(string Signature, byte[] Data)> tags, bool grey)
    {
        var major = original[8];
        tags.Insert(0, ("desc", major >= 4 ? Mluc(grey ? "Grey profile" : "RGB profile") : TextDescription(grey ? "Grey profile" : "RGB profile")));

        // Identical tag data (the three TRCs are often one curve) is stored once, as in the originals.
        var layout = new List<(string Signature, int Offset, int Size)>();
        var stored = new List<(byte[] Data, int Offset)>();
        var next = HeaderLength + 4 + (tags.Count * TagEntryLength);
        foreach (var (signature, data) in tags)
        {
            var existing = stored.FindIndex(entry => entry.Data.AsSpan().SequenceEqual(data));
            if (existing >= 0)
            {
                layout.Add((signature, stored[existing].Offset, data.Length));
                continue;
            }

            stored.Add((data, next));
            layout.Add((signature, next, data.Length));
            next += (data.Length + 3) & ~3;
        }

        var profile = new byte[next];
        BinaryPrimitives.WriteUInt32BigEndian(profile, (uint)profile.Length);
        profile[8] = major;
        profile[9] = original[9]; // minor and bug-fix version
        original[12..24].CopyTo(profile.AsSpan(12)); // class, colour space, connection space (all checked above)
        "acsp"u8.CopyTo(profile.AsSpan(36));
        profile[67] = original[67]; // rendering intent 0..3
        // The connection space illuminant is D50 by definition.
        BinaryPrimitives.WriteInt32BigEndian(profile.AsSpan(68), 0xF6D6);
        BinaryPrimitives.WriteInt32BigEndian(profile.AsSpan(72), 0x10000);
        BinaryPrimitives.WriteInt32BigEndian(profile.AsSpan(76), 0xD32D);
        BinaryPrimitives.WriteUInt32BigEndian(profile.AsSpan(HeaderLength), (uint)layout.Count);
        for (var index = 0; index < layout.Count; index++)
        {
            var entry = profile.AsSpan(HeaderLength + 4 + (index * TagEntryLength));
            System.Text.Encoding.ASCII.GetBytes(layout[index].Signature).CopyTo(entry);
            BinaryPrimitives.WriteUInt32BigEndian(entry[4..], (uint)layout[index].Offset);
            BinaryPrimitives.WriteUInt32BigEndian(entry[8..], (uint)layout[index].Size);
        }

        foreach (var (data, offset) in stored)
        {
            data.CopyTo(profile, offset);
        }

        return profile;
    }

    /// <summary>ICC v2 textDescriptionType: ASCII only, empty Unicode and ScriptCode parts.</summary>
    private static byte[] TextDescription(string text)
    {
        var tag = new byte[8 + 4 + text.Length + 1 + 4 + 4 + 2 + 1 + 67];
        "desc"u8.CopyTo(tag);
        BinaryPrimitives.WriteUInt32BigEndian(tag.AsSpan(8), (uint)text.Length + 1);
        System.Text.Encoding.ASCII.GetBytes(text).CopyTo(tag, 12);
        return tag;
    }

    /// <summary>ICC v4 multiLocalizedUnicodeType with one en-US record.</summary>
    private static byte[] Mluc(string text)
    {
        var utf16 = System.Text.Encoding.BigEndianUnicode.GetBytes(text);
        var tag = new byte[28 + utf16.Length];
        "mluc"u8.CopyTo(tag);
        BinaryPrimitives.WriteUInt32BigEndian(tag.AsSpan(8), 1);
        BinaryPrimitives.WriteUInt32BigEndian(tag.AsSpan(12), 12);
        "enUS"u8.CopyTo(tag.AsSpan(16));
        BinaryPrimitives.WriteUInt32BigEndian(tag.AsSpan(20), (uint)utf16.Length);
        BinaryPrimitives.WriteUInt32BigEndian(tag.AsSpan(24), 28);
        utf16.CopyTo(tag, 28);
        return tag;
    }
}
