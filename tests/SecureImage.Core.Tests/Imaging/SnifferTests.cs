using System.Text;
using SecureImage.Core.Imaging;

namespace SecureImage.Core.Tests.Imaging;

public sealed class SnifferTests
{
    public static TheoryData<string, byte[]> UnsupportedInputs => new()
    {
        { "svg", Encoding.ASCII.GetBytes("<svg xmlns=\"http://www.w3.org/2000/svg\"><script/></svg>") },
        { "html", Encoding.ASCII.GetBytes("<!DOCTYPE html><html><body>hi</body></html>") },
        { "pdf", Encoding.ASCII.GetBytes("%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj") },
        { "tiff", [0x49, 0x49, 0x2A, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00] },
        { "bmp", Encoding.ASCII.GetBytes("BM\x36\0\0\0\0\0\0\0\x36\0\0\0") },
        { "avif", [0, 0, 0, 0x1C, .. Encoding.ASCII.GetBytes("ftypavif"), 0, 0, 0, 0] },
        { "riff wave", Encoding.ASCII.GetBytes("RIFF\x24\0\0\0WAVEfmt ") },
        { "empty", [] },
        { "jpeg signature alone", [0xFF, 0xD8] },
    };

    [Theory]
    [MemberData(nameof(UnsupportedInputs))]
    public async Task Input_that_is_not_an_accepted_image_is_refused_as_unsupported_naming_the_accepted_types(string kind, byte[] input)
    {
        var rejection = await Sanitize.RejectionAsync(input);

        Assert.True(rejection.Reason == ImageRejection.UnsupportedType, kind);
        Assert.Contains(ImageFormats.AcceptedTypesText, rejection.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Heif_from_the_corpus_is_refused_as_unsupported()
    {
        var rejection = await Sanitize.RejectionAsync(Corpus.Read("heic_samplefilehub.heif"));

        Assert.Equal(ImageRejection.UnsupportedType, rejection.Reason);
        Assert.Contains("image/jpeg", rejection.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_cancelled_token_stops_the_sanitizer()
    {
        using var source = new MemoryStream(Corpus.Read("jpg_gps_DSCN0010.jpg"));
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            new ContainerImageSanitizer().SanitizeAsync(source, Stream.Null, ImageLimits.Default, cancellation.Token));
    }
}
