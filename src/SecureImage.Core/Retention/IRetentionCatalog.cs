using SecureImage.Core.Catalog;

namespace SecureImage.Core.Retention;

/// <summary>
/// What the retention jobs and legal holds need from the catalog, kept apart from the request-path
/// port so each side stays small. Implemented by the same adapter as <see cref="IImageCatalog"/>.
/// </summary>
public interface IRetentionCatalog
{
    /// <summary>
    /// Claims up to <paramref name="batchSize"/> images that are expired, not erased and not held,
    /// oldest expiry first, for <paramref name="lease"/>: another sweeper skips them until the lease
    /// ends (then a failed erase is retried). The claim commits them to erasure (pending reason
    /// <c>retention</c> unless one is set already), so no hold can be placed on them afterwards, whatever
    /// the clock of the instance asking. On PostgreSQL the claim uses FOR UPDATE SKIP LOCKED.
    /// </summary>
    Task<IReadOnlyList<ImageToErase>> ClaimExpiredAsync(DateTimeOffset now, int batchSize, TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>
    /// Marks a batch of images erased (wrapped key shredded, reason, one <see cref="AuditKinds.ImageErased"/>
    /// event each) in one transaction. Images already erased are skipped. Returns how many this call erased.
    /// </summary>
    Task<int> MarkErasedAsync(IReadOnlyList<ErasedImage> images, string actor, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>The expiry of the oldest image that is expired, not erased and not held; null when none is overdue.</summary>
    Task<DateTimeOffset?> OldestOverdueExpiryAsync(DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Hides an image at once and keeps it from the sweep (legal hold), in one step that also checks the
    /// image may still be held: not erased, not committed to erasure, not expired at <paramref name="at"/>.
    /// </summary>
    Task<HoldOutcome> PlaceHoldAsync(Guid imageId, string actor, string reasonCode, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>Releases a hold; the image's own expiry applies again. False if the image is not held.</summary>
    Task<bool> ReleaseHoldAsync(Guid imageId, string actor, string reason, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>Of <paramref name="blobNames"/>, those that belong to an image not yet erased.</summary>
    Task<IReadOnlySet<string>> FindLiveBlobNamesAsync(IReadOnlyCollection<string> blobNames, CancellationToken cancellationToken);

    Task RecordJobRunAsync(JobRun run, CancellationToken cancellationToken);

    /// <summary>Deletes job runs that started before <paramref name="startedBefore"/>; returns how many.</summary>
    Task<int> PurgeJobRunsAsync(DateTimeOffset startedBefore, CancellationToken cancellationToken);

    /// <summary>The most recent runs of every job, newest first.</summary>
    Task<IReadOnlyList<JobRun>> GetRecentJobRunsAsync(int count, CancellationToken cancellationToken);
}

/// <summary>What placing a legal hold found.</summary>
public enum HoldOutcome
{
    NotFound,

    /// <summary>This call placed the hold.</summary>
    Held,

    /// <summary>The image was on hold already; nothing changed.</summary>
    AlreadyHeld,

    /// <summary>Erased, expired or committed to erasure: nothing left to hold.</summary>
    Gone,
}

/// <summary>The one rule both catalogs apply, to a row they have locked, when a hold is asked for.</summary>
public static class LegalHold
{
    public static HoldOutcome Decide(ImageState state, bool erasePending, DateTimeOffset expiresAt, DateTimeOffset at) => state switch
    {
        ImageState.Erased => HoldOutcome.Gone,
        ImageState.Held => HoldOutcome.AlreadyHeld,
        _ when erasePending || RetentionPolicy.IsExpired(expiresAt, at) => HoldOutcome.Gone,
        _ => HoldOutcome.Held,
    };
}

/// <summary>An image whose blob is gone and which is now to be marked erased for <paramref name="Reason"/>.</summary>
public sealed record ErasedImage(Guid ImageId, string Reason);

/// <summary>One run of a background job, for the dashboard and for proving erasure happened.</summary>
public sealed record JobRun(
    string Job,
    string Instance,
    DateTimeOffset StartedAt,
    DateTimeOffset FinishedAt,
    int Processed,
    int Failed,
    TimeSpan? Lag,
    string? ErrorCode);

public static class JobNames
{
    public const string RetentionSweep = "retention-sweep";
    public const string OrphanReconciliation = "orphan-reconciliation";
    public const string JobRunPurge = "job-run-purge";

    /// <summary>The background preview pass: a recurring job that each upload also triggers, one run at a time like the sweep.</summary>
    public const string PreviewPass = "preview-pass";
}

public static class HoldAuditKinds
{
    public const string ImageHeld = "image.held";
    public const string HoldReleased = "image.hold-released";
}
