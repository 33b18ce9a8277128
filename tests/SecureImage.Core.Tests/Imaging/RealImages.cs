using System.Buffers.Binary;
using SecureImage.Core.Imaging;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.PixelFormats;

namespace SecureImage.Core.Tests.Imaging;

/// <summary>
/// Small real images encoded by ImageSharp (so they decode), and helpers that splice crafted
/// segments, chunks and blocks into them.
/// </summary>
internal static class RealImages
{
    public static byte[] Jpeg(int width = 24, int height = 16) => Encode(Pattern(width, height, opaque: true), new JpegEncoder { Quality = 90 });

    public static byte[] Png(PngColorType colourType = PngColorType.RgbWithAlpha, PngBitDepth depth = PngBitDepth.Bit8, int width = 12, int height = 9) =>
        Encode(Pattern(width, height, opaque: colourType is not (PngColorType.RgbWithAlpha or PngColorType.GrayscaleWithAlpha)), new PngEncoder
        {
            ColorType = colourType,
            BitDepth = depth,
            CompressionLevel = PngCompressionLevel.NoCompression,
        });

    /// <summary>A 3-frame GIF with the looping extension (ImageSharp writes NETSCAPE2.0 for animations).</summary>
    public static byte[] Gif(int frames = 3)
    {
        using var image = Pattern(10, 8, opaque: true);
        for (var index = 1; index < frames; index++)
        {
            using var next = Pattern(10, 8, opaque: true, shift: index * 40);
            image.Frames.AddFrame(next.Frames.RootFrame);
        }

        image.Metadata.GetGifMetadata().RepeatCount = 0;
        return Encode(image, new GifEncoder());
    }

    public static byte[] WebPLossless(int width = 10, int height = 8, int shift = 0) =>
        Encode(Pattern(width, height, opaque: false, shift), new WebpEncoder { FileFormat = WebpFileFormatType.Lossless });

    /// <summary>Lossy with alpha: VP8X, ALPH and VP8.</summary>
    public static byte[] WebPLossyWithAlpha(int width = 10, int height = 8) =>
        Encode(Pattern(width, height, opaque: false), new WebpEncoder { FileFormat = WebpFileFormatType.Lossy, Quality = 80 });

    /// <summary>An animated WebP built by hand: ImageSharp 2.1 encodes stills only.</summary>
    public static byte[] AnimatedWebP(int frames = 3, params byte[][] extraInFirstFrame)
    {
        const int width = 10;
        const int height = 8;
        var chunks = new List<byte[]>
        {
            FormatFixtures.Vp8X(0x02 | 0x10, width, height),
            FormatFixtures.RiffChunk("ANIM", [0xFF, 0xFF, 0xFF, 0xFF, 0, 0]),
        };
        for (var index = 0; index < frames; index++)
        {
            var still = WebPLossless(width, height, shift: index * 40);
            var bitstream = still[12..]; // the VP8L chunk after the RIFF header
            var frameHeader = new byte[16];
            WriteUInt24(frameHeader.AsSpan(6), width - 1);
            WriteUInt24(frameHeader.AsSpan(9), height - 1);
            WriteUInt24(frameHeader.AsSpan(12), 100);
            frameHeader[15] = 0x02; // do not blend, do not dispose
            chunks.Add(FormatFixtures.RiffChunk("ANMF", Bytes.Concat(frameHeader, bitstream, index == 0 ? Bytes.Concat(extraInFirstFrame) : [])));
        }

        return FormatFixtures.WebP([.. chunks]);
    }

    /// <summary>Inserts JPEG segments right after SOI.</summary>
    public static byte[] InsertJpegSegments(byte[] jpeg, params byte[][] segments) => Bytes.Concat(jpeg[..2], Bytes.Concat(segments), jpeg[2..]);

    /// <summary>Inserts PNG chunks right after IHDR.</summary>
    public static byte[] InsertPngChunks(byte[] png, params byte[][] chunks) => InsertPngChunksAfter(png, "IHDR", chunks);

    public static byte[] InsertPngChunksAfter(byte[] png, string type, params byte[][] chunks)
    {
        var (_, start, length) = PngChunks(png).First(chunk => chunk.Type == type);
        return Bytes.Concat(png[..(start + length)], Bytes.Concat(chunks), png[(start + length)..]);
    }

    public static byte[] RemovePngChunks(byte[] png, string type)
    {
        var parts = new List<byte[]> { png[..8] };
        parts.AddRange(PngChunks(png).Where(chunk => chunk.Type != type).Select(chunk => png[chunk.Start..(chunk.Start + chunk.Length)]));
        return Bytes.Concat([.. parts]);
    }

    /// <summary>Each chunk's type, start and whole length (length field, type, data and CRC).</summary>
    public static IEnumerable<(string Type, int Start, int Length)> PngChunks(byte[] png)
    {
        for (var at = 8; at + 12 <= png.Length;)
        {
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at));
            yield return (System.Text.Encoding.ASCII.GetString(png, at + 4, 4), at, 12 + length);
            at += 12 + length;
        }
    }

    public static byte[] PngChunkData(byte[] png, string type)
    {
        var (_, start, length) = PngChunks(png).First(chunk => chunk.Type == type);
        return png[(start + 8)..(start + length - 4)];
    }

    /// <summary>The JPEG segments before the first scan: marker and payload.</summary>
    public static IEnumerable<(byte Marker, byte[] Payload)> JpegSegments(byte[] jpeg)
    {
        for (var at = 2; at + 4 <= jpeg.Length && jpeg[at] == 0xFF && jpeg[at + 1] != 0xDA;)
        {
            var length = BinaryPrimitives.ReadUInt16BigEndian(jpeg.AsSpan(at + 2));
            yield return (jpeg[at + 1], jpeg[(at + 4)..(at + 2 + length)]);
            at += 2 + length;
        }
    }

    /// <summary>The top-level RIFF chunks of a WebP: FourCC, start and whole padded length.</summary>
    public static IEnumerable<(string FourCc, int Start, int Length)> RiffChunks(byte[] webp, int from = 12, int? end = null)
    {
        var limit = end ?? webp.Length;
        for (var at = from; at + 8 <= limit;)
        {
            var size = (int)BinaryPrimitives.ReadUInt32LittleEndian(webp.AsSpan(at + 4));
            yield return (System.Text.Encoding.ASCII.GetString(webp, at, 4), at, 8 + size + (size & 1));
            at += 8 + size + (size & 1);
        }
    }

    private static Image<Rgba32> Pattern(int width, int height, bool opaque, int shift = 0)
    {
        var image = new Image<Rgba32>(width, height);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                image[x, y] = new Rgba32(
                    (byte)((x * 37) + (y * 11) + shift),
                    (byte)((x * 5) + (y * 29) + shift),
                    (byte)((x * y * 7) + shift),
                    opaque ? (byte)255 : (byte)(255 - ((x + y) * 9)));
            }
        }

        return image;
    }

    private static byte[] Encode(Image<Rgba32> image, SixLabors.ImageSharp.Formats.IImageEncoder encoder)
    {
        using (image)
        {
            using var stream = new MemoryStream();
            image.Save(stream, encoder);
            return stream.ToArray();
        }
    }

    private static void WriteUInt24(Span<byte> target, int value)
    {
        target[0] = (byte)value;
        target[1] = (byte)(value >> 8);
        target[2] = (byte)(value >> 16);
    }
}
