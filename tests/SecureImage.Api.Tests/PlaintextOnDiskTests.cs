using SecureImage.Api.Tests.TestSupport;

namespace SecureImage.Api.Tests;

public sealed class PlaintextOnDiskTests : IDisposable
{
    private readonly SecureImageFactory _factory = new();

    public void Dispose() => _factory.Dispose();

    [Fact]
    public async Task After_uploads_no_file_in_the_data_folder_or_temp_holds_plaintext_image_bytes()
    {
        var client = _factory.CreateBotClient();
        var consentId = await client.CreateConsentAsync();
        var images = new[] { "jpg_gps_DSCN0010.jpg", "jpg_Canon_40D.jpg", "png_text_gps_xmp.png" };
        var needles = new List<byte[]>();
        foreach (var name in images)
        {
            var original = Corpus.Read(name);
            await client.UploadOkAsync(consentId, original);
            needles.AddRange(Samples(original));
            needles.AddRange(Samples(await Corpus.SanitizedAsync(original)));
        }

        var files = Directory.EnumerateFiles(_factory.DataDirectory, "*", SearchOption.AllDirectories).ToList();
        Assert.Contains(files, f => f.Contains("blobs", StringComparison.Ordinal));
        foreach (var file in files)
        {
            var bytes = await File.ReadAllBytesAsync(file);
            foreach (var needle in needles)
            {
                Assert.True(bytes.AsSpan().IndexOf(needle) < 0, $"{Path.GetFileName(file)} holds plaintext image bytes");
            }
        }

        // Nothing in the temp folder either (multipart buffering would put it there).
        foreach (var file in Directory.EnumerateFiles(Path.GetTempPath(), "ASPNETCORE_*", SearchOption.TopDirectoryOnly))
        {
            var bytes = await File.ReadAllBytesAsync(file);
            Assert.All(needles, needle => Assert.True(bytes.AsSpan().IndexOf(needle) < 0));
        }
    }

    /// <summary>32-byte windows every 2 KiB of the image body (past any header that other files might share).</summary>
    private static IEnumerable<byte[]> Samples(byte[] image)
    {
        for (var offset = Math.Min(1024, image.Length / 2); offset + 32 <= image.Length; offset += 2048)
        {
            yield return image.AsSpan(offset, 32).ToArray();
        }
    }
}
