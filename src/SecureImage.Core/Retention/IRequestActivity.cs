namespace SecureImage.Core.Retention;

/// <summary>How many client requests (uploads, downloads, links, Kakao skills) the service is serving right now, and since when none.</summary>
public interface IRequestActivity
{
    int RequestsInFlight { get; }

    /// <summary>When the last client request ended, as a timestamp of the host's <see cref="TimeProvider"/>; null before the first.</summary>
    long? LastRequestEndedAt { get; }
}

public static class QuietMoments
{
    /// <summary>
    /// No request in flight and none ended within <paramref name="period"/>: a quiet moment, not the gap between two requests of a
    /// steady load (which at concurrency 16 has instants with nothing in flight).
    /// </summary>
    public static bool IsQuietFor(this IRequestActivity activity, TimeProvider timeProvider, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(activity);
        ArgumentNullException.ThrowIfNull(timeProvider);
        return activity.RequestsInFlight <= 0
            && (activity.LastRequestEndedAt is not { } ended || timeProvider.GetElapsedTime(ended) >= period);
    }
}
