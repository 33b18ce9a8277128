namespace SecureImage.Api.Jobs;

/// <summary>
/// Job intervals as Hangfire cron expressions (UTC). An interval must divide the next larger unit evenly
/// so that every occurrence is the same distance from the last: whole seconds dividing a minute
/// (6-field cron with seconds), whole minutes dividing an hour, whole hours dividing a day, or one day.
/// 90 seconds or 7 minutes have no such cron and are refused at start-up rather than run unevenly.
/// </summary>
internal static class JobSchedule
{
    /// <summary>What an interval may be, for the start-up message (which never repeats the configured value).</summary>
    public const string AllowedIntervals =
        "1, 2, 3, 4, 5, 6, 10, 12, 15, 20 or 30 seconds; the same numbers of minutes; 1, 2, 3, 4, 6, 8 or 12 hours; or 1 day";

    private static readonly int[] DivisorsOf60 = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30];
    private static readonly int[] DivisorsOf24 = [1, 2, 3, 4, 6, 8, 12];

    /// <summary>The cron expression that fires every <paramref name="interval"/>, or null when there is none.</summary>
    public static string? CronFor(TimeSpan interval)
    {
        if (interval <= TimeSpan.Zero || interval.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            return null;
        }

        var seconds = (long)interval.TotalSeconds;
        return seconds switch
        {
            < 60 when DivisorsOf60.Contains((int)seconds) => seconds == 1 ? "* * * * * *" : $"*/{seconds} * * * * *",
            < 3600 when seconds % 60 == 0 && DivisorsOf60.Contains((int)(seconds / 60)) => seconds == 60 ? "* * * * *" : $"*/{seconds / 60} * * * *",
            < 86400 when seconds % 3600 == 0 && DivisorsOf24.Contains((int)(seconds / 3600)) => seconds == 3600 ? "0 * * * *" : $"0 */{seconds / 3600} * * *",
            86400 => "0 0 * * *",
            _ => null,
        };
    }
}
