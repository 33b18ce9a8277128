using System.Security.Cryptography;
using SecureImage.Core.Blobs;
using SecureImage.Core.Catalog;
using SecureImage.Core.Crypto;
using SecureImage.Core.Imaging;
using SecureImage.Core.Ingestion;
using SecureImage.Core.Tests.TestSupport;
using SecureImage.Storage.Sqlite;
using ControlledClock = Microsoft.Extensions.Time.Testing.FakeTimeProvider;

namespace SecureImage.Core.Tests.Ingestion;

public sealed class ImageIngestionTests : IAsyncLifetime, IDisposable
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeMilliseconds(1_760_000_000_123);
    private readonly TemporaryDirectory _directory = new();
    private readonly InMemoryBlobStore _blobs = new();
    private readonly LocalKeyEncryptionKey _kek = new(TestKeys.Ring("kek-1"));
    private readonly SqliteImageCatalog _catalog;
    private readonly ConsentRecord _consent = new(
        Guid.NewGuid(), "bot-a", new string('5', 64), "image-transfer", "2025-01", ConsentSources.Api, Now.AddMinutes(-5), WithdrawnAt: null);

    public ImageIngestionTests() =>
        _catalog = new SqliteImageCatalog(new SqliteCatalogOptions { ConnectionString = $"Data Source={_directory.File("catalog.db")}" });

    public async Task InitializeAsync()
    {
        await _catalog.MigrateAsync(CancellationToken.None);
        await _catalog.AddConsentAsync(_consent, CancellationToken.None);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Stored_and_committed_image_decrypts_back_to_its_input()
    {
        var input = RandomNumberGenerator.GetBytes(300_001);

        var stored = await Ingestion().StoreAsync(new MemoryStream(input), CancellationToken.None);
        var committed = await Ingestion().CommitAsync(stored, _consent, CancellationToken.None);

        var found = await _catalog.FindImageAsync(stored.ImageId, CancellationToken.None);
        Assert.NotNull(found);
        Assert.Equal(stored.ImageId, committed.Id);
        Assert.Equal((_consent.BotId, _consent.SubjectHash, _consent.Id), (found.BotId, found.SubjectHash, found.ConsentId));
        Assert.Equal(("image/png", input.Length, CopyingSanitizer.Width, CopyingSanitizer.Height), (found.ContentType, found.Bytes, found.Width, found.Height));
        Assert.Equal((Now, Now + TimeSpan.FromDays(3), ImageState.Active), (found.CreatedAt, found.ExpiresAt, found.State));
        Assert.Equal(stored.BlobName, found.BlobName);
        Assert.Equal([stored.BlobName], _blobs.Blobs.Keys);
        Assert.Equal(input, await DecryptBlobAsync(found));
    }

    [Fact]
    public async Task The_length_a_source_declares_reaches_the_blob_store_as_its_hint_and_an_undeclared_one_as_none()
    {
        var input = RandomNumberGenerator.GetBytes(3000);

        var declared = await Ingestion().StoreAsync(new MemoryStream(input), 16L * 1024 * 1024, CancellationToken.None);
        var undeclared = await Ingestion().StoreAsync(new MemoryStream(input), CancellationToken.None);

        Assert.Equal([16L * 1024 * 1024, null], _blobs.DeclaredLengths);
        Assert.Equal([declared.BlobName, undeclared.BlobName], _blobs.UploadsStarted);
    }

    [Fact]
    public async Task Committed_image_has_its_upload_in_the_audit_log()
    {
        var stored = await Ingestion().StoreAsync(new MemoryStream(RandomNumberGenerator.GetBytes(100)), CancellationToken.None);
        await Ingestion().CommitAsync(stored, _consent, CancellationToken.None);

        var history = await _catalog.GetHistoryAsync(stored.ImageId, CancellationToken.None);

        Assert.Equal([AuditKinds.ImageUploaded], history.Select(e => e.Kind));
    }

    [Fact]
    public async Task Blob_holds_no_plaintext_of_the_image()
    {
        var input = RandomNumberGenerator.GetBytes(256 * 1024);

        var stored = await Ingestion().StoreAsync(new MemoryStream(input), CancellationToken.None);

        var blob = _blobs.Blobs[stored.BlobName];
        var found = new List<int>();
        for (var offset = 0; offset + 32 <= input.Length; offset += 509)
        {
            if (blob.AsSpan().IndexOf(input.AsSpan(offset, 32)) >= 0)
            {
                found.Add(offset);
            }
        }

        Assert.Empty(found);
    }

    [Fact]
    public async Task Blob_name_links_to_nothing_about_the_image()
    {
        var stored = await Ingestion().StoreAsync(new MemoryStream(RandomNumberGenerator.GetBytes(100)), CancellationToken.None);

        Assert.Matches("^[0-9a-f]{32}$", stored.BlobName);
        Assert.NotEqual(stored.ImageId.ToString("N"), stored.BlobName);
    }

    [Fact]
    public async Task Sanitizer_rejection_leaves_no_blob_behind()
    {
        var ingestion = Ingestion(new CopyingSanitizer { RejectAfterBytes = 200_000 });

        await Assert.ThrowsAsync<ImageRejectedException>(() => ingestion.StoreAsync(new MemoryStream(RandomNumberGenerator.GetBytes(500_000)), CancellationToken.None));

        Assert.Single(_blobs.UploadsStarted);
        Assert.Empty(_blobs.Blobs);
    }

    [Fact]
    public async Task Blob_store_failing_mid_upload_surfaces_its_own_failure_and_leaves_no_blob()
    {
        var failing = new InMemoryBlobStore { FailAfterBytes = 100_000 };
        var ingestion = Ingestion(blobs: failing);

        var failure = await Assert.ThrowsAsync<BlobStoreUnavailableException>(
            () => ingestion.StoreAsync(new GeneratedStream(4 * 1024 * 1024), CancellationToken.None));

        Assert.Equal("ServerBusy", failure.ErrorCode);
        Assert.Single(failing.UploadsStarted);
        Assert.Empty(failing.Blobs);
    }

    [Fact]
    public async Task Caller_cancelling_the_upload_leaves_no_blob()
    {
        using var cancellation = new CancellationTokenSource();
        // Like a client hanging up mid-body.
        var source = new CountingStream(new GeneratedStream(4 * 1024 * 1024), async read =>
        {
            if (read > 150_000)
            {
                await cancellation.CancelAsync();
            }
        });

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Ingestion().StoreAsync(source, cancellation.Token));

        Assert.Single(_blobs.UploadsStarted);
        Assert.Empty(_blobs.Blobs);
    }

    [Fact]
    public async Task Consent_withdrawn_before_commit_refuses_the_image_and_deletes_its_blob()
    {
        var stored = await Ingestion().StoreAsync(new MemoryStream(RandomNumberGenerator.GetBytes(1000)), CancellationToken.None);
        Assert.Single(_blobs.Blobs);

        await _catalog.WithdrawConsentAsync(_consent.Id, "bot:bot-a", Now, CancellationToken.None);

        // The caller still holds the consent as it was when the upload began.
        await Assert.ThrowsAsync<ConsentNotInForceException>(() => Ingestion().CommitAsync(stored, _consent, CancellationToken.None));
        Assert.Empty(_blobs.Blobs);
        Assert.Null(await _catalog.FindImageAsync(stored.ImageId, CancellationToken.None));
    }

    [Fact]
    public async Task Consent_known_to_be_withdrawn_refuses_the_image_and_deletes_its_blob()
    {
        var stored = await Ingestion().StoreAsync(new MemoryStream(RandomNumberGenerator.GetBytes(1000)), CancellationToken.None);

        await Assert.ThrowsAsync<ConsentNotInForceException>(
            () => Ingestion().CommitAsync(stored, _consent with { WithdrawnAt = Now }, CancellationToken.None));

        Assert.Empty(_blobs.Blobs);
        Assert.Null(await _catalog.FindImageAsync(stored.ImageId, CancellationToken.None));
    }

    [Fact]
    public async Task A_commit_the_catalog_may_have_made_keeps_the_blob_its_row_points_at()
    {
        var input = RandomNumberGenerator.GetBytes(5000);
        var stored = await Ingestion().StoreAsync(new MemoryStream(input), CancellationToken.None);
        var lostReply = CatalogLosingCommitReplies.Around(_catalog, commits: true, mayHaveCommitted: true);

        await Assert.ThrowsAsync<CatalogUnavailableException>(() => Ingestion(catalog: lostReply).CommitAsync(stored, _consent, CancellationToken.None));

        var found = await _catalog.FindImageAsync(stored.ImageId, CancellationToken.None);
        Assert.NotNull(found);
        Assert.Equal(input, await DecryptBlobAsync(found));
    }

    [Fact]
    public async Task A_commit_the_catalog_reports_as_not_made_deletes_the_blob()
    {
        var stored = await Ingestion().StoreAsync(new MemoryStream(RandomNumberGenerator.GetBytes(5000)), CancellationToken.None);
        var failing = CatalogLosingCommitReplies.Around(_catalog, commits: false, mayHaveCommitted: false);

        await Assert.ThrowsAsync<CatalogUnavailableException>(() => Ingestion(catalog: failing).CommitAsync(stored, _consent, CancellationToken.None));

        Assert.Empty(_blobs.Blobs);
        Assert.Null(await _catalog.FindImageAsync(stored.ImageId, CancellationToken.None));
    }

    [Fact]
    public async Task Discarded_image_leaves_no_blob()
    {
        var stored = await Ingestion().StoreAsync(new MemoryStream(RandomNumberGenerator.GetBytes(1000)), CancellationToken.None);

        await Ingestion().DiscardAsync(stored);

        Assert.Empty(_blobs.Blobs);
    }

    [Fact]
    public async Task An_upload_that_stops_arriving_ends_at_the_upload_timeout_and_leaves_no_blob()
    {
        var clock = new ControlledClock(Now);
        var ingestion = new ImageIngestion(new CopyingSanitizer(), _blobs, _kek, _catalog, clock, new ImageIngestionOptions { UploadTimeout = TimeSpan.FromMinutes(10) });

        var storing = ingestion.StoreAsync(new StallingStream(RandomNumberGenerator.GetBytes(200_000)), CancellationToken.None);
        await Task.Delay(100);
        clock.Advance(TimeSpan.FromMinutes(10) - TimeSpan.FromMilliseconds(1));
        await Task.Delay(100);
        Assert.False(storing.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(1));

        await Assert.ThrowsAsync<UploadTimedOutException>(() => storing.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Empty(_blobs.Blobs);
    }

    [Fact]
    public async Task A_commit_later_than_the_upload_timeout_after_the_upload_began_is_refused_and_its_blob_deleted()
    {
        // Reconciliation takes blobs older than its grace period (validated to exceed the upload timeout) for orphans:
        // a commit after the timeout could point a row at a blob it has already deleted.
        var clock = new ControlledClock(Now);
        var ingestion = new ImageIngestion(new CopyingSanitizer(), _blobs, _kek, _catalog, clock, new ImageIngestionOptions { UploadTimeout = TimeSpan.FromMinutes(10) });
        var stored = await ingestion.StoreAsync(new MemoryStream(RandomNumberGenerator.GetBytes(1000)), CancellationToken.None);

        clock.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromMilliseconds(1));

        await Assert.ThrowsAsync<UploadTimedOutException>(() => ingestion.CommitAsync(stored, _consent, CancellationToken.None));
        Assert.Null(await _catalog.FindImageAsync(stored.ImageId, CancellationToken.None));
        Assert.Empty(_blobs.Blobs);
    }

    private ImageIngestion Ingestion(IImageSanitizer? sanitizer = null, IBlobStore? blobs = null, IImageCatalog? catalog = null) =>
        new(sanitizer ?? new CopyingSanitizer(), blobs ?? _blobs, _kek, catalog ?? _catalog, new FakeTimeProvider(Now), new ImageIngestionOptions());

    private async Task<byte[]> DecryptBlobAsync(ImageRecord image)
    {
        var dataKey = await _kek.UnwrapKeyAsync(image.WrappedKey!, image.Id, CancellationToken.None);
        return await Envelopes.DecryptAsync(_blobs.Blobs[image.BlobName], dataKey, image.Id);
    }
}
