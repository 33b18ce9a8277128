using SecureImage.Core.Crypto;

namespace SecureImage.Core.Catalog;

public enum ImageState
{
    Active,
    Erased,
    Held,
    Blocked,
}

public static class ConsentSources
{
    public const string Api = "api";
    public const string KakaoPlugin = "kakao-plugin";
}

/// <summary>A recorded consent. The subject appears only as a keyed hash.</summary>
public sealed record ConsentRecord(
    Guid Id,
    string BotId,
    string SubjectHash,
    string Purpose,
    string PolicyVersion,
    string Source,
    DateTimeOffset GrantedAt,
    DateTimeOffset? WithdrawnAt)
{
    public bool IsWithdrawn => WithdrawnAt is not null;
}

/// <summary>One image's catalog row. <see cref="WrappedKey"/> is null once the image is erased (crypto-shredded).</summary>
public sealed record ImageRecord(
    Guid Id,
    string BotId,
    string SubjectHash,
    Guid ConsentId,
    string ContentType,
    long Bytes,
    int Width,
    int Height,
    string BlobName,
    WrappedKey? WrappedKey,
    DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt,
    ImageState State,
    DateTimeOffset? ErasedAt,
    string? EraseReason,
    string? PendingEraseReason)
{
    /// <summary>True when no link may serve the image: erased, or past its (possibly shortened) expiry.</summary>
    public bool IsGone(DateTimeOffset now) => State == ImageState.Erased || now >= ExpiresAt;

    /// <summary>Null while no preview has been made (or tried); set once, never changed after.</summary>
    public PreviewState? PreviewState { get; init; }

    /// <summary>The stored preview when <see cref="PreviewState"/> is ready; its wrapped key is null once the image is erased.</summary>
    public ImagePreview? Preview { get; init; }
}

public enum PreviewState
{
    Ready,

    /// <summary>Its pixels did not decode (or not in time): the preview link answers a problem, the original is served.</summary>
    Unavailable,
}

/// <summary>
/// A preview rendition, stored as its own envelope under its own data key in its own blob. <see cref="Id"/> is
/// what the envelope and the wrapped key are bound to, so neither can pass for the original's.
/// </summary>
public sealed record ImagePreview(Guid Id, string ContentType, long Bytes, int Width, int Height, string BlobName, WrappedKey? WrappedKey);

/// <summary>
/// An image the catalog has committed to erasing: its pending erase reason was set while it was not on
/// legal hold, so no hold can be placed on it any more and its blob may be deleted. <see cref="Reason"/>
/// is the first erase reason recorded for it.
/// </summary>
public sealed record ImageToErase(Guid ImageId, string BlobName, string Reason)
{
    /// <summary>The image's preview blob, deleted in the same step as the original's; null when it has none.</summary>
    public string? PreviewBlobName { get; init; }
}

/// <summary>What an erase request found, decided in the same catalog step that recorded it.</summary>
public enum EraseOutcome
{
    NotFound,
    AlreadyErased,

    /// <summary>Committed to erasure: delete the blob, then mark the image erased.</summary>
    EraseNow,

    /// <summary>On legal hold: the blob stays; the image is erased once the hold is released.</summary>
    DeferredByHold,
}

/// <param name="ToErase">Set exactly when <paramref name="Outcome"/> is <see cref="EraseOutcome.EraseNow"/>.</param>
public sealed record EraseDecision(EraseOutcome Outcome, ImageToErase? ToErase);

/// <summary>A consent's withdrawal: the images now committed to erasure, and how many wait for a legal hold's release.</summary>
public sealed record ConsentWithdrawal(IReadOnlyList<ImageToErase> ToErase, int Held);

/// <summary>An append-only audit entry. Ids and stable codes only, never personal data.</summary>
public sealed record AuditEvent(
    DateTimeOffset At,
    string Kind,
    string? BotId,
    Guid? ImageId,
    Guid? ConsentId,
    string Actor,
    string? Reason);

public static class AuditKinds
{
    public const string ConsentGranted = "consent.granted";
    public const string ConsentWithdrawn = "consent.withdrawn";
    public const string ImageUploaded = "image.uploaded";
    public const string UploadRejected = "upload.rejected";
    public const string LinkIssued = "link.issued";
    public const string ImageDownloaded = "image.downloaded";
    public const string EraseRequested = "image.erase-requested";
    public const string ImageErased = "image.erased";
}

/// <summary>Stable reasons for <see cref="AuditKinds.UploadRejected"/>.</summary>
public static class RejectionReasons
{
    public const string NoConsent = "no-consent";
    public const string TooLarge = "too-large";
    public const string BadType = "bad-type";
    public const string Malformed = "malformed";
}
