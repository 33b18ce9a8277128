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
    [MemberData(nameof(AcceptedNames))]
    public async Task Sanitized_corpus_file_is_the_same_upright_picture_and_has_no_metadata_profile(string name)
    {
        var input = Corpus.Read(name);

        var (_, output) = await Sanitize.BytesAsync(input);

        var difference = PixelComparison.FindUprightDifference(input, output);
        Assert.True(difference is null, $"{name}: upright pixels differ: {difference}");
        Assert.Empty(PixelComparison.MetadataBeyondOrientation(output));
    }

    [Theory]
    [InlineData("jpg_orientation_landscape_6.jpg", 6)]
    [InlineData("jpg_orientation_portrait_8.jpg", 8)]
    public async Task Sanitized_rotated_photo_keeps_the_orientation_the_independent_decoder_reads(string name, int orientation)
    {
        var input = Corpus.Read(name);

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.Equal((orientation, orientation), (PixelComparison.Orientation(input), PixelComparison.Orientation(output)));
    }

    /// <summary>
    /// The seeded mutations of <see cref="MutationTests"/> (same seeds, same cases): every mutant the sanitizer
    /// accepts and ImageSharp can decode is the same upright picture after sanitizing, with no metadata profile.
    /// </summary>
    [Theory]
    [MemberData(nameof(AcceptedNames))]
    public async Task Accepted_mutant_of_a_corpus_file_is_the_same_upright_picture_and_has_no_metadata_profile(string name)
    {
        var original = Corpus.Read(name);
        var seed = MutationTests.StableSeed(name);
        var random = new Random(seed);
        var compared = 0;
        var excused = 0;
        for (var index = 0; index < MutationTests.CasesPerFile; index++)
        {
            var mutant = MutationTests.Mutate(original, random);
            byte[] output;
            try
            {
                (_, output) = await Sanitize.BytesAsync(mutant);
            }
            catch (SecureImage.Core.Imaging.ImageRejectedException)
            {
                continue;
            }

            if (!Decodes(mutant))
            {
                // Nothing to compare against; the sanitizer's output must then not invent a picture either way.
                continue;
            }

            var context = $"{name}, seed {seed}, case {index}";
            var difference = PixelComparison.FindUprightDifference(mutant, output);
            if (difference is not null)
            {
                // Decoders recover from corrupt data differently, and the sanitizer's reordering of
                // segments can change ImageSharp's recovery. A difference stands unless a second
                // decoder (libjpeg/giflib through ImageMagick) calls the mutant corrupt and sees no change.
                Assert.True(await SecondDecoder.FindsCorruptAndUnchangedAsync(mutant, output), $"{context}: upright pixels differ: {difference}");
                excused++;
                continue;
            }

            Assert.Empty(PixelComparison.MetadataBeyondOrientation(output));
            compared++;
        }

        Assert.True(compared > 0, $"{name}: no accepted mutant could be decoded, so nothing was compared");
        Assert.True(excused * 20 <= compared, $"{name}: {excused} differences on corrupt mutants against {compared} identical comparisons");
    }

    [Fact]
    public async Task Upright_comparison_reports_a_rotated_jpeg_whose_sanitized_scan_changed_by_one_byte()
    {
        var input = Corpus.Read("jpg_orientation_landscape_6.jpg");
        var (_, output) = await Sanitize.BytesAsync(input);
        var changed = FlipOneScanByte(output);

        var difference = PixelComparison.FindUprightDifference(input, changed);

        Assert.NotNull(difference);
        Assert.StartsWith("frame 0, pixel (", difference);
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
        var changed = FlipOneScanByte(output);

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

    /// <summary>A copy with one bit flipped in the middle of the entropy-coded data (away from markers and stuffing).</summary>
    private static byte[] FlipOneScanByte(byte[] jpeg)
    {
        var scan = JpegKeptStructureCarrierTests.IndexOfSegment(jpeg, 0xDA);
        var at = scan + 2 + BinaryPrimitives.ReadUInt16BigEndian(jpeg.AsSpan(scan + 2)) + ((jpeg.Length - scan) / 2);
        while (jpeg[at] is 0xFF or 0xFE || jpeg[at - 1] == 0xFF)
        {
            at++;
        }

        var changed = (byte[])jpeg.Clone();
        changed[at] ^= 0x01;
        return changed;
    }

    private static bool Decodes(byte[] encoded)
    {
        try
        {
            // The comparison's own parsing (animated WebP frames) must cope with the input too.
            _ = PixelComparison.FindUprightDifference(encoded, encoded);
            return true;
        }
        catch (Exception exception) when (exception is not Xunit.Sdk.XunitException)
        {
            return false;
        }
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
