using SecureImage.Core.Catalog;

namespace SecureImage.Core.Dashboard;

/// <summary>
/// Read-only figures for the retention dashboard, straight from the catalog. Implemented by the same
/// adapter as <see cref="IImageCatalog"/>; never returns image bytes, wrapped keys or subject hashes.
/// </summary>
public interface IDashboardQueries
{
    /// <summary>What is stored now and what retention still owes, as seen at <paramref name="now"/>.</summary>
    Task<DashboardOverview> GetOverviewAsync(DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Counts of <see cref="DashboardSeries.Kinds"/> audit events in [<paramref name="from"/>, <paramref name="to"/>),
    /// per UTC hour or day and per reason (erasures and rejections; null for the other kinds). Empty buckets are absent.
    /// </summary>
    Task<IReadOnlyList<SeriesCount>> GetSeriesAsync(DateTimeOffset from, DateTimeOffset to, SeriesBucket bucket, CancellationToken cancellationToken);

    /// <summary>One page of the audit log, newest first, keyset-paged by sequence number.</summary>
    Task<AuditPage> GetAuditPageAsync(AuditQuery query, CancellationToken cancellationToken);

    /// <summary>Images on legal hold, oldest hold first.</summary>
    Task<IReadOnlyList<HeldImage>> GetHeldImagesAsync(int limit, CancellationToken cancellationToken);
}

/// <summary>Images not erased (active, held or blocked) of one bot.</summary>
public sealed record BotStorage(string BotId, long Images, long Bytes);

/// <summary>
/// The dashboard's "now" panel. <see cref="Overdue"/> counts images past expiry, not erased and not
/// held (should be 0); <see cref="OldestOverdueExpiry"/> gives the sweep lag.
/// </summary>
public sealed record DashboardOverview(
    IReadOnlyList<BotStorage> Stored,
    long ExpiringWithinHour,
    long ExpiringWithinDay,
    long Held,
    long Blocked,
    long Overdue,
    DateTimeOffset? OldestOverdueExpiry);

public enum SeriesBucket
{
    Hour,
    Day,
}

/// <summary><paramref name="Count"/> events of <paramref name="Kind"/> (with <paramref name="Reason"/>) in the bucket starting at <paramref name="BucketStart"/>.</summary>
public sealed record SeriesCount(DateTimeOffset BucketStart, string Kind, string? Reason, long Count);

public static class DashboardSeries
{
    /// <summary>The audit kinds the time series count.</summary>
    public static readonly IReadOnlyList<string> Kinds =
        [AuditKinds.ImageUploaded, AuditKinds.ImageErased, AuditKinds.UploadRejected, AuditKinds.ImageDownloaded];

    /// <summary>Kinds whose reason is kept apart in the series (the others' reasons are folded into null).</summary>
    public static bool KeepsReason(string kind) => kind is AuditKinds.ImageErased or AuditKinds.UploadRejected;

    public static TimeSpan Width(SeriesBucket bucket) => bucket == SeriesBucket.Hour ? TimeSpan.FromHours(1) : TimeSpan.FromDays(1);

    /// <summary>The start of the UTC bucket holding <paramref name="at"/>.</summary>
    public static DateTimeOffset Floor(DateTimeOffset at, SeriesBucket bucket)
    {
        var ticks = Width(bucket).Ticks;
        var utc = at.UtcTicks;
        return new DateTimeOffset(utc - (utc % ticks), TimeSpan.Zero);
    }
}

/// <summary>Audit log filters; all optional. <paramref name="BeforeSeq"/> continues a previous page.</summary>
public sealed record AuditQuery(DateTimeOffset? From, DateTimeOffset? To, string? Kind, string? BotId, long? BeforeSeq, int Limit);

/// <summary>An audit event with its position in the append-only log.</summary>
public sealed record AuditEntry(long Seq, AuditEvent Event);

/// <summary>A page of entries; <paramref name="NextBeforeSeq"/> is null on the last page.</summary>
public sealed record AuditPage(IReadOnlyList<AuditEntry> Entries, long? NextBeforeSeq);

/// <summary>An image on legal hold. <paramref name="HoldReason"/> is a reason code, never free text from a user.</summary>
public sealed record HeldImage(Guid ImageId, string BotId, DateTimeOffset HeldAt, string? HoldReason, DateTimeOffset ExpiresAt);
