using SecureImage.Core.Imaging;
using static SecureImage.Core.Tests.Imaging.FormatFixtures;

namespace SecureImage.Core.Tests.Imaging;

public sealed class PngSanitizerTests
{
    [Fact]
    public async Task Png_drops_text_exif_time_and_unknown_ancillary_chunks()
    {
        var input = Png(Text("tEXt", "Author\0SECRET"), Text("zTXt", "x"), Text("iTXt", "y"), Text("eXIf", "MM"), Text("tIME", "1234567"), Text("prVt", "z"));

        var (image, output) = await Sanitize.BytesAsync(input);

        Assert.Equal(Png(), output);
        Assert.Equal(new SanitizedImage(ImageFormat.Png, 4, 3, Png().Length), image);
    }

    [Fact]
    public async Task Png_drops_colour_chunks_whose_values_do_not_fit_their_layout()
    {
        var input = Png(Text("gAMA", "abcd"), Text("sRGB", "\0"), Text("pHYs", "123456789"), Text("iCCP", "p\0\0zz"));

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.Equal(Png(Text("sRGB", "\0")), output);
    }

    [Fact]
    public async Task Png_with_a_damaged_crc_is_rejected_as_malformed()
    {
        var input = Png(Text("tEXt", "dropped but still checked"));
        input[PngSanitizer.Signature.Length + 25 + 12] ^= 1;

        var rejection = await Sanitize.RejectionAsync(input);

        Assert.Equal(ImageRejection.Malformed, rejection.Reason);
    }

    [Fact]
    public async Task Png_bytes_after_the_end_chunk_are_not_carried_over()
    {
        var (_, output) = await Sanitize.BytesAsync(Bytes.Concat(Png(), "PK\x03\x04zip"u8.ToArray()));

        Assert.Equal(Png(), output);
    }

    [Fact]
    public async Task Png_over_the_pixel_limit_is_rejected_from_its_header()
    {
        var input = Bytes.Concat(PngSanitizer.Signature.ToArray(), PngHeader(20_000, 20_000));

        var rejection = await Sanitize.RejectionAsync(input);

        Assert.Equal(ImageRejection.DimensionsTooLarge, rejection.Reason);
    }

    [Fact]
    public async Task Png_with_an_unknown_critical_chunk_is_rejected_as_malformed()
    {
        var rejection = await Sanitize.RejectionAsync(Png(Text("ZZZZ", "?")));

        Assert.Equal(ImageRejection.Malformed, rejection.Reason);
    }

    [Fact]
    public async Task Apng_with_more_frames_than_allowed_is_rejected()
    {
        var input = Png(PngChunk("acTL", [0, 0, 0, 3, 0, 0, 0, 0]));

        var rejection = await Sanitize.RejectionAsync(input, ImageLimits.Default with { MaxFrames = 2 });

        Assert.Equal(ImageRejection.TooManyFrames, rejection.Reason);
    }
}

public sealed class GifSanitizerTests
{
    [Fact]
    public async Task Gif_keeps_frames_control_and_looping_but_drops_comments_and_other_application_data()
    {
        var input = Gif(GifLoop(), GifComment(), GifXmp(), GifControl(), GifFrame(), GifControl(), GifFrame());

        var (image, output) = await Sanitize.BytesAsync(input);

        Assert.Equal(Gif(GifLoop(), GifControl(), GifFrame(), GifControl(), GifFrame()), output);
        Assert.Equal((ImageFormat.Gif, 4, 3), (image.Format, image.Width, image.Height));
    }

    [Fact]
    public async Task Gif_with_more_frames_than_allowed_is_rejected()
    {
        var rejection = await Sanitize.RejectionAsync(Gif(GifFrame(), GifFrame(), GifFrame()), ImageLimits.Default with { MaxFrames = 2 });

        Assert.Equal(ImageRejection.TooManyFrames, rejection.Reason);
    }

    [Fact]
    public async Task Gif_without_its_trailer_is_rejected_as_malformed()
    {
        var input = Gif(GifFrame());

        var rejection = await Sanitize.RejectionAsync(input[..^1]);

        Assert.Equal(ImageRejection.Malformed, rejection.Reason);
    }

    [Fact]
    public async Task Gif_bytes_after_the_trailer_are_not_carried_over()
    {
        var (_, output) = await Sanitize.BytesAsync(Bytes.Concat(Gif(GifFrame()), "<html>"u8.ToArray()));

        Assert.Equal(Gif(GifFrame()), output);
    }
}

public sealed class WebPSanitizerTests
{
    private const byte ExifAndXmpFlags = 0x08 | 0x04;

    [Fact]
    public async Task WebP_simple_lossy_passes_unchanged()
    {
        var input = WebP(Vp8());

        var (image, output) = await Sanitize.BytesAsync(input);

        Assert.Equal(input, output);
        Assert.Equal((ImageFormat.WebP, 4, 3), (image.Format, image.Width, image.Height));
    }

    [Fact]
    public async Task WebP_extended_loses_exif_and_xmp_and_its_flags_and_riff_size_agree()
    {
        var input = WebP(Vp8X(ExifAndXmpFlags | 0x10), Vp8(), RiffChunk("EXIF", "MM\0*GPS"u8.ToArray()), RiffChunk("XMP ", "<x:xmpmeta/>"u8.ToArray()));

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.Equal(WebP(Vp8X(0x10), Vp8()), output);
    }

    [Fact]
    public async Task WebP_with_alpha_replaces_trailing_metadata_with_zeroed_padding_of_the_same_size()
    {
        var alpha = RiffChunk("ALPH", [1, 1, 2]); // compressed: opaque to the sanitizer
        var exif = RiffChunk("EXIF", "SECRET-GPS"u8.ToArray());

        var (_, output) = await Sanitize.BytesAsync(WebP(Vp8X(0x10 | 0x08), alpha, Vp8(), exif));

        Assert.Equal(WebP(Vp8X(0x10), alpha, Vp8(), RiffChunk("JUNK", new byte[exif.Length - 8])), output);
        Assert.False(Bytes.Contains(output, "SECRET"));
    }

    [Fact]
    public async Task WebP_whose_chunks_overrun_the_riff_size_is_rejected_as_malformed()
    {
        var input = WebP(Vp8());
        input[4] -= 2;

        var rejection = await Sanitize.RejectionAsync(input);

        Assert.Equal(ImageRejection.Malformed, rejection.Reason);
    }

    [Fact]
    public async Task WebP_canvas_over_the_pixel_limit_is_rejected_from_its_header()
    {
        var rejection = await Sanitize.RejectionAsync(WebP(Vp8X(0, 16_000, 16_000)));

        Assert.Equal(ImageRejection.DimensionsTooLarge, rejection.Reason);
    }

    [Fact]
    public async Task WebP_bitstream_that_disagrees_with_the_canvas_is_rejected_as_malformed()
    {
        var rejection = await Sanitize.RejectionAsync(WebP(Vp8X(0, 8, 8), Vp8(4, 3)));

        Assert.Equal(ImageRejection.Malformed, rejection.Reason);
    }
}
