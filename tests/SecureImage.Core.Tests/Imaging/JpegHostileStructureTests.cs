using System.Buffers.Binary;
using SecureImage.Core.Imaging;
using SecureImage.Core.Tests.TestSupport;

namespace SecureImage.Core.Tests.Imaging;

/// <summary>
/// JPEG structures a decoder never reads but a copying sanitizer would carry over: free header
/// fields, tables no scan uses or that are redefined before use, repeated restart intervals.
/// </summary>
public sealed class JpegHostileStructureTests
{
    private static readonly byte[] Marker = IccFixture.Marker;

    [Fact]
    public async Task Jpeg_scan_header_whose_selectors_spell_a_marker_is_rejected()
    {
        var input = ReplaceSegment(RealImages.Jpeg(), 0xDA, Bytes.Concat([3], Marker[..9]));

        var rejection = await Sanitize.RejectionAsync(input);

        Assert.Equal(ImageRejection.Malformed, rejection.Reason);
    }

    [Fact]
    public async Task Jpeg_frame_header_whose_component_fields_spell_a_marker_is_rejected()
    {
        var jpeg = RealImages.Jpeg();
        var frame = SegmentPayload(jpeg, 0xC0);
        var input = ReplaceSegment(jpeg, 0xC0, Bytes.Concat(frame[..6], Marker[..9]));

        var rejection = await Sanitize.RejectionAsync(input);

        Assert.Equal(ImageRejection.Malformed, rejection.Reason);
    }

    [Theory]
    [InlineData(0)] // Ss
    [InlineData(1)] // Se
    [InlineData(2)] // Ah/Al
    public async Task Jpeg_sequential_scan_with_spectral_fields_other_than_the_whole_block_is_rejected(int field)
    {
        var jpeg = RealImages.Jpeg();
        var scan = SegmentPayload(jpeg, 0xDA);
        scan[^(3 - field)] = (byte)'S';

        var rejection = await Sanitize.RejectionAsync(ReplaceSegment(jpeg, 0xDA, scan));

        Assert.Equal(ImageRejection.Malformed, rejection.Reason);
    }

    [Fact]
    public async Task Jpeg_quantisation_table_that_no_component_uses_is_dropped()
    {
        var clean = RealImages.Jpeg();
        var input = RealImages.InsertJpegSegments(clean, JpegFixture.Segment(0xDB, Bytes.Concat([0x03], Marker, new byte[64 - Marker.Length])));

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.False(Bytes.Contains(output, Marker));
        Assert.Equal((await Sanitize.BytesAsync(clean)).Output, output);
        PixelComparison.AssertIdentical(input, output, "unused DQT");
    }

    [Fact]
    public async Task Jpeg_tables_redefined_before_any_scan_uses_them_keep_only_the_definitions_in_force()
    {
        var clean = RealImages.Jpeg();
        var deadQuantisation = JpegFixture.Segment(0xDB, Bytes.Concat([0x00], Marker, new byte[64 - Marker.Length]));
        var deadHuffman = JpegFixture.Segment(0xC4, Bytes.Concat(HuffmanTable(0x10, Marker), HuffmanTable(0x01, Marker)));
        var input = RealImages.InsertJpegSegments(clean, deadQuantisation, deadHuffman);

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.False(Bytes.Contains(output, Marker));
        Assert.Equal((await Sanitize.BytesAsync(clean)).Output, output);
        PixelComparison.AssertIdentical(input, output, "dead tables");
    }

    [Fact]
    public async Task Jpeg_huffman_table_that_no_scan_uses_is_dropped()
    {
        var clean = RealImages.Jpeg();
        var input = RealImages.InsertJpegSegments(clean, JpegFixture.Segment(0xC4, HuffmanTable(0x13, Marker)));

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.False(Bytes.Contains(output, Marker));
        Assert.Equal((await Sanitize.BytesAsync(clean)).Output, output);
    }

    [Fact]
    public async Task Jpeg_huffman_table_after_the_last_scan_is_dropped()
    {
        var clean = RealImages.Jpeg();
        var input = Bytes.Concat(clean[..^2], JpegFixture.Segment(0xC4, HuffmanTable(0x10, Marker)), JpegFixture.Eoi);

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.False(Bytes.Contains(output, Marker));
        Assert.Equal((await Sanitize.BytesAsync(clean)).Output, output);
    }

    [Fact]
    public async Task Jpeg_quantisation_table_changed_after_a_scan_used_it_is_rejected()
    {
        // libjpeg keeps the table a component's first scan saw, ImageSharp's progressive path the last:
        // such a file decodes differently per viewer and its second table may be a dead carrier.
        var clean = RealImages.Jpeg();
        var input = Bytes.Concat(clean[..^2], JpegFixture.Segment(0xDB, Bytes.Concat([0x00], Marker, new byte[64 - Marker.Length])), JpegFixture.Eoi);

        var rejection = await Sanitize.RejectionAsync(input);

        Assert.Equal(ImageRejection.Malformed, rejection.Reason);
    }

    [Fact]
    public async Task Jpeg_repeated_restart_intervals_keep_only_the_one_in_force()
    {
        var clean = RealImages.Jpeg();
        var repeated = Enumerable.Range(0, Marker.Length / 2).Select(index => JpegFixture.Segment(0xDD, Marker[(2 * index)..((2 * index) + 2)])).ToList();
        repeated.Add(JpegFixture.Segment(0xDD, [0, 0]));
        var input = RealImages.InsertJpegSegments(clean, [.. repeated]);

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.False(Bytes.Contains(output, Marker[..4]));
        Assert.Equal((await Sanitize.BytesAsync(clean)).Output, output);
    }

    [Fact]
    public async Task Jpeg_huffman_tables_of_an_arithmetic_coded_image_are_dropped()
    {
        var input = Bytes.Concat(JpegFixture.Soi, JpegFixture.Dqt(), JpegFixture.Frame(16, 8, marker: 0xC9),
            JpegFixture.Segment(0xC4, HuffmanTable(0x00, Marker)), JpegFixture.ScanHeader(), JpegFixture.ScanData, JpegFixture.Eoi);

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.False(Bytes.Contains(output, Marker));
        Assert.Equal(-1, output.AsSpan().IndexOf(new byte[] { 0xFF, 0xC4 }));
    }

    [Fact]
    public async Task Jpeg_arithmetic_conditioning_outside_its_range_is_rejected()
    {
        foreach (var conditioning in new byte[][] { [0x00, 0x12], [0x10, 0], [0x10, 64] })
        {
            var input = Bytes.Concat(JpegFixture.Soi, JpegFixture.Dqt(), JpegFixture.Frame(16, 8, marker: 0xC9),
                JpegFixture.Segment(0xCC, conditioning), JpegFixture.ScanHeader(), JpegFixture.ScanData, JpegFixture.Eoi);

            var rejection = await Sanitize.RejectionAsync(input);

            Assert.Equal(ImageRejection.Malformed, rejection.Reason);
        }
    }

    [Fact]
    public async Task Progressive_jpeg_keeps_each_scans_tables_in_front_of_it_and_decodes_to_the_same_pixels()
    {
        var input = ProgressiveJpeg(deadTableBetweenScans: HuffmanTable(0x11, Marker));

        var (image, output) = await Sanitize.BytesAsync(input);

        Assert.Equal((16, 8), (image.Width, image.Height));
        Assert.False(Bytes.Contains(output, Marker));
        Assert.Equal(ProgressiveJpeg(deadTableBetweenScans: null), output);
        PixelComparison.AssertIdentical(input, output, "progressive");
        Assert.Null(PixelComparison.FindDifference(input, input)); // and the fixture decodes at all
    }

    [Fact]
    public async Task Jpeg_table_changed_and_changed_back_before_its_next_use_is_not_written_again()
    {
        // Found by fuzzing: writing it again made a second pass differ from the first.
        var x = JpegFixture.Segment(0xC4, HuffmanTable(0x10, [1, 2]));
        var y = JpegFixture.Segment(0xC4, HuffmanTable(0x10, [3, 4]));
        byte[] Scan(byte start, byte end, byte approximation) => Bytes.Concat(JpegFixture.Segment(0xDA, [1, 1, 0x00, start, end, approximation]), [0x12, 0x34]);
        byte[] Build(params byte[][] tablesBeforeLastScans) => Bytes.Concat(
            JpegFixture.Soi, JpegFixture.Dqt(), JpegFixture.Frame(16, 8, marker: 0xC2), JpegFixture.Dht(), Scan(0, 0, 0), x, Scan(1, 63, 1),
            tablesBeforeLastScans[0], Scan(0, 0, 0x10), tablesBeforeLastScans[1], Scan(1, 63, 0x10), JpegFixture.Eoi);

        var (_, output) = await Sanitize.BytesAsync(Build(y, x));
        var (_, again) = await Sanitize.BytesAsync(output);

        Assert.Equal(Build([], []), output);
        Assert.Equal(output, again);
    }

    [Theory]
    [InlineData(0, 5, 0)] // a DC scan must not take AC coefficients
    [InlineData(5, 2, 0)] // the band runs backwards
    [InlineData(1, 64, 0)] // past the block
    [InlineData(1, 63, 0xEE)] // successive approximation past 13 bits
    public async Task Progressive_jpeg_with_impossible_progression_fields_is_rejected(byte start, byte end, byte approximation)
    {
        var input = ProgressiveJpeg(deadTableBetweenScans: null, secondScan: (start, end, approximation));

        var rejection = await Sanitize.RejectionAsync(input);

        Assert.Equal(ImageRejection.Malformed, rejection.Reason);
    }

    /// <summary>One Huffman table: class/id, 16 counts (all the symbols at length 8) and the symbols.</summary>
    internal static byte[] HuffmanTable(byte classAndId, byte[] symbols)
    {
        var counts = new byte[16];
        counts[7] = (byte)symbols.Length;
        return Bytes.Concat([classAndId], counts, symbols);
    }

    /// <summary>
    /// A decodable 16×8 grey progressive JPEG built by hand: a DC scan (two blocks, +5 and −5 steps of
    /// 16) and an AC scan with an end-of-band in each block, each after its own Huffman table.
    /// </summary>
    internal static byte[] ProgressiveJpeg(byte[]? deadTableBetweenScans, (byte Start, byte End, byte Approximation)? secondScan = null)
    {
        var quantisation = new byte[65];
        quantisation.AsSpan(1).Fill(1);
        quantisation[1] = 16;
        byte[] frame = [8, 0, 8, 0, 16, 1, 1, 0x11, 0];
        byte[] dcTable = [0x00, 0, 2, .. new byte[14], 0, 3]; // '00' → 0, '01' → category 3
        byte[] acTable = [0x10, 1, .. new byte[15], 0x00]; // '0' → end of band
        var (start, end, approximation) = secondScan ?? (1, 63, 0);
        return Bytes.Concat(
            JpegFixture.Soi,
            JpegFixture.Segment(0xDB, quantisation),
            JpegFixture.Segment(0xC2, frame),
            JpegFixture.Segment(0xC4, dcTable),
            JpegFixture.Segment(0xDA, [1, 1, 0x00, 0, 0, 0]),
            [0x6A, 0xBF], // 01 101 | 01 010 | padding ones
            deadTableBetweenScans is null ? [] : JpegFixture.Segment(0xC4, deadTableBetweenScans),
            JpegFixture.Segment(0xC4, acTable),
            JpegFixture.Segment(0xDA, [1, 1, 0x00, start, end, approximation]),
            [0x3F], // 0 | 0 | padding ones
            JpegFixture.Eoi);
    }

    internal static byte[] SegmentPayload(byte[] jpeg, byte marker)
    {
        var at = JpegKeptStructureCarrierTests.IndexOfSegment(jpeg, marker);
        return jpeg[(at + 4)..(at + 2 + BinaryPrimitives.ReadUInt16BigEndian(jpeg.AsSpan(at + 2)))];
    }

    internal static byte[] ReplaceSegment(byte[] jpeg, byte marker, byte[] payload)
    {
        var at = JpegKeptStructureCarrierTests.IndexOfSegment(jpeg, marker);
        var end = at + 2 + BinaryPrimitives.ReadUInt16BigEndian(jpeg.AsSpan(at + 2));
        return Bytes.Concat(jpeg[..at], JpegFixture.Segment(marker, payload), jpeg[end..]);
    }
}
