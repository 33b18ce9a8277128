using System.Security.Cryptography;
using SecureImage.Core.Blobs;
using SecureImage.Core.Catalog;
using SecureImage.Core.Crypto;
using SecureImage.Core.Retention;

namespace SecureImage.Storage.Tests.Retention;

/// <summary>
/// The retention sweep, holds and orphan reconciliation against real adapters. A subclass per
/// catalog/blob-store pair supplies fresh, empty stores for each test.
/// </summary>
public abstract class RetentionContractTests
{
    private static readonly DateTimeOffset Start = DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000);

    protected ManualClock Clock { get; } = new(Start);

    /// <summary>A fresh, migrated catalog; the adapter implements both ports.</summary>
    protected abstract Task<IImageCatalog> CreateMigratedCatalogAsync();

    /// <summary>A fresh, empty blob store (container created).</summary>
    protected abstract Task<IBlobStore> CreateBlobStoreAsync();

    [Fact]
    public async Task The_sweep_erases_exactly_the_expired_images_that_are_not_held()
    {
        var (catalog, blobs) = await StoresAsync();
        var consent = await AddConsentAsync(catalog);
        var expired1 = await SeedImageAsync(catalog, blobs, consent, expiresIn: TimeSpan.FromMinutes(-10));
        var expired2 = await SeedImageAsync(catalog, blobs, consent, expiresIn: TimeSpan.FromMilliseconds(-1));
        var heldExpired = await SeedImageAsync(catalog, blobs, consent, expiresIn: TimeSpan.FromMinutes(-5));
        var live1 = await SeedImageAsync(catalog, blobs, consent, expiresIn: TimeSpan.FromMilliseconds(1));
        var live2 = await SeedImageAsync(catalog, blobs, consent, expiresIn: TimeSpan.FromDays(3));
        Assert.Equal(HoldOutcome.Held, await Retention(catalog).PlaceHoldAsync(heldExpired.Id, "bot:bot-a", "privacy", Clock.GetUtcNow() - TimeSpan.FromMinutes(10), CancellationToken.None));

        var result = await Sweeper(catalog, blobs).SweepAsync(CancellationToken.None);

        Assert.Equal((2, 0), (result.Erased, result.Failed));
        foreach (var image in new[] { expired1, expired2 })
        {
            var row = await catalog.FindImageAsync(image.Id, CancellationToken.None);
            Assert.Equal(ImageState.Erased, row!.State);
            Assert.Null(row.WrappedKey);
            Assert.Equal(EraseReasons.Retention, row.EraseReason);
            Assert.Equal(Clock.GetUtcNow(), row.ErasedAt);
            Assert.False(await BlobExistsAsync(blobs, image.BlobName));
            Assert.Single(await catalog.GetHistoryAsync(image.Id, CancellationToken.None), e => e.Kind == AuditKinds.ImageErased);
        }

        foreach (var image in new[] { heldExpired, live1, live2 })
        {
            var row = await catalog.FindImageAsync(image.Id, CancellationToken.None);
            Assert.NotEqual(ImageState.Erased, row!.State);
            Assert.NotNull(row.WrappedKey);
            Assert.True(await BlobExistsAsync(blobs, image.BlobName));
        }
    }

    [Fact]
    public async Task Sweeping_twice_erases_nothing_more_and_audits_each_image_once()
    {
        var (catalog, blobs) = await StoresAsync();
        var consent = await AddConsentAsync(catalog);
        var images = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => SeedImageAsync(catalog, blobs, consent, TimeSpan.FromSeconds(-1))));

        Assert.Equal(5, (await Sweeper(catalog, blobs).SweepAsync(CancellationToken.None)).Erased);
        Clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(0, (await Sweeper(catalog, blobs).SweepAsync(CancellationToken.None)).Erased);

        foreach (var image in images)
        {
            Assert.Single(await catalog.GetHistoryAsync(image.Id, CancellationToken.None), e => e.Kind == AuditKinds.ImageErased);
        }
    }

    [Fact]
    public async Task A_sweep_interrupted_between_blob_delete_and_catalog_update_completes_on_the_next_run_with_one_audit_event()
    {
        var (catalog, blobs) = await StoresAsync();
        var consent = await AddConsentAsync(catalog);
        var image = await SeedImageAsync(catalog, blobs, consent, TimeSpan.FromSeconds(-1));
        var crashing = new CrashBeforeMarkingErased(Retention(catalog));

        await Assert.ThrowsAsync<CatalogUnavailableException>(() => new RetentionSweeper(crashing, blobs, Clock, SweepOptions()).SweepAsync(CancellationToken.None));
        Assert.False(await BlobExistsAsync(blobs, image.BlobName));
        Assert.Equal(ImageState.Active, (await catalog.FindImageAsync(image.Id, CancellationToken.None))!.State);

        // The claim lease has to lapse before another sweep takes the image again.
        Clock.Advance(SweepOptions().ClaimLease + TimeSpan.FromSeconds(1));
        var result = await Sweeper(catalog, blobs).SweepAsync(CancellationToken.None);

        Assert.Equal(1, result.Erased);
        Assert.Equal(ImageState.Erased, (await catalog.FindImageAsync(image.Id, CancellationToken.None))!.State);
        Assert.Single(await catalog.GetHistoryAsync(image.Id, CancellationToken.None), e => e.Kind == AuditKinds.ImageErased);
    }

    [Fact]
    public async Task A_failing_blob_does_not_block_the_rest_of_the_batch_and_is_retried_after_its_lease()
    {
        var (catalog, blobs) = await StoresAsync();
        var consent = await AddConsentAsync(catalog);
        var images = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => SeedImageAsync(catalog, blobs, consent, TimeSpan.FromSeconds(-1))));
        var failing = new FailingDeletes(blobs, images[1].BlobName);

        var first = await new RetentionSweeper(Retention(catalog), failing, Clock, SweepOptions()).SweepAsync(CancellationToken.None);

        Assert.Equal((3, 1, "ServerBusy"), (first.Erased, first.Failed, first.FirstErrorCode));
        Assert.Equal(ImageState.Active, (await catalog.FindImageAsync(images[1].Id, CancellationToken.None))!.State);
        Assert.True(first.Lag > TimeSpan.Zero);

        failing.Heal();
        Assert.Equal(0, (await new RetentionSweeper(Retention(catalog), failing, Clock, SweepOptions()).SweepAsync(CancellationToken.None)).Erased);
        Clock.Advance(SweepOptions().ClaimLease + TimeSpan.FromSeconds(1));
        var retried = await new RetentionSweeper(Retention(catalog), failing, Clock, SweepOptions()).SweepAsync(CancellationToken.None);

        Assert.Equal((1, 0, TimeSpan.Zero), (retried.Erased, retried.Failed, retried.Lag));
        Assert.False(await BlobExistsAsync(blobs, images[1].BlobName));
    }

    [Fact]
    public async Task Sweeps_in_batches_until_every_expired_image_is_erased()
    {
        var (catalog, blobs) = await StoresAsync();
        var consent = await AddConsentAsync(catalog);
        var images = await Task.WhenAll(Enumerable.Range(0, 23).Select(_ => SeedImageAsync(catalog, blobs, consent, TimeSpan.FromSeconds(-1))));

        var result = await new RetentionSweeper(Retention(catalog), blobs, Clock, SweepOptions(batchSize: 5)).SweepAsync(CancellationToken.None);

        Assert.Equal(23, result.Erased);
        Assert.Null(await Retention(catalog).OldestOverdueExpiryAsync(Clock.GetUtcNow(), CancellationToken.None));
    }

    [Fact]
    public async Task Concurrent_sweepers_erase_each_image_exactly_once()
    {
        var (catalog, blobs) = await StoresAsync();
        var consent = await AddConsentAsync(catalog);
        var images = await Task.WhenAll(Enumerable.Range(0, 60).Select(_ => SeedImageAsync(catalog, blobs, consent, TimeSpan.FromSeconds(-1))));

        var results = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ =>
            Task.Run(() => new RetentionSweeper(Retention(catalog), blobs, Clock, SweepOptions(batchSize: 7)).SweepAsync(CancellationToken.None))));

        Assert.Equal(60, results.Sum(r => r.Erased));
        foreach (var image in images)
        {
            Assert.Single(await catalog.GetHistoryAsync(image.Id, CancellationToken.None), e => e.Kind == AuditKinds.ImageErased);
        }
    }

    [Fact]
    public async Task A_withdrawn_consent_s_images_are_swept_with_the_withdrawal_as_reason_and_counted_per_reason()
    {
        var (catalog, blobs) = await StoresAsync();
        var consent = await AddConsentAsync(catalog);
        var image = await SeedImageAsync(catalog, blobs, consent, TimeSpan.FromDays(3));
        var expired = await SeedImageAsync(catalog, blobs, await AddConsentAsync(catalog), TimeSpan.FromMinutes(-1));
        await catalog.WithdrawConsentAsync(consent.Id, "bot:bot-a", Clock.GetUtcNow(), CancellationToken.None);

        Clock.Advance(TimeSpan.FromMilliseconds(1));
        var result = await Sweeper(catalog, blobs).SweepAsync(CancellationToken.None);

        Assert.Equal(EraseReasons.ConsentWithdrawn, (await catalog.FindImageAsync(image.Id, CancellationToken.None))!.EraseReason);
        Assert.Equal(EraseReasons.Retention, (await catalog.FindImageAsync(expired.Id, CancellationToken.None))!.EraseReason);
        Assert.Equal(2, result.Erased);
        Assert.Equal(
            new Dictionary<string, int> { [EraseReasons.ConsentWithdrawn] = 1, [EraseReasons.Retention] = 1 }.OrderBy(p => p.Key),
            result.ErasedByReason.OrderBy(p => p.Key));
    }

    [Fact]
    public async Task A_held_image_is_skipped_until_released_then_erased_by_the_next_sweep()
    {
        var (catalog, blobs) = await StoresAsync();
        var consent = await AddConsentAsync(catalog);
        var image = await SeedImageAsync(catalog, blobs, consent, TimeSpan.FromMinutes(30));
        var retention = Retention(catalog);
        Assert.Equal(HoldOutcome.Held, await retention.PlaceHoldAsync(image.Id, "bot:bot-a", "privacy", Clock.GetUtcNow(), CancellationToken.None));
        Assert.Equal(HoldOutcome.AlreadyHeld, await retention.PlaceHoldAsync(image.Id, "bot:bot-a", "privacy", Clock.GetUtcNow(), CancellationToken.None));
        Assert.Equal(ImageState.Held, (await catalog.FindImageAsync(image.Id, CancellationToken.None))!.State);

        Clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(0, (await Sweeper(catalog, blobs).SweepAsync(CancellationToken.None)).Erased);
        Assert.Null(await retention.OldestOverdueExpiryAsync(Clock.GetUtcNow(), CancellationToken.None));
        Assert.False(await catalog.MarkErasedAsync(image.Id, EraseReasons.DeletedByBot, "bot:bot-a", Clock.GetUtcNow(), CancellationToken.None));
        Assert.True(await BlobExistsAsync(blobs, image.BlobName));

        Assert.True(await retention.ReleaseHoldAsync(image.Id, "admin:officer", "reviewed, no issue", Clock.GetUtcNow(), CancellationToken.None));
        Assert.False(await retention.ReleaseHoldAsync(image.Id, "admin:officer", "again", Clock.GetUtcNow(), CancellationToken.None));
        Assert.Equal(1, (await Sweeper(catalog, blobs).SweepAsync(CancellationToken.None)).Erased);

        var kinds = (await catalog.GetHistoryAsync(image.Id, CancellationToken.None)).Select(e => e.Kind).ToList();
        Assert.Equal([AuditKinds.ImageUploaded, HoldAuditKinds.ImageHeld, HoldAuditKinds.HoldReleased, AuditKinds.ImageErased], kinds);
    }

    [Fact]
    public async Task A_claimed_image_is_committed_to_erasure_under_the_reason_it_already_had_or_retention()
    {
        var (catalog, blobs) = await StoresAsync();
        var expired = await SeedImageAsync(catalog, blobs, await AddConsentAsync(catalog), TimeSpan.FromSeconds(-1));
        var withdrawn = await AddConsentAsync(catalog);
        var withdrawnImage = await SeedImageAsync(catalog, blobs, withdrawn, TimeSpan.FromDays(1));
        await catalog.WithdrawConsentAsync(withdrawn.Id, "bot:bot-a", Clock.GetUtcNow() - TimeSpan.FromMilliseconds(1), CancellationToken.None);

        var claimed = await Retention(catalog).ClaimExpiredAsync(Clock.GetUtcNow(), 10, TimeSpan.FromMinutes(5), CancellationToken.None);

        Assert.Equal(
            new[] { new ImageToErase(expired.Id, expired.BlobName, EraseReasons.Retention), new ImageToErase(withdrawnImage.Id, withdrawnImage.BlobName, EraseReasons.ConsentWithdrawn) }.OrderBy(i => i.ImageId),
            claimed.OrderBy(i => i.ImageId));
        Assert.Equal(EraseReasons.Retention, (await catalog.FindImageAsync(expired.Id, CancellationToken.None))!.PendingEraseReason);
    }

    [Fact]
    public async Task A_hold_asked_for_while_the_sweep_deletes_the_blob_is_refused_even_with_a_clock_behind_the_sweeps()
    {
        var (catalog, blobs) = await StoresAsync();
        var image = await SeedImageAsync(catalog, blobs, await AddConsentAsync(catalog), TimeSpan.FromSeconds(-1));
        var pausing = new PausingBlobDeletes(blobs);
        var sweep = new RetentionSweeper(Retention(catalog), pausing, Clock, SweepOptions()).SweepAsync(CancellationToken.None);
        await pausing.DeleteStarted.WaitAsync(TimeSpan.FromMinutes(1));

        // By the asking instance's clock, a minute behind, the image has not expired yet.
        var hold = await Retention(catalog).PlaceHoldAsync(image.Id, "bot:bot-a", "privacy", Clock.GetUtcNow() - TimeSpan.FromMinutes(1), CancellationToken.None);
        pausing.Resume();
        var result = await sweep;

        Assert.Equal((HoldOutcome.Gone, 1), (hold, result.Erased));
        Assert.Equal(ImageState.Erased, (await catalog.FindImageAsync(image.Id, CancellationToken.None))!.State);
        Assert.False(await BlobExistsAsync(blobs, image.BlobName));
    }

    [Fact]
    public async Task A_hold_racing_the_sweep_either_keeps_the_image_from_it_or_is_refused()
    {
        var (catalog, blobs) = await StoresAsync();
        var consent = await AddConsentAsync(catalog);
        for (var round = 0; round < 30; round++)
        {
            var image = await SeedImageAsync(catalog, blobs, consent, TimeSpan.FromSeconds(-1));
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var hold = Task.Run(async () =>
            {
                await start.Task;
                return await Retention(catalog).PlaceHoldAsync(image.Id, "bot:bot-a", "privacy", Clock.GetUtcNow() - TimeSpan.FromMinutes(1), CancellationToken.None);
            });
            var sweep = Task.Run(async () =>
            {
                await start.Task;
                return await Sweeper(catalog, blobs).SweepAsync(CancellationToken.None);
            });
            start.SetResult();
            var (outcome, result) = (await hold, await sweep);

            var state = (await catalog.FindImageAsync(image.Id, CancellationToken.None))!.State;
            var blobPresent = await BlobExistsAsync(blobs, image.BlobName);
            Assert.True(
                (outcome, result.Erased, state, blobPresent) is (HoldOutcome.Held, 0, ImageState.Held, true) or (HoldOutcome.Gone, 1, ImageState.Erased, false),
                $"round {round}: hold {outcome}, sweep erased {result.Erased}, state {state}, blob {(blobPresent ? "present" : "gone")}");
        }
    }

    [Fact]
    public async Task A_held_image_of_a_withdrawn_consent_keeps_its_blob_until_released_then_is_swept_for_the_withdrawal()
    {
        var (catalog, blobs) = await StoresAsync();
        var consent = await AddConsentAsync(catalog);
        var image = await SeedImageAsync(catalog, blobs, consent, TimeSpan.FromDays(1));
        var retention = Retention(catalog);
        await retention.PlaceHoldAsync(image.Id, "bot:bot-a", "privacy", Clock.GetUtcNow(), CancellationToken.None);
        await catalog.WithdrawConsentAsync(consent.Id, "bot:bot-a", Clock.GetUtcNow(), CancellationToken.None);

        Assert.Equal(0, (await Sweeper(catalog, blobs).SweepAsync(CancellationToken.None)).Erased);
        Assert.True(await BlobExistsAsync(blobs, image.BlobName));

        await retention.ReleaseHoldAsync(image.Id, "admin:officer", "reviewed", Clock.GetUtcNow(), CancellationToken.None);
        var result = await Sweeper(catalog, blobs).SweepAsync(CancellationToken.None);

        Assert.Equal(1, result.ErasedByReason.GetValueOrDefault(EraseReasons.ConsentWithdrawn));
        Assert.False(await BlobExistsAsync(blobs, image.BlobName));
    }

    [Fact]
    public async Task A_released_image_whose_expiry_is_still_ahead_keeps_it()
    {
        var (catalog, blobs) = await StoresAsync();
        var consent = await AddConsentAsync(catalog);
        var image = await SeedImageAsync(catalog, blobs, consent, TimeSpan.FromDays(2));
        var retention = Retention(catalog);
        await retention.PlaceHoldAsync(image.Id, "bot:bot-a", "other", Clock.GetUtcNow(), CancellationToken.None);

        Clock.Advance(TimeSpan.FromDays(1));
        await retention.ReleaseHoldAsync(image.Id, "admin:officer", "reviewed", Clock.GetUtcNow(), CancellationToken.None);

        Assert.Equal(0, (await Sweeper(catalog, blobs).SweepAsync(CancellationToken.None)).Erased);
        var row = await catalog.FindImageAsync(image.Id, CancellationToken.None);
        Assert.Equal((ImageState.Active, image.ExpiresAt), (row!.State, row.ExpiresAt));
    }

    [Fact]
    public async Task An_orphan_blob_is_removed_by_reconciliation_after_the_grace_period_and_not_before()
    {
        var (catalog, blobs) = await StoresAsync();
        var consent = await AddConsentAsync(catalog);
        var live = await SeedImageAsync(catalog, blobs, consent, TimeSpan.FromDays(3));
        var orphan = "0123456789abcdef0123456789abcdef";
        await blobs.UploadAsync(orphan, new MemoryStream(RandomNumberGenerator.GetBytes(64)), CancellationToken.None);

        // Blob stores stamp real time; the clock starts at the real now for this test.
        var realNow = DateTimeOffset.UtcNow;
        Clock.Set(realNow);
        var grace = new OrphanReconciliationOptions { GracePeriod = TimeSpan.FromMinutes(30) };
        var early = await new OrphanReconciler(Retention(catalog), blobs, Clock, grace).ReconcileAsync(CancellationToken.None);
        Assert.Equal(0, early.Deleted);
        Assert.True(await BlobExistsAsync(blobs, orphan));

        Clock.Set(realNow + TimeSpan.FromMinutes(31));
        var late = await new OrphanReconciler(Retention(catalog), blobs, Clock, grace).ReconcileAsync(CancellationToken.None);

        Assert.Equal((2, 1), (late.Examined, late.Deleted));
        Assert.False(await BlobExistsAsync(blobs, orphan));
        Assert.True(await BlobExistsAsync(blobs, live.BlobName));
    }

    [Fact]
    public async Task Job_runs_are_recorded_newest_first()
    {
        var catalog = await CreateMigratedCatalogAsync();
        var retention = Retention(catalog);
        var t = Clock.GetUtcNow();
        await retention.RecordJobRunAsync(new JobRun(JobNames.RetentionSweep, "i1", t, t.AddSeconds(1), 10, 0, TimeSpan.FromSeconds(3), null), CancellationToken.None);
        await retention.RecordJobRunAsync(new JobRun(JobNames.OrphanReconciliation, "i2", t.AddMinutes(1), t.AddMinutes(1).AddSeconds(2), 1, 2, null, "ServerBusy"), CancellationToken.None);

        var runs = await retention.GetRecentJobRunsAsync(10, CancellationToken.None);

        Assert.Equal(2, runs.Count);
        Assert.Equal(new JobRun(JobNames.OrphanReconciliation, "i2", t.AddMinutes(1), t.AddMinutes(1).AddSeconds(2), 1, 2, null, "ServerBusy"), runs[0]);
        Assert.Equal(new JobRun(JobNames.RetentionSweep, "i1", t, t.AddSeconds(1), 10, 0, TimeSpan.FromSeconds(3), null), runs[1]);
    }

    [Fact]
    public async Task Purging_job_runs_deletes_exactly_those_that_started_before_the_cut_off()
    {
        var retention = Retention(await CreateMigratedCatalogAsync());
        var t = Clock.GetUtcNow();
        JobRun Run(DateTimeOffset started) => new(JobNames.RetentionSweep, "i1", started, started.AddSeconds(1), 1, 0, null, null);
        foreach (var started in new[] { t.AddDays(-31), t.AddDays(-30).AddMilliseconds(-1), t.AddDays(-30), t.AddDays(-1) })
        {
            await retention.RecordJobRunAsync(Run(started), CancellationToken.None);
        }

        var purged = await retention.PurgeJobRunsAsync(t.AddDays(-30), CancellationToken.None);

        Assert.Equal(2, purged);
        Assert.Equal([Run(t.AddDays(-1)), Run(t.AddDays(-30))], await retention.GetRecentJobRunsAsync(10, CancellationToken.None));
        Assert.Equal(0, await retention.PurgeJobRunsAsync(t.AddDays(-30), CancellationToken.None));
    }

    protected static IRetentionCatalog Retention(IImageCatalog catalog) => (IRetentionCatalog)catalog;

    protected static RetentionSweepOptions SweepOptions(int batchSize = 50) => new() { BatchSize = batchSize, ClaimLease = TimeSpan.FromMinutes(5), BlobDeleteParallelism = 4 };

    private RetentionSweeper Sweeper(IImageCatalog catalog, IBlobStore blobs) => new(Retention(catalog), blobs, Clock, SweepOptions());

    private async Task<(IImageCatalog, IBlobStore)> StoresAsync() => (await CreateMigratedCatalogAsync(), await CreateBlobStoreAsync());

    private async Task<ConsentRecord> AddConsentAsync(IImageCatalog catalog)
    {
        var consent = new ConsentRecord(Guid.NewGuid(), "bot-a", new string('a', 64), "test", "v1", ConsentSources.Api, Clock.GetUtcNow(), null);
        await catalog.AddConsentAsync(consent, CancellationToken.None);
        return consent;
    }

    private async Task<ImageRecord> SeedImageAsync(IImageCatalog catalog, IBlobStore blobs, ConsentRecord consent, TimeSpan expiresIn)
    {
        var blobName = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        await blobs.UploadAsync(blobName, new MemoryStream(RandomNumberGenerator.GetBytes(128)), CancellationToken.None);
        var now = Clock.GetUtcNow();
        var image = new ImageRecord(
            Guid.NewGuid(), consent.BotId, consent.SubjectHash, consent.Id, "image/jpeg", 128, 4, 4, blobName,
            new WrappedKey("kek1", RandomNumberGenerator.GetBytes(61)), now.AddDays(-3), now + expiresIn, ImageState.Active, null, null, null);
        Assert.True(await catalog.AddImageAsync(image, CancellationToken.None));
        return image;
    }

    private static Task<bool> BlobExistsAsync(IBlobStore blobs, string blobName) => blobs.ExistsAsync(blobName);

    /// <summary>Lets the claim through and then fails as a crash would before the erase commits.</summary>
    private sealed class CrashBeforeMarkingErased(IRetentionCatalog inner) : IRetentionCatalog
    {
        public Task<IReadOnlyList<ImageToErase>> ClaimExpiredAsync(DateTimeOffset now, int batchSize, TimeSpan lease, CancellationToken cancellationToken) => inner.ClaimExpiredAsync(now, batchSize, lease, cancellationToken);

        public Task<int> MarkErasedAsync(IReadOnlyList<ErasedImage> images, string actor, DateTimeOffset at, CancellationToken cancellationToken) => throw new CatalogUnavailableException("crash");

        public Task<DateTimeOffset?> OldestOverdueExpiryAsync(DateTimeOffset now, CancellationToken cancellationToken) => inner.OldestOverdueExpiryAsync(now, cancellationToken);

        public Task<HoldOutcome> PlaceHoldAsync(Guid imageId, string actor, string reasonCode, DateTimeOffset at, CancellationToken cancellationToken) => inner.PlaceHoldAsync(imageId, actor, reasonCode, at, cancellationToken);

        public Task<bool> ReleaseHoldAsync(Guid imageId, string actor, string reason, DateTimeOffset at, CancellationToken cancellationToken) => inner.ReleaseHoldAsync(imageId, actor, reason, at, cancellationToken);

        public Task<IReadOnlySet<string>> FindLiveBlobNamesAsync(IReadOnlyCollection<string> blobNames, CancellationToken cancellationToken) => inner.FindLiveBlobNamesAsync(blobNames, cancellationToken);

        public Task RecordJobRunAsync(JobRun run, CancellationToken cancellationToken) => inner.RecordJobRunAsync(run, cancellationToken);

        public Task<IReadOnlyList<JobRun>> GetRecentJobRunsAsync(int count, CancellationToken cancellationToken) => inner.GetRecentJobRunsAsync(count, cancellationToken);

        public Task<int> PurgeJobRunsAsync(DateTimeOffset startedBefore, CancellationToken cancellationToken) => inner.PurgeJobRunsAsync(startedBefore, cancellationToken);
    }

    /// <summary>Deletes of one blob fail like an outage until healed.</summary>
    private sealed class FailingDeletes(IBlobStore inner, string failingBlob) : IBlobStore
    {
        private volatile bool _healed;

        public void Heal() => _healed = true;

        public Task CreateIfNotExistsAsync(CancellationToken cancellationToken) => inner.CreateIfNotExistsAsync(cancellationToken);

        public Task UploadAsync(string blobName, Stream content, CancellationToken cancellationToken) => inner.UploadAsync(blobName, content, cancellationToken);

        public Task UploadAsync(string blobName, Stream content, long? expectedLength, CancellationToken cancellationToken) => inner.UploadAsync(blobName, content, expectedLength, cancellationToken);

        public Task<Stream> DownloadStreamingAsync(string blobName, CancellationToken cancellationToken) => inner.DownloadStreamingAsync(blobName, cancellationToken);

        public Task<bool> DeleteIfExistsAsync(string blobName, CancellationToken cancellationToken) =>
            !_healed && blobName == failingBlob ? throw new BlobStoreUnavailableException("down", "ServerBusy", 503) : inner.DeleteIfExistsAsync(blobName, cancellationToken);

        public IAsyncEnumerable<BlobItem> GetBlobsAsync(string? prefix, CancellationToken cancellationToken) => inner.GetBlobsAsync(prefix, cancellationToken);

        public Task CheckAvailableAsync(CancellationToken cancellationToken) => inner.CheckAvailableAsync(cancellationToken);
    }
}

/// <summary>A clock the test moves by hand.</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);

    public void Set(DateTimeOffset now) => Interlocked.Exchange(ref _ticks, now.UtcTicks);
}
