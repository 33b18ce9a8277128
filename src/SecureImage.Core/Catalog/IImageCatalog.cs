namespace SecureImage.Core.Catalog;

/// <summary>
/// The catalog of consents, images and the audit log. Every method that changes state writes its
/// audit event in the same transaction, so the log and the state cannot disagree.
/// </summary>
public interface IImageCatalog
{
    /// <summary>Applies pending schema migrations; safe to call from several instances at once.</summary>
    Task MigrateAsync(CancellationToken cancellationToken);

    /// <summary>Records a consent and its <see cref="AuditKinds.ConsentGranted"/> event.</summary>
    Task AddConsentAsync(ConsentRecord consent, CancellationToken cancellationToken);

    Task<ConsentRecord?> FindConsentAsync(Guid consentId, CancellationToken cancellationToken);

    /// <summary>
    /// Marks the consent withdrawn (once; later calls change nothing) and makes every image under it
    /// expire now with the pending reason <c>consent-withdrawn</c>, so no link serves them from this
    /// instant. Returns, from that same step, the images to erase now (those not on legal hold) and the
    /// number that stay until their hold is released; null when the consent does not exist.
    /// </summary>
    Task<ConsentWithdrawal?> WithdrawConsentAsync(Guid consentId, string actor, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>
    /// Commits an image row and its <see cref="AuditKinds.ImageUploaded"/> event, only if its consent
    /// is still in force at commit time. Returns false (and writes nothing) otherwise.
    /// </summary>
    Task<bool> AddImageAsync(ImageRecord image, CancellationToken cancellationToken);

    Task<ImageRecord?> FindImageAsync(Guid imageId, CancellationToken cancellationToken);

    /// <summary>
    /// The read of a download by link: returns the image as <see cref="FindImageAsync"/> does (null when unknown) and, when it is
    /// servable at <paramref name="at"/> (active and not expired), appends its <c>image.downloaded</c> event (actor
    /// <paramref name="actor"/>, reason <paramref name="reason"/>) in the same statement: one round trip per download on
    /// PostgreSQL. An image that is not servable gets no event.
    /// </summary>
    Task<ImageRecord?> FindImageForDownloadAsync(Guid imageId, DateTimeOffset at, string actor, string? reason, CancellationToken cancellationToken);

    /// <summary>
    /// Makes the image expire now (if later) with a pending erase reason (the first one recorded
    /// stays), so nothing serves it any more even if the erase itself is interrupted, and says in the
    /// same step whether it may be erased now or is on legal hold (then it is erased after the release).
    /// </summary>
    Task<EraseDecision> RequestEraseAsync(Guid imageId, string reason, string actor, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>
    /// Shreds the wrapped key, marks the row erased and appends one <see cref="AuditKinds.ImageErased"/>
    /// event. Idempotent: returns false and writes nothing if the image is already erased or on legal hold.
    /// </summary>
    Task<bool> MarkErasedAsync(Guid imageId, string reason, string actor, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>
    /// Records a stored preview beside the image, only while the image has no preview yet, is not erased and is
    /// not committed to erasure (no pending erase reason): every erase step that follows reads its blob name. Returns
    /// false (and writes nothing) otherwise; the caller then deletes the preview's blob.
    /// </summary>
    Task<bool> RecordPreviewAsync(Guid imageId, ImagePreview preview, CancellationToken cancellationToken);

    /// <summary>Marks the image's preview unavailable (its pixels did not decode) if it has none yet; returns whether it did.</summary>
    Task<bool> MarkPreviewUnavailableAsync(Guid imageId, CancellationToken cancellationToken);

    Task AppendAuditAsync(AuditEvent auditEvent, CancellationToken cancellationToken);

    /// <summary>Audit events about one image or consent, oldest first.</summary>
    Task<IReadOnlyList<AuditEvent>> GetHistoryAsync(Guid objectId, CancellationToken cancellationToken);

    /// <summary>A cheap round trip proving the catalog answers (for readiness).</summary>
    Task CheckAvailableAsync(CancellationToken cancellationToken);
}

/// <summary>The catalog could not be reached or failed; clients see a 503 problem.</summary>
public sealed class CatalogUnavailableException : Exception
{
    public CatalogUnavailableException()
    {
    }

    public CatalogUnavailableException(string message)
        : base(message)
    {
    }

    public CatalogUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>
    /// The failure came after the commit was sent (the reply was lost), so the write may have landed.
    /// Callers must not undo side effects that a landed write depends on.
    /// </summary>
    public bool MayHaveCommitted { get; init; }
}
