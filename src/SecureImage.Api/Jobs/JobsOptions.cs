using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using SecureImage.Api.Configuration;

namespace SecureImage.Api.Jobs;

/// <summary>
/// The configuration section <c>SecureImage:Jobs</c>: how Hangfire runs the retention jobs. The jobs'
/// intervals are in <see cref="RetentionOptions"/>; the timeouts below apply to the PostgreSQL store only.
/// </summary>
internal sealed class JobsOptions
{
    public const string Section = "Jobs";

    /// <summary>Hangfire's own default, kept when every job interval is at least this long.</summary>
    public static readonly TimeSpan DefaultPollingInterval = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How often each instance's scheduler looks for recurring jobs that are due. Unset: 15 seconds, or the
    /// shortest job interval when that is shorter. A job runs up to this long after its occurrence.
    /// </summary>
    public TimeSpan? SchedulePollingInterval { get; set; }

    /// <summary>
    /// PostgreSQL: how often an idle worker looks for a job another instance queued (the instance that queues
    /// a job wakes its own workers at once). Unset: the schedule polling interval.
    /// </summary>
    public TimeSpan? QueuePollInterval { get; set; }

    /// <summary>
    /// PostgreSQL: how long a lock of Hangfire's own (the scheduler's, a job's state change) is honoured
    /// after it was taken, so that one left by a killed process is taken over after at most this long.
    /// Hangfire holds these for milliseconds; the retention jobs' one-at-a-time rule is a session lock instead
    /// (docs/RETENTION.md), which the database drops the moment the process dies.
    /// </summary>
    public TimeSpan DistributedLockTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// PostgreSQL: a job fetched by a process that stopped sending keep-alives (it died) is run again after this
    /// long. Running jobs renew their fetch every fifth of it, so it does not bound how long a job may run.
    /// </summary>
    public TimeSpan InvisibilityTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>PostgreSQL: the schema of Hangfire's tables in the catalog's database, created on first start.</summary>
    [Required]
    [RegularExpression("^(?!pg_)(?!public$)[a-z_][a-z0-9_]{0,62}$", ErrorMessage = "Jobs:Schema must be a lower-case PostgreSQL identifier other than public.")]
    public string Schema { get; set; } = "hangfire";

    /// <summary>The polling interval in force: the configured one, or the default capped at the shortest job interval.</summary>
    public TimeSpan EffectiveSchedulePollingInterval(RetentionOptions retention) =>
        SchedulePollingInterval ?? Min(DefaultPollingInterval, ShortestInterval(retention));

    public TimeSpan EffectiveQueuePollInterval(RetentionOptions retention) => QueuePollInterval ?? EffectiveSchedulePollingInterval(retention);

    public static TimeSpan ShortestInterval(RetentionOptions retention) =>
        Min(retention.SweepInterval, Min(retention.ReconcileInterval, retention.JobRunPurgeInterval));

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}

/// <summary>What cannot work is refused at start-up, naming the setting and never its value.</summary>
internal sealed class ValidateJobsOptions(IOptions<RetentionOptions> retention) : IValidateOptions<JobsOptions>
{
    private const string Prefix = $"{SecureImageSections.Root}:{JobsOptions.Section}:";

    /// <summary>Hangfire.PostgreSql refuses a queue poll interval below this.</summary>
    private static readonly TimeSpan MinQueuePollInterval = TimeSpan.FromMilliseconds(50);

    public ValidateOptionsResult Validate(string? name, JobsOptions options)
    {
        var failures = new List<string>();
        if (options.SchedulePollingInterval is { } polling)
        {
            // Zero would make Hangfire's scheduler look once a minute, whatever the intervals.
            if (polling <= TimeSpan.Zero)
            {
                failures.Add($"{Prefix}SchedulePollingInterval must be positive.");
            }
            else if (polling > JobsOptions.ShortestInterval(retention.Value))
            {
                failures.Add($"{Prefix}SchedulePollingInterval must not be longer than the shortest of SecureImage:Retention:SweepInterval, ReconcileInterval and JobRunPurgeInterval: a job would run less often than configured.");
            }
        }

        if (options.QueuePollInterval is { } queue && queue < MinQueuePollInterval)
        {
            failures.Add($"{Prefix}QueuePollInterval must be at least 50 milliseconds.");
        }

        if (options.DistributedLockTimeout < TimeSpan.FromSeconds(5))
        {
            failures.Add($"{Prefix}DistributedLockTimeout must be at least 5 seconds: Hangfire's own locks would be taken over while held.");
        }

        if (options.InvisibilityTimeout < TimeSpan.FromSeconds(30))
        {
            failures.Add($"{Prefix}InvisibilityTimeout must be at least 30 seconds.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
