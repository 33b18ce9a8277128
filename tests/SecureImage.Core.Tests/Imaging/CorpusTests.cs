using SecureImage.Core.Imaging;

namespace SecureImage.Core.Tests.Imaging;

/// <summary>Every corpus file gives the outcome the corpus README names.</summary>
public sealed class CorpusTests
{
    /// <summary>Accepted corpus files with their format and the dimensions exiftool reports for the original.</summary>
    public static TheoryData<string, ImageFormat, int, int> AcceptedFiles => new()
    {
        { "jpg_gps_DSCN0010.jpg", ImageFormat.Jpeg, 640, 480 },
        { "jpg_orientation_landscape_6.jpg", ImageFormat.Jpeg, 450, 600 },
        { "jpg_orientation_portrait_8.jpg", ImageFormat.Jpeg, 600, 450 },
        { "jpg_xmp_BlueSquare.jpg", ImageFormat.Jpeg, 360, 216 },
        { "jpg_Canon_40D.jpg", ImageFormat.Jpeg, 100, 68 },
        { "jpg_Nikon_D70.jpg", ImageFormat.Jpeg, 100, 66 },
        { "jpg_invalid_image01137.jpg", ImageFormat.Jpeg, 88, 64 },
        { "png_text_gps_xmp.png", ImageFormat.Png, 320, 200 },
        { "webp_gps_xmp.webp", ImageFormat.WebP, 320, 200 },
        { "gif_anim_comment.gif", ImageFormat.Gif, 200, 320 },
    };

    public static IEnumerable<string> AcceptedNames => AcceptedFiles.Select(row => (string)row[0]);

    [Theory]
    [MemberData(nameof(AcceptedFiles))]
    public async Task Corpus_file_is_accepted_with_its_format_and_dimensions(string name, ImageFormat format, int width, int height)
    {
        var input = Corpus.Read(name);

        var (image, output) = await Sanitize.BytesAsync(input);

        Assert.Equal((format, width, height), (image.Format, image.Width, image.Height));
        Assert.True(output.Length < input.Length, "metadata was removed, so the output is smaller");
    }

    [Theory]
    [InlineData("jpg_orientation_landscape_6.jpg", 6)]
    [InlineData("jpg_orientation_portrait_8.jpg", 8)]
    public async Task Corpus_jpeg_keeps_its_orientation(string name, int orientation)
    {
        var (_, output) = await Sanitize.BytesAsync(Corpus.Read(name));

        var exif = output.AsSpan().IndexOf("Exif\0\0"u8);
        Assert.True(exif > 0);
        Assert.Equal(orientation, ExifOrientation.Read(output.AsSpan(exif)));
    }

    [Fact]
    public async Task Corpus_png_loses_its_text_exif_and_xmp_chunks()
    {
        var input = Corpus.Read("png_text_gps_xmp.png");
        Assert.True(Bytes.Contains(input, "tEXt") && Bytes.Contains(input, "eXIf"), "the fixture carries the metadata under test");

        var (_, output) = await Sanitize.BytesAsync(input);

        foreach (var chunk in new[] { "tEXt", "zTXt", "iTXt", "eXIf", "tIME", "XML:com.adobe.xmp" })
        {
            Assert.False(Bytes.Contains(output, chunk), chunk);
        }
    }

    [Fact]
    public async Task Corpus_gif_is_refused_when_animations_are_not_allowed()
    {
        var rejection = await Sanitize.RejectionAsync(Corpus.Read("gif_anim_comment.gif"), ImageLimits.Default with { MaxFrames = 1 });

        Assert.Equal(ImageRejection.TooManyFrames, rejection.Reason);
    }

    [Fact]
    public async Task Corpus_gif_keeps_its_two_frames_and_looping_but_loses_its_comment_and_vendor_extension()
    {
        var input = Corpus.Read("gif_anim_comment.gif");
        Assert.True(Bytes.Contains(input, "gif comment") && Bytes.Contains(input, "ImageMagick"), "the fixture carries the metadata under test");

        var (_, output) = await Sanitize.BytesAsync(input);

        Assert.False(Bytes.Contains(output, "gif comment"));
        Assert.False(Bytes.Contains(output, "ImageMagick"));
        Assert.True(Bytes.Contains(output, "NETSCAPE2.0"));
        await Sanitize.BytesAsync(output, ImageLimits.Default with { MaxFrames = 2 });
        var rejection = await Sanitize.RejectionAsync(output, ImageLimits.Default with { MaxFrames = 1 });
        Assert.Equal(ImageRejection.TooManyFrames, rejection.Reason);
    }
}
