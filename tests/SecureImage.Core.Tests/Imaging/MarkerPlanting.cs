using System.Buffers.Binary;
using System.Text;
using SixLabors.ImageSharp.Formats.Png;
using static SecureImage.Core.Tests.Imaging.FormatFixtures;

namespace SecureImage.Core.Tests.Imaging;

/// <summary>What the sanitizer must do with a file that hides a marker in one structure.</summary>
public enum PlantingOutcome
{
    /// <summary>Accepted, the structure rebuilt or dropped.</summary>
    Accepted,

    /// <summary>Rejected: the structure's fixed layout is broken and it cannot be left out.</summary>
    Rejected,
}

/// <summary>One way of hiding a marker in a structure the sanitizer keeps (or must drop).</summary>
internal sealed record Carrier(string Name, PlantingOutcome Outcome, Func<Random, byte[], byte[]> Plant);

/// <summary>
/// For every format, a marker planted in every structure the sanitizer keeps: slack after a fixed
/// layout, free fields, names, sub-blocks, nested chunks, ICC profiles (see <see cref="IccPlant"/>).
/// Pixel data (scan data, IDAT, LZW, VP8/VP8L, palettes, quantisation and Huffman values) is not a
/// target: it is kept byte for byte by design.
/// </summary>
internal static class MarkerPlanting
{
    private static readonly Lazy<byte[][]> Jpegs = new(() =>
        [.. CorpusTests.AcceptedNames.Where(name => name.EndsWith(".jpg", StringComparison.Ordinal)).Select(Corpus.Read), RealImages.Jpeg()]);

    private static readonly Lazy<byte[][]> Pngs = new(() =>
        [Corpus.Read("png_text_gps_xmp.png"), RealImages.Png(PngColorType.Rgb), RealImages.Png(PngColorType.RgbWithAlpha), RealImages.Png(PngColorType.Palette), RealImages.Png(PngColorType.Grayscale)]);

    private static readonly Lazy<byte[][]> Gifs = new(() => [Corpus.Read("gif_anim_comment.gif"), RealImages.Gif()]);

    private static readonly Lazy<byte[][]> StillWebPs = new(() => [Corpus.Read("webp_gps_xmp.webp"), RealImages.WebPLossless(), RealImages.WebPLossyWithAlpha()]);

    /// <summary>The VP8 chunk of a 10×8 lossy image with alpha.</summary>
    private static readonly Lazy<byte[]> LossyBitstream = new(() =>
    {
        var webp = RealImages.WebPLossyWithAlpha();
        var (_, start, length) = RealImages.RiffChunks(webp).Single(chunk => chunk.FourCc == "VP8 ");
        return webp[start..(start + length)];
    });

    private static readonly Lazy<byte[]> Apng = new(() =>
    {
        var frameControl = new byte[26];
        BinaryPrimitives.WriteUInt32BigEndian(frameControl.AsSpan(4), 12);
        BinaryPrimitives.WriteUInt32BigEndian(frameControl.AsSpan(8), 9);
        return RealImages.InsertPngChunks(RealImages.Png(PngColorType.Rgb), PngChunk("acTL", [0, 0, 0, 1, 0, 0, 0, 0]), PngChunk("fcTL", frameControl));
    });

    public static IReadOnlyList<Carrier> All { get; } =
    [
        // JPEG
        new("jpeg-jfif-fields-and-thumbnail", PlantingOutcome.Accepted, (random, marker) => Jpeg(random, JpegFixture.Segment(0xE0,
            Bytes.Concat("JFIF\0"u8.ToArray(), Noise(random, 7), [(byte)random.Next(3), (byte)random.Next(3)], marker, Noise(random, random.Next(30)))))),
        new("jpeg-exif-beside-orientation", PlantingOutcome.Accepted, (random, marker) =>
            Jpeg(random, Grow(JpegFixture.Exif((ushort)random.Next(1, 9), random.Next(2) == 0), marker))),
        new("jpeg-icc-garbage", PlantingOutcome.Accepted, (random, marker) =>
            Jpeg(random, IccFixture.JpegSegments(Bytes.Concat(Noise(random, random.Next(200)), marker, Noise(random, random.Next(200))), random.Next(1, 4)))),
        new("jpeg-icc-profile", PlantingOutcome.Accepted, (random, marker) =>
            Jpeg(random, [.. IccFixture.JpegSegments(Profile(random, marker), random.Next(1, 4)).OrderBy(_ => random.Next())])),
        new("jpeg-adobe-fields-and-tail", PlantingOutcome.Accepted, (random, marker) => Jpeg(random, JpegFixture.Segment(0xEE,
            Bytes.Concat("Adobe"u8.ToArray(), Noise(random, 6), [(byte)random.Next(3)], marker)))),
        new("jpeg-other-application-segments-and-comments", PlantingOutcome.Accepted, (random, marker) =>
            Jpeg(random, JpegFixture.Segment((byte)(random.Next(2) == 0 ? 0xFE : 0xE3 + random.Next(11)), marker))),
        new("jpeg-coding-segment-tail", PlantingOutcome.Rejected, (random, marker) =>
        {
            var jpeg = Pick(random, Jpegs.Value);
            var marks = new byte[] { 0xDB, 0xC4, 0xC0, 0xDA };
            var at = JpegKeptStructureCarrierTests.IndexOfSegment(jpeg, marks[random.Next(marks.Length)]);
            var length = BinaryPrimitives.ReadUInt16BigEndian(jpeg.AsSpan(at + 2));
            return Bytes.Concat(jpeg[..(at + 2)], [(byte)((length + marker.Length) >> 8), (byte)(length + marker.Length)], jpeg[(at + 4)..(at + 2 + length)], marker, jpeg[(at + 2 + length)..]);
        }),
        new("jpeg-restart-interval-tail", PlantingOutcome.Rejected, (random, marker) => Jpeg(random, JpegFixture.Segment(0xDD, Bytes.Concat([0, (byte)random.Next(256)], marker)))),
        new("jpeg-unused-and-overridden-coding-tables", PlantingOutcome.Accepted, (random, marker) =>
        {
            // Every accepted JPEG uses quantisation tables 0 and 1 and defines its own DC/AC tables 0 and 1 later.
            byte[] values = [.. marker, .. Noise(random, 64 - marker.Length)];
            return Jpeg(random, random.Next(4) switch
            {
                0 => JpegFixture.Segment(0xDB, [(byte)random.Next(2, 4), .. values]),
                1 => JpegFixture.Segment(0xDB, [(byte)random.Next(2), .. values]),
                2 => JpegFixture.Segment(0xC4, JpegHostileStructureTests.HuffmanTable((byte)((random.Next(2) << 4) | random.Next(2, 4)), marker)),
                _ => JpegFixture.Segment(0xC4, JpegHostileStructureTests.HuffmanTable((byte)((random.Next(2) << 4) | random.Next(2)), marker)),
            });
        }),
        new("jpeg-frame-and-scan-header-fields", PlantingOutcome.Rejected, (random, marker) =>
        {
            var jpeg = Pick(random, Jpegs.Value);
            var (segment, fieldsAt) = random.Next(2) == 0 ? ((byte)0xC0, 6) : ((byte)0xDA, 1);
            var payload = JpegHostileStructureTests.SegmentPayload(jpeg, segment);
            marker.AsSpan(0, Math.Min(marker.Length, payload.Length - fieldsAt)).CopyTo(payload.AsSpan(fieldsAt));
            return JpegHostileStructureTests.ReplaceSegment(jpeg, segment, payload);
        }),
        new("jpeg-after-end", PlantingOutcome.Accepted, (random, marker) => Bytes.Concat(Pick(random, Jpegs.Value), marker)),

        // PNG
        new("png-fixed-size-chunk-tail", PlantingOutcome.Accepted, (random, marker) =>
        {
            var (type, size) = Pick(random, new[] { ("gAMA", 4), ("cHRM", 32), ("sRGB", 1), ("sBIT", 3), ("pHYs", 9), ("tRNS", 6) });
            var png = RealImages.RemovePngChunks(Pick(random, Pngs.Value), type);
            return RealImages.InsertPngChunks(png, PngChunk(type, Bytes.Concat(Noise(random, random.Next(size + 1)), marker)));
        }),
        new("png-iccp-name", PlantingOutcome.Accepted, (random, marker) =>
            RealImages.InsertPngChunks(Pick(random, Pngs.Value), PngKeptStructureCarrierTests.IccChunk(marker, IccFixture.Rgb(marker: Encoding.ASCII.GetString(marker))))),
        new("png-iccp-profile", PlantingOutcome.Accepted, (random, marker) =>
            RealImages.InsertPngChunks(Pick(random, Pngs.Value), PngKeptStructureCarrierTests.IccChunk("ICC"u8.ToArray(), random.Next(4) == 0 ? marker : Profile(random, marker)))),
        new("png-end-chunk-data", PlantingOutcome.Accepted, (random, marker) => Bytes.Concat(Pick(random, Pngs.Value)[..^12], PngChunk("IEND", marker))),
        new("png-suggested-palette", PlantingOutcome.Accepted, (random, marker) =>
            RealImages.InsertPngChunks(RealImages.Png(PngColorType.Rgb), PngChunk("PLTE", Bytes.Concat(marker, Noise(random, 3 * random.Next(4)))))),
        new("png-text-exif-and-unknown-chunks", PlantingOutcome.Accepted, (random, marker) =>
            RealImages.InsertPngChunks(Pick(random, Pngs.Value), PngChunk(Pick(random, new[] { "tEXt", "zTXt", "iTXt", "eXIf", "tIME", "bKGD", "prVt" }), marker))),
        new("png-animation-control-tail", PlantingOutcome.Rejected, (random, marker) =>
        {
            var type = random.Next(2) == 0 ? "acTL" : "fcTL";
            var data = RealImages.PngChunkData(Apng.Value, type);
            var (_, start, length) = RealImages.PngChunks(Apng.Value).First(chunk => chunk.Type == type);
            return Bytes.Concat(Apng.Value[..start], PngChunk(type, Bytes.Concat(data, marker)), Apng.Value[(start + length)..]);
        }),
        new("png-frame-data-outside-a-frame-or-resumed-image-data", PlantingOutcome.Rejected, (random, marker) => random.Next(2) == 0
            ? RealImages.InsertPngChunksAfter(Apng.Value, "fcTL", PngChunk("fdAT", Bytes.Concat([0, 0, 0, 1], marker)))
            : RealImages.InsertPngChunksAfter(Pick(random, Pngs.Value), "IDAT", PngChunk(Pick(random, new[] { "tEXt", "prVt", "gAMA" }), Noise(random, 4)), PngChunk("IDAT", marker))),
        new("png-after-end", PlantingOutcome.Accepted, (random, marker) => Bytes.Concat(Pick(random, Pngs.Value), marker)),

        // GIF
        new("gif-looping-extension-sub-blocks", PlantingOutcome.Accepted, (random, marker) => Gif(random, Bytes.Concat(
            [0x21, 0xFF, 11], random.Next(2) == 0 ? "NETSCAPE2.0"u8.ToArray() : "ANIMEXTS1.0"u8.ToArray(),
            random.Next(3) == 0 ? [(byte)(3 + marker.Length), 1, 0, 0, .. marker] : [3, 1, (byte)random.Next(256), 0, (byte)marker.Length, .. marker], [0]))),
        new("gif-other-application-extension", PlantingOutcome.Accepted, (random, marker) =>
            Gif(random, Bytes.Concat([0x21, 0xFF, 11], "XMP DataXMP"u8.ToArray(), [(byte)marker.Length], marker, [0]))),
        new("gif-comment-and-plain-text", PlantingOutcome.Accepted, (random, marker) =>
            Gif(random, random.Next(2) == 0 ? Bytes.Concat([0x21, 0xFE, (byte)marker.Length], marker, [0]) : Bytes.Concat([0x21, 0x01, 12], new byte[12], [(byte)marker.Length], marker, [0]))),
        new("gif-control-extension-tail", PlantingOutcome.Rejected, (random, marker) =>
            Gif(random, Bytes.Concat([0x21, 0xF9, (byte)(4 + marker.Length), 0, 10, 0, 0], marker, [0]))),
        new("gif-after-trailer", PlantingOutcome.Accepted, (random, marker) => Bytes.Concat(Pick(random, Gifs.Value), marker)),

        // WebP
        new("webp-frame-nested-metadata", PlantingOutcome.Accepted, (random, marker) => RealImages.AnimatedWebP(random.Next(1, 4),
            [.. Enumerable.Range(0, random.Next(1, 4)).Select(_ => RiffChunk(Pick(random, new[] { "EXIF", "XMP ", "ICCP", "ABCD", "ALPH", "VP8L" }), marker))])),
        new("webp-frame-garbage", PlantingOutcome.Rejected, (random, marker) => RealImages.AnimatedWebP(random.Next(1, 4), marker)),
        new("webp-animation-header-tail", PlantingOutcome.Accepted, (random, marker) =>
        {
            var clean = RealImages.AnimatedWebP(random.Next(1, 4));
            return WebP([.. RealImages.RiffChunks(clean).Select(chunk => chunk.FourCc == "ANIM"
                ? RiffChunk("ANIM", Bytes.Concat(clean[(chunk.Start + 8)..(chunk.Start + 14)], marker))
                : clean[chunk.Start..(chunk.Start + chunk.Length)])]);
        }),
        new("webp-icc-profile", PlantingOutcome.Accepted, (random, marker) =>
            WebP(Vp8X(0x20 | 0x10, 10, 8), RiffChunk("ICCP", random.Next(4) == 0 ? marker : Profile(random, marker)), RealImages.WebPLossless()[12..])),
        new("webp-metadata-chunks", PlantingOutcome.Accepted, (random, marker) =>
            WebP(Vp8X(0x10 | 0x08 | 0x04, 10, 8), RiffChunk("EXIF", marker), RealImages.WebPLossless()[12..], RiffChunk(Pick(random, new[] { "XMP ", "EXIF", "ABCD" }), marker))),
        new("webp-extended-header-tail", PlantingOutcome.Rejected, (random, marker) =>
            WebP(RiffChunk("VP8X", Bytes.Concat([0x10, 0, 0, 0, 9, 0, 0, 7, 0, 0], marker)), RealImages.WebPLossless()[12..])),
        new("webp-alpha-no-decoder-reads", PlantingOutcome.Rejected, (random, marker) => random.Next(2) == 0
            ? WebP(Vp8X(0x10, 10, 8), RiffChunk("ALPH", Bytes.Concat([(byte)random.Next(2)], marker)), RealImages.WebPLossless()[12..])
            : WebP(Vp8X(0x10, 10, 8), RiffChunk("ALPH", Bytes.Concat([0], Noise(random, 80), marker)), LossyBitstream.Value)),
        new("webp-after-riff", PlantingOutcome.Accepted, (random, marker) => Bytes.Concat(Pick(random, StillWebPs.Value), marker)),
    ];

    /// <summary>Whether the input holds the marker's first bytes (as ASCII or UTF-16), also across ICC chunks or compressed in iCCP.</summary>
    public static bool Planted(byte[] input, byte[] marker) => Holds(input, marker[..6]);

    /// <summary>Whether any eight bytes of the marker got through (as ASCII or UTF-16), also inside a compressed iCCP profile.</summary>
    public static bool Survives(byte[] output, byte[] marker) => Holds(output, marker[..8]);

    private static bool Holds(byte[] image, byte[] text)
    {
        var utf16 = Encoding.BigEndianUnicode.GetBytes(Encoding.ASCII.GetString(text));
        var places = new List<byte[]> { image };
        if (image.AsSpan().StartsWith(Core.Imaging.PngSanitizer.Signature) && RealImages.PngChunks(image).Any(chunk => chunk.Type == "iCCP"))
        {
            places.Add(PngKeptStructureCarrierTests.IccpProfile(image));
        }

        if (image.AsSpan().StartsWith(Core.Imaging.JpegSanitizer.Signature) && IccFixture.FromJpeg(image) is { } profile)
        {
            places.Add(profile);
        }

        return places.Any(place => Bytes.Contains(place, text) || Bytes.Contains(place, utf16));
    }

    private static byte[] Profile(Random random, byte[] marker) =>
        IccFixture.Rgb(Pick(random, IccFixture.AllPlants), random.Next(2) == 0 ? (byte)2 : (byte)4, random.Next(2) == 0, Encoding.ASCII.GetString(marker));

    private static byte[] Jpeg(Random random, params byte[][] segments) => RealImages.InsertJpegSegments(Pick(random, Jpegs.Value), segments);

    /// <summary>Inserts a block after the header and global colour table, before the first frame.</summary>
    private static byte[] Gif(Random random, byte[] block)
    {
        var gif = Pick(random, Gifs.Value);
        var at = 13 + ((gif[10] & 0x80) != 0 ? 3 << ((gif[10] & 0x07) + 1) : 0);
        return Bytes.Concat(gif[..at], block, gif[at..]);
    }

    /// <summary>A JPEG segment with bytes appended to its payload.</summary>
    private static byte[] Grow(byte[] segment, byte[] tail)
    {
        var grown = Bytes.Concat(segment, tail);
        BinaryPrimitives.WriteUInt16BigEndian(grown.AsSpan(2), (ushort)(grown.Length - 2));
        return grown;
    }

    private static byte[] Noise(Random random, int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }

    private static T Pick<T>(Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];
}
