using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace SecureImage.Core.Tests.TestSupport;

/// <summary>
/// Decodes two encoded images with an independent decoder (ImageSharp) and compares every frame
/// pixel by pixel as Rgba32. Metadata is ignored by the decoders and orientation is not applied, so
/// a sanitizer that keeps the compressed pixel data intact compares as identical.
/// </summary>
internal static class PixelComparison
{
    /// <summary>A description of the first difference, or null when every frame has identical pixels.</summary>
    public static string? FindDifference(byte[] expected, byte[] actual) => FindDifference(expected, actual, upright: false);

    /// <summary>
    /// As <see cref="FindDifference(byte[], byte[])"/>, but each image is first turned upright by the EXIF
    /// orientation ImageSharp reads from it, and the two orientations must agree: a sanitizer that kept
    /// the pixels but lost or changed the orientation would display differently.
    /// </summary>
    public static string? FindUprightDifference(byte[] input, byte[] output) => FindDifference(input, output, upright: true);

    /// <summary>
    /// The metadata ImageSharp finds in <paramref name="encoded"/> beyond the orientation: EXIF values other
    /// than Orientation, XMP or IPTC, on the image or any frame. Empty when there is none.
    /// </summary>
    public static IReadOnlyList<string> MetadataBeyondOrientation(byte[] encoded)
    {
        using var image = Decode(encoded, withMetadata: true);
        var found = new List<string>();
        var frames = image.Frames.Cast<ImageFrame>().Select((frame, index) => ($"frame {index}", frame.Metadata.ExifProfile, frame.Metadata.XmpProfile, frame.Metadata.IptcProfile));
        foreach (var (where, exif, xmp, iptc) in frames.Prepend(("image", image.Metadata.ExifProfile, image.Metadata.XmpProfile, image.Metadata.IptcProfile)))
        {
            found.AddRange(exif?.Values.Where(value => value.Tag != ExifTag.Orientation).Select(value => $"{where}: EXIF {value.Tag}") ?? []);
            if (xmp is not null)
            {
                found.Add($"{where}: XMP");
            }

            if (iptc is not null && iptc.Values.Any())
            {
                found.Add($"{where}: IPTC");
            }
        }

        return found;
    }

    /// <summary>The EXIF orientation ImageSharp reads (1 when there is none).</summary>
    public static ushort Orientation(byte[] encoded)
    {
        using var image = Decode(encoded, withMetadata: true);
        return OrientationOf(image);
    }

    private static ushort OrientationOf(Image image) =>
        image.Metadata.ExifProfile?.GetValue(ExifTag.Orientation) is { } tag ? tag.Value : (ushort)1;

    private static string? FindDifference(byte[] expected, byte[] actual, bool upright)
    {
        if (AnimatedWebPFrames(expected) is { } expectedFrames)
        {
            // ImageSharp 2.1 decodes still WebP only: each frame's bitstream is decoded as a still
            // image and its placement, duration and blending are compared as numbers.
            var actualFrames = AnimatedWebPFrames(actual);
            if (actualFrames is null || actualFrames.Count != expectedFrames.Count)
            {
                return $"animation frame count {expectedFrames.Count} vs {actualFrames?.Count}";
            }

            for (var index = 0; index < expectedFrames.Count; index++)
            {
                if (expectedFrames[index].Placement != actualFrames[index].Placement)
                {
                    return $"animation frame {index}: placement {expectedFrames[index].Placement} vs {actualFrames[index].Placement}";
                }

                if (FindDifference(expectedFrames[index].Still, actualFrames[index].Still) is { } difference)
                {
                    return $"animation frame {index}: {difference}";
                }
            }

            return null;
        }

        using var first = Decode(expected, withMetadata: upright);
        using var second = Decode(actual, withMetadata: upright);
        if (upright)
        {
            if (OrientationOf(first) != OrientationOf(second))
            {
                return $"orientation {OrientationOf(first)} vs {OrientationOf(second)}";
            }

            first.Mutate(context => context.AutoOrient());
            second.Mutate(context => context.AutoOrient());
        }

        if (first.Frames.Count != second.Frames.Count)
        {
            return $"frame count {first.Frames.Count} vs {second.Frames.Count}";
        }

        if ((first.Width, first.Height) != (second.Width, second.Height))
        {
            return $"size {first.Width}x{first.Height} vs {second.Width}x{second.Height}";
        }

        var expectedPixels = new Rgba32[first.Width * first.Height];
        var actualPixels = new Rgba32[expectedPixels.Length];
        for (var index = 0; index < first.Frames.Count; index++)
        {
            first.Frames[index].CopyPixelDataTo(expectedPixels);
            second.Frames[index].CopyPixelDataTo(actualPixels);
            for (var pixel = 0; pixel < expectedPixels.Length; pixel++)
            {
                if (expectedPixels[pixel] != actualPixels[pixel])
                {
                    return $"frame {index}, pixel ({pixel % first.Width}, {pixel / first.Width}): {expectedPixels[pixel]} vs {actualPixels[pixel]}";
                }
            }
        }

        return null;
    }

    public static void AssertIdentical(byte[] input, byte[] output, string context)
    {
        var difference = FindDifference(input, output);
        Assert.True(difference is null, $"{context}: decoded pixels differ: {difference}");
    }

    /// <summary>The number of frames the decoder finds (so a test can show a multi-frame comparison really ran).</summary>
    public static int FrameCount(byte[] encoded)
    {
        using var image = Decode(encoded);
        return image.Frames.Count;
    }

    /// <summary>The frames of an animated WebP, each as a still WebP plus its placement; null for anything else.</summary>
    private static List<(string Placement, byte[] Still)>? AnimatedWebPFrames(byte[] data)
    {
        if (data.Length < 12 || !data.AsSpan().StartsWith("RIFF"u8) || !data.AsSpan(8).StartsWith("WEBP"u8))
        {
            return null;
        }

        var frames = new List<(string Placement, byte[] Still)>();
        foreach (var (fourCc, start, length) in Imaging.RealImages.RiffChunks(data))
        {
            if (fourCc != "ANMF")
            {
                continue;
            }

            var header = data.AsSpan(start + 8, 16);
            var (width, height) = (UInt24(header[6..]) + 1, UInt24(header[9..]) + 1);
            var placement = $"x {2 * UInt24(header)}, y {2 * UInt24(header[3..])}, {width}x{height}, {UInt24(header[12..])} ms, flags {header[15] & 0x03}";
            var parts = Imaging.RealImages.RiffChunks(data, start + 24, start + length)
                .Where(chunk => chunk.FourCc is "ALPH" or "VP8 " or "VP8L")
                .Select(chunk => data[chunk.Start..(chunk.Start + chunk.Length)])
                .ToArray();
            var body = parts.Length > 1
                ? Imaging.Bytes.Concat(Imaging.FormatFixtures.Vp8X(0x10, width, height), Imaging.Bytes.Concat(parts))
                : Imaging.Bytes.Concat(parts);
            frames.Add((placement, Imaging.FormatFixtures.WebP(body)));
        }

        return frames.Count == 0 ? null : frames;
    }

    private static int UInt24(ReadOnlySpan<byte> bytes) => bytes[0] | (bytes[1] << 8) | (bytes[2] << 16);

    private static Image<Rgba32> Decode(byte[] encoded, bool withMetadata = false)
    {
        var format = Image.DetectFormat(encoded) ?? throw new InvalidOperationException("ImageSharp does not recognise the image.");
        IImageDecoder decoder = format switch
        {
            JpegFormat => new JpegDecoder { IgnoreMetadata = !withMetadata },
            PngFormat => new PngDecoder { IgnoreMetadata = !withMetadata },
            GifFormat => new GifDecoder { IgnoreMetadata = !withMetadata },
            WebpFormat => new WebpDecoder { IgnoreMetadata = !withMetadata },
            _ => throw new InvalidOperationException($"unexpected format {format.Name}"),
        };
        return Image.Load<Rgba32>(encoded, decoder);
    }
}
