namespace SecureImage.Core.Retention;

/// <summary>An image's expiry is fixed at upload; from that instant no link serves it.</summary>
public static class RetentionPolicy
{
    public static readonly TimeSpan DefaultPeriod = TimeSpan.FromDays(3);

    public static DateTimeOffset ExpiresAt(DateTimeOffset createdAt, TimeSpan period) => createdAt + period;

    public static bool IsExpired(DateTimeOffset expiresAt, DateTimeOffset now) => now >= expiresAt;
}

/// <summary>Why an image was erased; stable strings stored in the catalog and the audit log.</summary>
public static class EraseReasons
{
    public const string Retention = "retention";
    public const string ConsentWithdrawn = "consent-withdrawn";
    public const string DeletedByBot = "deleted-by-bot";
    public const string Admin = "admin";
}
