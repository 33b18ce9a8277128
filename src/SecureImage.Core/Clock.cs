namespace SecureImage.Core;

public static class Clock
{
    /// <summary>Now, truncated to whole milliseconds: the precision every catalog stores, so values round-trip exactly.</summary>
    public static DateTimeOffset UtcNowMilliseconds(this TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        var now = timeProvider.GetUtcNow();
        return DateTimeOffset.FromUnixTimeMilliseconds(now.ToUnixTimeMilliseconds());
    }
}
