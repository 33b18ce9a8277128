using System.Buffers.Binary;
using SecureImage.Core.Tests.TestSupport;
using SixLabors.ImageSharp.Formats.Png;
using static SecureImage.Core.Tests.Imaging.FormatFixtures;

namespace SecureImage.Core.Tests.Imaging;

/// <summary>
/// The sanitizer never touches pixels: an independent decoder sees the same pixels in every frame of
/// the input and the output. The comparison itself is shown to catch a one-byte change.
/// </summary>
public sealed class PixelIdentityTests
{
    public static IEnumerable<object[]> AcceptedNames => CorpusTests.AcceptedNames.Select(name => new object[] { name });

    [Theory]
    [MemberData(nameof(AcceptedNames))]
    public async Task Sanitized_corpus_file_decodes_to_the_same_pixels_in_every_frame(string name)
    {
        var input = Corpus.Read(name);

        var (_, output) = await Sanitize.BytesAsync(input);

        PixelComparison.AssertIdentical(input, output, name);
    }

    [Theory]
    [InlineData(PngColorType.Palette)]
    [InlineData(PngColorType.Grayscale)]
    [InlineData(PngColorType.GrayscaleWithAlpha)]
    [InlineData(PngColorType.Rgb)]
    [InlineData(PngColorType.RgbWithAlpha)]
    public async Task Sanitized_png_of_each_colour_type_decodes_to_the_same_pixels(PngColorType colourType)
    {
        var input = RealImages.Png(colourType);

        var (_, output) = await Sanitize.BytesAsync(input);

        PixelComparison.AssertIdentical(input, output, colourType.ToString());
    }

    [Fact]
    public async Task Sanitized_gif_and_webp_animations_decode_to_the_same_pixels_in_every_frame()
    {
        foreach (var input in new[] { RealImages.Gif(), RealImages.AnimatedWebP(), RealImages.WebPLossyWithAlpha(), RealImages.WebPLossless() })
        {
            var (image, output) = await Sanitize.BytesAsync(input);

            PixelComparison.AssertIdentical(input, output, image.Format.ToString());
        }

        Assert.Equal(3, PixelComparison.FrameCount(RealImages.Gif()));
    }

    [Fact]
    public async Task Comparison_reports_a_png_whose_pixel_data_changed_by_one_byte()
    {
        var (_, output) = await Sanitize.BytesAsync(RealImages.Png(PngColorType.Rgb));
        var changed = (byte[])output.Clone();
        var idat = RealImages.PngChunks(changed).Single(chunk => chunk.Type == "IDAT");
        var zlib = changed.AsSpan(idat.Start + 8, idat.Length - 12);
        Assert.Equal(0x01, zlib[2]); // one final stored block: the pixel bytes lie there as they are
        var stored = zlib.Slice(7, BinaryPrimitives.ReadUInt16LittleEndian(zlib[3..]));
        stored[20] ^= 0x40;
        BinaryPrimitives.WriteUInt32BigEndian(zlib[^4..], Adler32(stored));
        var crc = SecureImage.Core.Imaging.Crc32.Finish(SecureImage.Core.Imaging.Crc32.Update(SecureImage.Core.Imaging.Crc32.Initial, changed.AsSpan(idat.Start + 4, idat.Length - 8)));
        BinaryPrimitives.WriteUInt32BigEndian(changed.AsSpan(idat.Start + idat.Length - 4), crc);

        var difference = PixelComparison.FindDifference(output, changed);

        Assert.NotNull(difference);
        Assert.StartsWith("frame 0, pixel (", difference);
    }

    [Fact]
    public async Task Comparison_reports_a_jpeg_whose_entropy_coded_data_changed_by_one_byte()
    {
        var (_, output) = await Sanitize.BytesAsync(Corpus.Read("jpg_gps_DSCN0010.jpg"));
        var scan = JpegKeptStructureCarrierTests.IndexOfSegment(output, 0xDA);
        var at = scan + 2 + BinaryPrimitives.ReadUInt16BigEndian(output.AsSpan(scan + 2)) + ((output.Length - scan) / 2);
        while (output[at] is 0xFF or 0xFE || output[at - 1] == 0xFF)
        {
            at++;
        }

        var changed = (byte[])output.Clone();
        changed[at] ^= 0x01;

        var difference = PixelComparison.FindDifference(output, changed);

        Assert.NotNull(difference);
        Assert.StartsWith("frame 0, pixel (", difference);
    }

    [Fact]
    public void Comparison_reports_an_animated_webp_whose_second_frame_differs()
    {
        var animation = RealImages.AnimatedWebP(3);
        var frames = RealImages.RiffChunks(animation).Where(chunk => chunk.FourCc == "ANMF").ToArray();
        var swapped = WebP([.. RealImages.RiffChunks(animation).Select(chunk =>
            chunk.Start == frames[1].Start ? animation[frames[2].Start..(frames[2].Start + frames[2].Length)] : animation[chunk.Start..(chunk.Start + chunk.Length)])]);

        var difference = PixelComparison.FindDifference(animation, swapped);

        Assert.NotNull(difference);
        Assert.StartsWith("animation frame 1: frame 0, pixel (", difference);
    }

    private static uint Adler32(ReadOnlySpan<byte> data)
    {
        uint low = 1;
        uint high = 0;
        foreach (var value in data)
        {
            low = (low + value) % 65521;
            high = (high + low) % 65521;
        }

        return (high << 16) | low;
    }
}
