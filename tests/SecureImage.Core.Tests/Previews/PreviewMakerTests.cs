using SecureImage.Core.Catalog;
using SecureImage.Core.Crypto;
using SecureImage.Core.Imaging;
using SecureImage.Core.Ingestion;
using SecureImage.Core.Previews;
using SecureImage.Core.Tests.Imaging;
using SecureImage.Core.Tests.TestSupport;
using SecureImage.Storage.Sqlite;

namespace SecureImage.Core.Tests.Previews;

public sealed class PreviewMakerTests : PreviewCatalogTest
{
    [Fact]
    public async Task Concurrent_requests_for_one_image_decode_and_store_one_preview()
    {
        var image = await IngestAsync(Corpus.Read("jpg_gps_DSCN0010.jpg"));
        var maker = NewMaker();

        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => maker.EnsureAsync(image.Id, CancellationToken.None))));

        Assert.All(results, result => Assert.Equal(PreviewState.Ready, result!.PreviewState));
        Assert.Equal(2, Blobs.UploadsStarted.Count);
        Assert.Equal(2, Blobs.Blobs.Count);
        Assert.Single(results.Select(result => result!.Preview!.BlobName).Distinct());
    }

    [Fact]
    public async Task The_preview_envelope_and_key_are_bound_to_the_preview_id_not_the_image_id()
    {
        var image = await IngestAsync(Corpus.Read("jpg_Canon_40D.jpg"));

        var preview = (await NewMaker().EnsureAsync(image.Id, CancellationToken.None))!.Preview!;

        Assert.NotEqual(image.Id, preview.Id);
        await Assert.ThrowsAsync<KeyUnwrapException>(() => Kek.UnwrapKeyAsync(preview.WrappedKey!, image.Id, CancellationToken.None));
        var dataKey = await Kek.UnwrapKeyAsync(preview.WrappedKey!, preview.Id, CancellationToken.None);
        using var plaintext = new MemoryStream();
        await using (var decrypting = new EnvelopeDecryptingStream(new MemoryStream(Blobs.Blobs[preview.BlobName]), dataKey, preview.Id))
        {
            await decrypting.CopyToAsync(plaintext);
        }

        Assert.Equal(preview.Bytes, plaintext.Length);
        Assert.True(plaintext.ToArray().AsSpan().StartsWith(new byte[] { 0xFF, 0xD8 }));
    }

    [Fact]
    public async Task An_image_whose_pixels_do_not_decode_is_marked_unavailable_once_and_keeps_its_original()
    {
        var png = RealImages.Png(SixLabors.ImageSharp.Formats.Png.PngColorType.Rgb, width: 64, height: 48);
        var idat = RealImages.PngChunks(png).First(chunk => chunk.Type == "IDAT");
        png[idat.Start + 8] = 0x7F; // zlib compression method 15 (reserved); header check bits made to hold
        png[idat.Start + 9] = (byte)(31 - ((0x7F << 8) % 31));
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(
            png.AsSpan(idat.Start + idat.Length - 4), Crc32.Finish(Crc32.Update(Crc32.Initial, png.AsSpan(idat.Start + 4, idat.Length - 8))));
        var image = await IngestAsync(png);
        var maker = NewMaker();

        var first = await maker.EnsureAsync(image.Id, CancellationToken.None);
        var second = await maker.EnsureAsync(image.Id, CancellationToken.None);

        Assert.Equal((PreviewState.Unavailable, PreviewState.Unavailable), (first!.PreviewState, second!.PreviewState));
        Assert.Null(second.Preview);
        Assert.Equal(image.BlobName, Assert.Single(Blobs.Blobs).Key);
        Assert.NotNull(second.WrappedKey);
    }

    [Fact]
    public async Task An_image_committed_to_erasure_gets_no_preview()
    {
        var image = await IngestAsync(Corpus.Read("jpg_Canon_40D.jpg"));
        await Catalog.RequestEraseAsync(image.Id, "deleted-by-bot", "bot:bot-a", Now, CancellationToken.None);

        var result = await NewMaker().EnsureAsync(image.Id, CancellationToken.None);

        Assert.Null(result!.PreviewState);
        Assert.Single(Blobs.Blobs);
    }

    [Fact]
    public async Task However_many_previews_are_asked_for_at_once_only_as_many_originals_as_decode_slots_are_decrypted_at_a_time()
    {
        var images = new List<ImageRecord>();
        for (var index = 0; index < 8; index++)
        {
            images.Add(await IngestAsync(Corpus.Read("jpg_gps_DSCN0010.jpg")));
        }

        // Each original's read takes a while, so reads that are allowed to overlap do.
        var slowBlobs = new InMemoryBlobStore { DownloadDelay = TimeSpan.FromMilliseconds(100) };
        foreach (var (name, bytes) in Blobs.Blobs)
        {
            using var copy = new MemoryStream(bytes);
            await slowBlobs.UploadAsync(name, copy, CancellationToken.None);
        }

        var maker = new PreviewMaker(Catalog, slowBlobs, Kek, new PreviewRenderer(PreviewRendererOptions.Default with { MaxConcurrentDecodes = 2 }, TimeProvider.System), new FakeTimeProvider(Now), TimeSpan.FromMinutes(10));

        var results = await Task.WhenAll(images.Select(image => Task.Run(() => maker.EnsureAsync(image.Id, CancellationToken.None))));

        Assert.All(results, result => Assert.Equal(PreviewState.Ready, result!.PreviewState));
        Assert.InRange(slowBlobs.MostDownloadsOpen, 1, 2);
    }

    private PreviewMaker NewMaker() =>
        new(Catalog, Blobs, Kek, new PreviewRenderer(PreviewRendererOptions.Default, TimeProvider.System), new FakeTimeProvider(Now), TimeSpan.FromMinutes(10));
}
