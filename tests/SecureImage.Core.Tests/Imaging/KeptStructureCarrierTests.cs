using System.Buffers.Binary;
using System.IO.Compression;
using SecureImage.Core.Imaging;
using SecureImage.Core.Tests.TestSupport;
using SixLabors.ImageSharp.Formats.Png;
using static SecureImage.Core.Tests.Imaging.FormatFixtures;

namespace SecureImage.Core.Tests.Imaging;

/// <summary>
/// Crafted files that hide a marker in a structure the sanitizer keeps: the marker never survives,
/// what is kept is rebuilt from parsed values, and the decoded pixels stay identical.
/// </summary>
public sealed class JpegKeptStructureCarrierTests
{
    private static readonly byte[] Marker = IccFixture.Marker;

    public static TheoryData<IccPlant> PlantsInAValidProfile => new()
    {
        IccPlant.HeaderFields, IccPlant.DescriptionTag, IccPlant.CopyrightTag, IccPlant.DeviceTags,
        IccPlant.PrivateTag, IccPlant.GapBetweenTags, IccPlant.TrailingBytes, IccPlant.TagSlack,
    };

    public static TheoryData<IccPlant> PlantsThatBreakTheProfile => new() { IccPlant.CurveValues, IccPlant.XyzValues, IccPlant.DuplicateTag };

    [Fact]
    public async Task Jpeg_icc_segment_that_is_not_a_profile_is_dropped()
    {
        var input = RealImages.InsertJpegSegments(RealImages.Jpeg(), IccFixture.JpegSegments(Bytes.Concat(Marker, new byte[200])));

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.False(Bytes.Contains(output, Marker));
        Assert.Null(IccFixture.FromJpeg(output));
        PixelComparison.AssertIdentical(input, output, "garbage ICC");
    }

    [Theory]
    [MemberData(nameof(PlantsInAValidProfile))]
    public async Task Jpeg_icc_profile_is_rebuilt_from_its_colour_tags_without_the_planted_marker(IccPlant plant)
    {
        foreach (var (major, chunks) in new[] { ((byte)2, 1), ((byte)4, 2) })
        {
            var profile = IccFixture.Rgb(plant, major, tableCurve: chunks == 2);
            var input = RealImages.InsertJpegSegments(RealImages.Jpeg(), IccFixture.JpegSegments(profile, chunks));

            var (_, output) = await Sanitize.BytesAsync(input);

            Assert.False(Bytes.Contains(output, Marker), $"{plant}, v{major}");
            var kept = IccFixture.FromJpeg(output);
            Assert.NotNull(kept);
            AssertRebuiltColourProfile(profile, kept, $"{plant}, v{major}");
            PixelComparison.AssertIdentical(input, output, $"{plant}, v{major}");
        }
    }

    [Theory]
    [MemberData(nameof(PlantsThatBreakTheProfile))]
    public async Task Jpeg_icc_profile_whose_colour_tags_are_not_colour_data_is_dropped(IccPlant plant)
    {
        var input = RealImages.InsertJpegSegments(RealImages.Jpeg(), IccFixture.JpegSegments(IccFixture.Rgb(plant)));

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.False(Bytes.Contains(output, Marker));
        Assert.Null(IccFixture.FromJpeg(output));
    }

    [Theory]
    [InlineData("jpg_Canon_40D.jpg")]
    [InlineData("jpg_orientation_landscape_6.jpg")]
    public async Task Corpus_icc_profile_keeps_its_colour_values_and_loses_its_text(string name)
    {
        var input = Corpus.Read(name);
        var original = IccFixture.FromJpeg(input)!;
        Assert.True(IccFixture.Tags(original).ContainsKey("cprt"), "the fixture carries text tags");

        var (_, output) = await Sanitize.BytesAsync(input);

        var kept = IccFixture.FromJpeg(output);
        Assert.NotNull(kept);
        AssertRebuiltColourProfile(original, kept, name);
        foreach (var text in new[] { "Copyright", "Hewlett", "Apple", "IEC", "Display" })
        {
            Assert.False(Bytes.Contains(kept, text), text);
        }
    }

    [Fact]
    public async Task Jpeg_adobe_segment_is_rebuilt_to_its_twelve_bytes_from_the_colour_transform()
    {
        var crafted = JpegFixture.Segment(0xEE, Bytes.Concat("Adobe"u8.ToArray(), "SECRET"u8.ToArray(), [1], Marker));
        var input = RealImages.InsertJpegSegments(RealImages.Jpeg(), crafted);

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.False(Bytes.Contains(output, Marker));
        Assert.False(Bytes.Contains(output, "SECRET"));
        var adobe = Assert.Single(RealImages.JpegSegments(output), segment => segment.Marker == 0xEE);
        Assert.Equal(Bytes.Concat("Adobe"u8.ToArray(), [0, 100, 0, 0, 0, 0, 1]), adobe.Payload);
        PixelComparison.AssertIdentical(input, output, "Adobe");
    }

    [Fact]
    public async Task Jpeg_jfif_segment_is_rebuilt_from_its_fields()
    {
        var crafted = JpegFixture.Segment(0xE0, Bytes.Concat("JFIF\0"u8.ToArray(), "SE"u8.ToArray(), [9, 0, 72, 0, 72, 0, 0], Marker));
        var input = Bytes.Concat(JpegFixture.Soi, crafted, RealImages.Jpeg().AsSpan(2 + 18).ToArray());

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.False(Bytes.Contains(output, Marker));
        var jfif = Assert.Single(RealImages.JpegSegments(output), segment => segment.Marker == 0xE0);
        Assert.Equal(Bytes.Concat("JFIF\0"u8.ToArray(), [1, 2, 0, 0, 72, 0, 72, 0, 0]), jfif.Payload);
    }

    [Theory]
    [InlineData(0xDB)]
    [InlineData(0xC4)]
    [InlineData(0xDD)]
    [InlineData(0xC0)]
    public async Task Jpeg_coding_segment_with_bytes_past_its_tables_is_rejected(byte marker)
    {
        var jpeg = RealImages.Jpeg();
        if (marker == 0xDD)
        {
            jpeg = RealImages.InsertJpegSegments(jpeg, JpegFixture.Segment(0xDD, [0, 0]));
        }

        var at = IndexOfSegment(jpeg, marker);
        var length = BinaryPrimitives.ReadUInt16BigEndian(jpeg.AsSpan(at + 2));
        var grown = Bytes.Concat(jpeg[..(at + 2)], [(byte)((length + Marker.Length) >> 8), (byte)(length + Marker.Length)], jpeg[(at + 4)..(at + 2 + length)], Marker, jpeg[(at + 2 + length)..]);

        var rejection = await Sanitize.RejectionAsync(grown);

        Assert.Equal(ImageRejection.Malformed, rejection.Reason);
    }

    internal static int IndexOfSegment(byte[] jpeg, byte marker)
    {
        for (var at = 2; at + 4 <= jpeg.Length && jpeg[at] == 0xFF;)
        {
            if (jpeg[at + 1] == marker)
            {
                return at;
            }

            at += 2 + BinaryPrimitives.ReadUInt16BigEndian(jpeg.AsSpan(at + 2));
        }

        throw new InvalidOperationException($"no segment FF{marker:X2}");
    }

    /// <summary>The rebuilt profile holds the input's colour values, a fixed header and no text from it.</summary>
    internal static void AssertRebuiltColourProfile(byte[] original, byte[] kept, string context)
    {
        var before = IccFixture.Tags(original);
        var after = IccFixture.Tags(kept);
        Assert.True(after.Keys.ToHashSet().IsSubsetOf(["desc", "wtpt", "bkpt", "rXYZ", "gXYZ", "bXYZ", "rTRC", "gTRC", "bTRC", "chad"]), $"{context}: {string.Join(",", after.Keys)}");
        foreach (var colour in new[] { "wtpt", "rXYZ", "gXYZ", "bXYZ" })
        {
            Assert.Equal(IccFixture.ReadXyz(before[colour]), IccFixture.ReadXyz(after[colour]));
        }

        foreach (var curve in new[] { "rTRC", "gTRC", "bTRC" })
        {
            Assert.Equal(before[curve][8..], after[curve][8..]);
        }

        Assert.Equal(kept.Length, BinaryPrimitives.ReadInt32BigEndian(kept));
        Assert.Equal("acsp"u8.ToArray(), kept[36..40]);
        Assert.Equal(new byte[4], kept[4..8]); // CMM
        Assert.Equal(new byte[12], kept[24..36]); // date
        Assert.Equal(new byte[24], kept[40..64]); // platform, flags, manufacturer, model, attributes
        Assert.Equal(new byte[48], kept[80..128]); // creator, profile id, reserved
    }
}

public sealed class PngKeptStructureCarrierTests
{
    private static readonly byte[] Marker = IccFixture.Marker;

    public static TheoryData<string, int> FixedSizeChunks => new()
    {
        { "gAMA", 4 }, { "sBIT", 3 }, { "pHYs", 9 }, { "sRGB", 1 }, { "cHRM", 32 }, { "tRNS", 6 },
    };

    [Theory]
    [MemberData(nameof(FixedSizeChunks))]
    public async Task Png_fixed_size_chunk_with_extra_bytes_is_dropped(string type, int size)
    {
        var valid = new byte[size];
        valid.AsSpan().Fill(1);
        var png = RealImages.RemovePngChunks(RealImages.Png(PngColorType.Rgb), type);
        var input = RealImages.InsertPngChunks(png, PngChunk(type, Bytes.Concat(valid, Marker)));

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.False(Bytes.Contains(output, Marker));
        Assert.DoesNotContain(RealImages.PngChunks(output), chunk => chunk.Type == type);
        PixelComparison.AssertIdentical(input, output, type);
    }

    [Theory]
    [InlineData("cHRM")]
    [InlineData("pHYs")]
    public async Task Png_chunk_whose_values_spell_text_is_dropped(string type)
    {
        var data = type == "cHRM" ? Bytes.Concat(Marker, new byte[14]) : Bytes.Concat(Marker[..8], [0]);
        var input = RealImages.InsertPngChunks(RealImages.RemovePngChunks(RealImages.Png(PngColorType.Rgb), type), PngChunk(type, data));

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.False(Bytes.Contains(output, Marker[..8]));
        Assert.DoesNotContain(RealImages.PngChunks(output), chunk => chunk.Type == type);
    }

    [Fact]
    public async Task Png_colour_chunks_with_valid_values_are_rebuilt_and_kept()
    {
        var chunks = new[]
        {
            PngChunk("gAMA", [0, 0, 0xB1, 0x8F]),
            PngChunk("cHRM", [0, 0, 0x7A, 0x26, 0, 0, 0x80, 0x84, 0, 0, 0xFA, 0, 0, 0, 0x80, 0xE8, 0, 0, 0x75, 0x30, 0, 0, 0xEA, 0x60, 0, 0, 0x3A, 0x98, 0, 0, 0x17, 0x70]),
            PngChunk("sBIT", [5, 6, 5]),
            PngChunk("sRGB", [0]),
        };
        var input = RealImages.InsertPngChunks(RealImages.RemovePngChunks(RealImages.Png(PngColorType.Rgb), "pHYs"), chunks);

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.Equal(input, output);
    }

    [Fact]
    public async Task Apng_frame_control_with_extra_bytes_is_rejected()
    {
        var png = RealImages.Png(PngColorType.Rgb);
        var frameControl = new byte[26];
        BinaryPrimitives.WriteUInt32BigEndian(frameControl.AsSpan(4), 12);
        BinaryPrimitives.WriteUInt32BigEndian(frameControl.AsSpan(8), 9);
        var input = RealImages.InsertPngChunks(png, PngChunk("acTL", [0, 0, 0, 1, 0, 0, 0, 0]), PngChunk("fcTL", Bytes.Concat(frameControl, Marker)));
        var valid = RealImages.InsertPngChunks(png, PngChunk("acTL", [0, 0, 0, 1, 0, 0, 0, 0]), PngChunk("fcTL", frameControl));

        var rejection = await Sanitize.RejectionAsync(input);
        var (_, output) = await Sanitize.BytesAsync(valid);

        Assert.Equal(ImageRejection.Malformed, rejection.Reason);
        Assert.Equal(valid, output);
    }

    [Fact]
    public async Task Apng_frame_control_outside_the_canvas_is_rejected()
    {
        var frameControl = new byte[26];
        BinaryPrimitives.WriteUInt32BigEndian(frameControl.AsSpan(4), 13);
        BinaryPrimitives.WriteUInt32BigEndian(frameControl.AsSpan(8), 9);
        var input = RealImages.InsertPngChunks(RealImages.Png(PngColorType.Rgb), PngChunk("acTL", [0, 0, 0, 1, 0, 0, 0, 0]), PngChunk("fcTL", frameControl));

        var rejection = await Sanitize.RejectionAsync(input);

        Assert.Equal(ImageRejection.Malformed, rejection.Reason);
    }

    [Fact]
    public async Task Png_icc_profile_name_is_replaced_by_a_fixed_name()
    {
        var input = RealImages.InsertPngChunks(RealImages.Png(), IccChunk(Marker, IccFixture.Rgb()));

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.False(Bytes.Contains(output, Marker));
        var data = RealImages.PngChunkData(output, "iCCP");
        Assert.Equal("ICC Profile\0\0"u8.ToArray(), data[..13]);
        JpegKeptStructureCarrierTests.AssertRebuiltColourProfile(IccFixture.Rgb(), IccpProfile(output), "iCCP");
        PixelComparison.AssertIdentical(input, output, "iCCP");
    }

    [Theory]
    [MemberData(nameof(JpegKeptStructureCarrierTests.PlantsInAValidProfile), MemberType = typeof(JpegKeptStructureCarrierTests))]
    public async Task Png_icc_profile_is_rebuilt_without_the_planted_marker(IccPlant plant)
    {
        var profile = IccFixture.Rgb(plant);
        var input = RealImages.InsertPngChunks(RealImages.Png(), IccChunk("sRGB"u8.ToArray(), profile));

        var (_, output) = await Sanitize.BytesAsync(input);

        var kept = IccpProfile(output);
        Assert.False(Bytes.Contains(kept, Marker), plant.ToString());
        Assert.False(Bytes.Contains(output, Marker), plant.ToString());
        JpegKeptStructureCarrierTests.AssertRebuiltColourProfile(profile, kept, plant.ToString());
    }

    [Fact]
    public async Task Png_icc_chunk_that_is_not_a_profile_is_dropped()
    {
        var garbage = RealImages.InsertPngChunks(RealImages.Png(), IccChunk("x"u8.ToArray(), Bytes.Concat(Marker, new byte[300])));
        var notZlib = RealImages.InsertPngChunks(RealImages.Png(), PngChunk("iCCP", Bytes.Concat("x\0\0"u8.ToArray(), Marker)));

        foreach (var input in new[] { garbage, notZlib })
        {
            var (_, output) = await Sanitize.BytesAsync(input);

            Assert.False(Bytes.Contains(output, Marker));
            Assert.DoesNotContain(RealImages.PngChunks(output), chunk => chunk.Type == "iCCP");
        }
    }

    [Fact]
    public async Task Png_end_chunk_with_data_is_rebuilt_empty()
    {
        var png = RealImages.Png();
        var input = Bytes.Concat(png[..^12], PngChunk("IEND", Marker));

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.False(Bytes.Contains(output, Marker));
        Assert.Equal(png, output);
    }

    [Fact]
    public async Task Png_suggested_palette_of_a_truecolour_image_is_dropped()
    {
        var input = RealImages.InsertPngChunks(RealImages.Png(PngColorType.Rgb), PngChunk("PLTE", Marker));

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.False(Bytes.Contains(output, Marker));
        Assert.DoesNotContain(RealImages.PngChunks(output), chunk => chunk.Type == "PLTE");
    }

    [Fact]
    public async Task Png_palette_with_more_entries_than_the_bit_depth_allows_is_rejected()
    {
        var indexed = RealImages.Png(PngColorType.Palette, PngBitDepth.Bit1);
        var palette = RealImages.PngChunkData(indexed, "PLTE");
        var input = RealImages.InsertPngChunksAfter(RealImages.RemovePngChunks(RealImages.RemovePngChunks(indexed, "PLTE"), "tRNS"), "IHDR", PngChunk("PLTE", Bytes.Concat(palette, Marker)));

        var rejection = await Sanitize.RejectionAsync(input);

        Assert.Equal(ImageRejection.Malformed, rejection.Reason);
    }

    internal static byte[] IccChunk(byte[] name, byte[] profile)
    {
        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            zlib.Write(profile);
        }

        return PngChunk("iCCP", Bytes.Concat(name, [0, 0], compressed.ToArray()));
    }

    /// <summary>The profile an iCCP chunk carries: after the name, its NUL and the compression method.</summary>
    internal static byte[] IccpProfile(byte[] png)
    {
        var data = RealImages.PngChunkData(png, "iCCP");
        return Inflate(data[(Array.IndexOf(data, (byte)0) + 2)..]);
    }

    internal static byte[] Inflate(byte[] compressed)
    {
        using var zlib = new ZLibStream(new MemoryStream(compressed), CompressionMode.Decompress);
        using var plain = new MemoryStream();
        zlib.CopyTo(plain);
        return plain.ToArray();
    }
}

public sealed class GifKeptStructureCarrierTests
{
    private static readonly byte[] Marker = IccFixture.Marker;

    [Theory]
    [InlineData("NETSCAPE2.0")]
    [InlineData("ANIMEXTS1.0")]
    public async Task Gif_looping_extension_with_extra_sub_blocks_is_rebuilt_to_its_loop_count(string identifier)
    {
        var crafted = Bytes.Concat([0x21, 0xFF, 11], System.Text.Encoding.ASCII.GetBytes(identifier), [3, 1, 5, 0], [(byte)Marker.Length], Marker, [5, 2, 0, 0, 1, 0], [0]);
        var input = ReplaceLoop(RealImages.Gif(), crafted);

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.False(Bytes.Contains(output, Marker));
        Assert.Equal(ReplaceLoop(RealImages.Gif(), Bytes.Concat([0x21, 0xFF, 11], System.Text.Encoding.ASCII.GetBytes(identifier), [3, 1, 5, 0, 0])), output);
        Assert.Equal(3, PixelComparison.FrameCount(output));
        // ImageSharp cannot read the crafted extension itself, so the clean original stands in for the input.
        PixelComparison.AssertIdentical(RealImages.Gif(), output, identifier);
    }

    [Fact]
    public async Task Gif_looping_extension_whose_loop_block_is_oversized_is_dropped()
    {
        var crafted = Bytes.Concat([0x21, 0xFF, 11], "NETSCAPE2.0"u8.ToArray(), [(byte)(3 + Marker.Length), 1, 0, 0], Marker, [0]);
        var input = ReplaceLoop(RealImages.Gif(), crafted);

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.False(Bytes.Contains(output, Marker));
        Assert.False(Bytes.Contains(output, "NETSCAPE2.0"));
    }

    [Fact]
    public async Task Gif_second_looping_extension_is_dropped()
    {
        var gif = RealImages.Gif();
        var loop = FindLoop(gif);
        var second = Bytes.Concat([0x21, 0xFF, 11], "NETSCAPE2.0"u8.ToArray(), [3, 1, (byte)'S', (byte)'E', 0]);
        var input = Bytes.Concat(gif[..(loop.Start + loop.Length)], second, gif[(loop.Start + loop.Length)..]);

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.Equal(gif, output);
    }

    internal static (int Start, int Length) FindLoop(byte[] gif)
    {
        var at = gif.AsSpan().IndexOf("NETSCAPE2.0"u8) - 3;
        return (at, 19);
    }

    internal static byte[] ReplaceLoop(byte[] gif, byte[] extension)
    {
        var (start, length) = FindLoop(gif);
        Assert.Equal(0x21, gif[start]);
        return Bytes.Concat(gif[..start], extension, gif[(start + length)..]);
    }
}

public sealed class WebPKeptStructureCarrierTests
{
    private static readonly byte[] Marker = IccFixture.Marker;

    [Fact]
    public async Task Animated_webp_frames_lose_nested_exif_xmp_and_unknown_chunks()
    {
        var input = RealImages.AnimatedWebP(3, RiffChunk("EXIF", Bytes.Concat("MM\0*"u8.ToArray(), Marker)), RiffChunk("XMP ", Marker), RiffChunk("ABCD", Marker));

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.False(Bytes.Contains(output, Marker));
        Assert.Equal(3, RealImages.RiffChunks(output).Count(chunk => chunk.FourCc == "ANMF"));
        PixelComparison.AssertIdentical(input, output, "nested metadata");
        PixelComparison.AssertIdentical(RealImages.AnimatedWebP(3), output, "against the clean animation");
    }

    [Fact]
    public async Task Animated_webp_frame_with_trailing_bytes_that_are_not_chunks_is_rejected()
    {
        var rejection = await Sanitize.RejectionAsync(RealImages.AnimatedWebP(2, Marker));

        Assert.Equal(ImageRejection.Malformed, rejection.Reason);
    }

    [Fact]
    public async Task Animated_webp_frame_header_reserved_bits_are_cleared()
    {
        var input = RealImages.AnimatedWebP(2);
        var first = RealImages.RiffChunks(input).First(chunk => chunk.FourCc == "ANMF");
        input[first.Start + 8 + 15] |= 0xFC;

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.Equal(RealImages.AnimatedWebP(2), output);
    }

    [Fact]
    public async Task WebP_animation_header_is_rebuilt_to_its_six_bytes()
    {
        var clean = RealImages.AnimatedWebP(2);
        var anim = RealImages.RiffChunks(clean).First(chunk => chunk.FourCc == "ANIM");
        var input = WebP([.. RealImages.RiffChunks(clean).Select(chunk => chunk.FourCc == "ANIM"
            ? RiffChunk("ANIM", Bytes.Concat(clean[(anim.Start + 8)..(anim.Start + 14)], Marker))
            : clean[chunk.Start..(chunk.Start + chunk.Length)])]);

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.Equal(clean, output);
    }

    [Fact]
    public async Task WebP_extended_header_reserved_bytes_are_cleared()
    {
        var input = RealImages.WebPLossyWithAlpha();
        Assert.Equal("VP8X"u8.ToArray(), input[12..16]);
        "SEC"u8.CopyTo(input.AsSpan(21));

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.Equal(new byte[3], output[21..24]);
        PixelComparison.AssertIdentical(RealImages.WebPLossyWithAlpha(), output, "VP8X");
    }

    [Fact]
    public async Task WebP_icc_chunk_that_is_not_a_profile_is_dropped_and_its_flag_cleared()
    {
        var input = WebP(Vp8X(0x20, 10, 8), RiffChunk("ICCP", Bytes.Concat(Marker, new byte[200])), RealImages.WebPLossless()[12..]);

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.False(Bytes.Contains(output, Marker));
        Assert.DoesNotContain(RealImages.RiffChunks(output), chunk => chunk.FourCc == "ICCP");
        Assert.Equal(0, output[20] & 0x20);
    }

    [Theory]
    [MemberData(nameof(JpegKeptStructureCarrierTests.PlantsInAValidProfile), MemberType = typeof(JpegKeptStructureCarrierTests))]
    public async Task WebP_icc_profile_is_rebuilt_without_the_planted_marker(IccPlant plant)
    {
        var profile = IccFixture.Rgb(plant);
        var input = WebP(Vp8X(0x20 | 0x10, 10, 8), RiffChunk("ICCP", profile), RealImages.WebPLossless()[12..]);

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.False(Bytes.Contains(output, Marker), plant.ToString());
        var icc = RealImages.RiffChunks(output).Single(chunk => chunk.FourCc == "ICCP");
        var size = (int)BinaryPrimitives.ReadUInt32LittleEndian(output.AsSpan(icc.Start + 4));
        JpegKeptStructureCarrierTests.AssertRebuiltColourProfile(profile, output[(icc.Start + 8)..(icc.Start + 8 + size)], plant.ToString());
        Assert.Equal(0x20, output[20] & 0x20);
        PixelComparison.AssertIdentical(input, output, plant.ToString());
    }

    [Fact]
    public async Task WebP_odd_sized_chunk_padding_is_written_as_zero()
    {
        var still = Enumerable.Range(4, 30).Select(width => RealImages.WebPLossless(width, 5))
            .First(webp => BinaryPrimitives.ReadUInt32LittleEndian(webp.AsSpan(16)) % 2 == 1);
        var input = (byte[])still.Clone();
        input[^1] = (byte)'S';

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.Equal(0, output[^1]);
        Assert.Equal(still.Length, output.Length);
    }
}
