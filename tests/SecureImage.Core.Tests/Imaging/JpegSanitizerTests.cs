using SecureImage.Core.Imaging;
using static SecureImage.Core.Tests.Imaging.JpegFixture;

namespace SecureImage.Core.Tests.Imaging;

public sealed class JpegSanitizerTests
{
    [Fact]
    public async Task Jpeg_keeps_tables_frame_and_scan_bytes_exactly()
    {
        var input = Build(Jfif());

        var (image, output) = await Sanitize.BytesAsync(input);

        Assert.Equal(input, output);
        Assert.Equal(new SanitizedImage(ImageFormat.Jpeg, 16, 8, input.Length), image);
    }

    [Fact]
    public async Task Jpeg_with_gps_exif_loses_the_gps_block()
    {
        var (_, output) = await Sanitize.BytesAsync(Build(Jfif(), Exif(orientation: 1)));

        Assert.False(Bytes.Contains(output, "GPSMARK!"));
        Assert.False(Bytes.Contains(output, "Exif"));
        Assert.Equal(Build(Jfif()), output);
    }

    [Theory]
    [InlineData(6, false)]
    [InlineData(8, true)]
    public async Task Jpeg_orientation_survives_as_a_minimal_exif_holding_only_that_tag(ushort orientation, bool bigEndian)
    {
        var (_, output) = await Sanitize.BytesAsync(Build(Jfif(), Exif(orientation, bigEndian)));

        var minimalExif = Segment(0xE1, ExifOrientation.BuildPayload(orientation));
        Assert.Equal(Build(Jfif(), minimalExif), output);
        Assert.Equal(orientation, ExifOrientation.Read(minimalExif.AsSpan(4)));
        Assert.False(Bytes.Contains(output, "GPSMARK!"));
    }

    [Fact]
    public async Task Jpeg_with_broken_exif_is_accepted_with_the_exif_dropped()
    {
        var broken = Segment(0xE1, Bytes.Concat(Ascii("Exif\0\0II*\0"), [0xFF, 0xFF, 0xFF, 0x7F], Ascii("GPSMARK!")));

        var (_, output) = await Sanitize.BytesAsync(Build(broken));

        Assert.Equal(Build(), output);
    }

    [Fact]
    public async Task Jpeg_drops_xmp_iptc_and_comments()
    {
        var (_, output) = await Sanitize.BytesAsync(Build(Jfif(), Xmp(), Iptc(), Comment()));

        Assert.Equal(Build(Jfif()), output);
    }

    [Fact]
    public async Task Jpeg_keeps_the_adobe_segment_and_drops_icc_chunks_that_are_not_a_profile()
    {
        var (_, output) = await Sanitize.BytesAsync(Build(Icc(1, 2), Icc(2, 2), Adobe()));

        Assert.Equal(Build(Adobe()), output);
    }

    [Fact]
    public async Task Jpeg_jfif_thumbnail_is_removed()
    {
        var (_, output) = await Sanitize.BytesAsync(Build(Jfif(thumbWidth: 2, thumbHeight: 2)));

        Assert.Equal(Build(Jfif()), output);
    }

    [Fact]
    public async Task Jpeg_progressive_scans_with_tables_between_them_are_kept()
    {
        // A DC scan after its DC table, then an AC band after its AC table.
        var acTable = Segment(0xC4, [0x10, 1, .. new byte[15], 0x00]);
        var input = Bytes.Concat(Soi, Dqt(), Frame(16, 8, marker: 0xC2), Dht(), Segment(0xDA, [1, 1, 0x00, 0, 0, 0]), ScanData,
            acTable, Segment(0xDA, [1, 1, 0x00, 1, 63, 0]), ScanData, Eoi);

        var (image, output) = await Sanitize.BytesAsync(input);

        Assert.Equal(input, output);
        Assert.Equal((16, 8), (image.Width, image.Height));
    }

    [Fact]
    public async Task Jpeg_bytes_after_the_end_marker_are_not_carried_over()
    {
        var (_, output) = await Sanitize.BytesAsync(Bytes.Concat(Build(), Ascii("<script>alert(1)</script>")));

        Assert.Equal(Build(), output);
    }

    [Fact]
    public async Task Jpeg_read_one_byte_at_a_time_gives_the_same_output()
    {
        var input = Corpus.Read("jpg_gps_DSCN0010.jpg");

        var (_, whole) = await Sanitize.BytesAsync(input);
        var (_, trickled) = await Sanitize.BytesAsync(input, readSize: 1);

        Assert.Equal(whole, trickled);
    }

    [Theory]
    [InlineData(10)]
    [InlineData(40)]
    [InlineData(80)]
    public async Task Jpeg_cut_short_is_rejected_as_malformed(int keep)
    {
        var input = Build(Jfif());

        var rejection = await Sanitize.RejectionAsync(input[..keep]);

        Assert.Equal(ImageRejection.Malformed, rejection.Reason);
    }

    [Fact]
    public async Task Jpeg_without_a_frame_is_rejected_as_malformed()
    {
        var rejection = await Sanitize.RejectionAsync(Bytes.Concat(Soi, Dqt(), Eoi));

        Assert.Equal(ImageRejection.Malformed, rejection.Reason);
    }

    [Fact]
    public async Task Jpeg_with_a_frame_but_no_scan_is_rejected_as_malformed()
    {
        var rejection = await Sanitize.RejectionAsync(Bytes.Concat(Soi, Dqt(), Frame(16, 8), Eoi));

        Assert.Equal(ImageRejection.Malformed, rejection.Reason);
    }

    [Fact]
    public async Task Jpeg_with_garbage_where_a_marker_belongs_is_rejected_as_malformed()
    {
        var rejection = await Sanitize.RejectionAsync(Bytes.Concat(Soi, Dqt(), [0x00, 0x11], JpegFixture.Core(), Eoi));

        Assert.Equal(ImageRejection.Malformed, rejection.Reason);
    }

    [Fact]
    public async Task Jpeg_over_the_pixel_limit_is_rejected_from_its_header_before_the_scan_is_read()
    {
        // The scan data never arrives: the rejection must come from the frame header alone.
        var input = Bytes.Concat(Soi, Dqt(), Frame(8000, 6000));

        var rejection = await Sanitize.RejectionAsync(input);

        Assert.Equal(ImageRejection.DimensionsTooLarge, rejection.Reason);
    }

    [Fact]
    public async Task Jpeg_with_a_side_over_the_limit_is_rejected()
    {
        var rejection = await Sanitize.RejectionAsync(Build(), new ImageLimits(MaxPixels: 1_000_000, MaxSidePixels: 10, MaxFrames: 1));

        Assert.Equal(ImageRejection.DimensionsTooLarge, rejection.Reason);
    }
}
