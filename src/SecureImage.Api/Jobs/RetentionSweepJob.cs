using Hangfire;
using Hangfire.Server;
using Microsoft.Extensions.Options;
using SecureImage.Api.Configuration;
using SecureImage.Api.Telemetry;
using SecureImage.Core;
using SecureImage.Core.Blobs;
using SecureImage.Core.Catalog;
using SecureImage.Core.Diagnostics;
using SecureImage.Core.Retention;

namespace SecureImage.Api.Jobs;

/// <summary>
/// Runs the retention sweep and records the run. Hangfire may run an occurrence twice (at-least-once) and
/// runs the next occurrence whether or not this one is done: a run that finds another one running (here or
/// on another instance, <see cref="IJobMutex"/>) returns at once, and whatever does run, the catalog's claims
/// keep each erasure exactly-once. Not retried by Hangfire: a failed sweep is simply the next occurrence's work.
/// </summary>
internal sealed partial class RetentionSweepJob(
    RetentionSweeper sweeper, IRetentionCatalog catalog, IJobMutex mutex, RetentionMetrics metrics, ServiceMetrics serviceMetrics, TimeProvider timeProvider, ILogger<RetentionSweepJob> logger)
{
    /// <summary>The job as Hangfire stores and shows it: no arguments (Hangfire supplies both).</summary>
    [AutomaticRetry(Attempts = 0, LogEvents = false)]
    public Task RunAsync(PerformContext? context, CancellationToken cancellationToken) => JobRuns.GuardAsync(logger, JobNames.RetentionSweep, async () =>
    {
        using var activity = Tracing.Source.StartActivity("secureimage.retention.sweep");
        var started = timeProvider.UtcNowMilliseconds();
        var instance = JobRuns.InstanceOf(context);
        SweepResult result;
        try
        {
            await using var turn = await mutex.TryEnterAsync(JobNames.RetentionSweep, cancellationToken);
            if (turn is null)
            {
                activity?.SetTag(Tracing.Tags.Outcome, "skipped");
                LogSkipped(logger);
                return;
            }

            result = await sweeper.SweepAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is CatalogUnavailableException or BlobStoreUnavailableException)
        {
            // Retried on the next run; recorded if the catalog takes the record.
            activity.Fail(Tracing.CodeOf(ex));
            LogSweepFailed(logger, ex.GetType().Name);
            await JobRuns.TryRecordAsync(catalog, new JobRun(JobNames.RetentionSweep, instance, started, timeProvider.UtcNowMilliseconds(), 0, 0, null, ex.GetType().Name), cancellationToken);
            return;
        }

        var finished = timeProvider.UtcNowMilliseconds();
        metrics.SweepFinished(finished, result.Erased, result.Failed, result.Lag);
        foreach (var (reason, count) in result.ErasedByReason)
        {
            serviceMetrics.Erased(reason, count);
        }

        activity?.SetTag(Tracing.Tags.Outcome, result.Failed == 0 ? "completed" : "partial");
        activity?.SetTag(Tracing.Tags.Erased, result.Erased);
        activity?.SetTag(Tracing.Tags.Failed, result.Failed);
        activity?.SetTag(Tracing.Tags.LagSeconds, Math.Round((result.Lag ?? TimeSpan.Zero).TotalSeconds, 3));
        if (result.FirstErrorCode is { } error)
        {
            activity?.SetTag(Tracing.Tags.Reason, error);
        }

        if (result.Erased > 0 || result.Failed > 0)
        {
            LogSweep(logger, result.Erased, result.Failed, result.Lag?.TotalSeconds ?? 0);
        }

        await JobRuns.TryRecordAsync(catalog, new JobRun(JobNames.RetentionSweep, instance, started, finished, result.Erased, result.Failed, result.Lag, result.FirstErrorCode), cancellationToken);
    }, cancellationToken);

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention sweep erased {Erased} images, {Failed} failed; lag {LagSeconds} s.")]
    private static partial void LogSweep(ILogger logger, int erased, int failed, double lagSeconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retention sweep failed ({Cause}); it runs again on the next interval.")]
    private static partial void LogSweepFailed(ILogger logger, string cause);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Retention sweep skipped: another run is still sweeping.")]
    private static partial void LogSkipped(ILogger logger);
}

/// <summary>Deletes blobs no live catalog row points at, once they are past the grace period; one run at a time, like the sweep.</summary>
internal sealed partial class OrphanReconciliationJob(
    OrphanReconciler reconciler, IRetentionCatalog catalog, IJobMutex mutex, RetentionMetrics metrics, TimeProvider timeProvider, ILogger<OrphanReconciliationJob> logger)
{
    [AutomaticRetry(Attempts = 0, LogEvents = false)]
    public Task RunAsync(PerformContext? context, CancellationToken cancellationToken) => JobRuns.GuardAsync(logger, JobNames.OrphanReconciliation, async () =>
    {
        var started = timeProvider.UtcNowMilliseconds();
        ReconciliationResult result;
        try
        {
            await using var turn = await mutex.TryEnterAsync(JobNames.OrphanReconciliation, cancellationToken);
            if (turn is null)
            {
                return;
            }

            result = await reconciler.ReconcileAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is CatalogUnavailableException or BlobStoreUnavailableException)
        {
            LogFailed(logger, ex.GetType().Name);
            return;
        }

        metrics.OrphansDeleted(result.Deleted);
        if (result.Deleted > 0 || result.Failed > 0)
        {
            LogReconciled(logger, result.Examined, result.Deleted, result.Failed);
        }

        await JobRuns.TryRecordAsync(catalog, new JobRun(JobNames.OrphanReconciliation, JobRuns.InstanceOf(context), started, timeProvider.UtcNowMilliseconds(), result.Deleted, result.Failed, null, result.FirstErrorCode), cancellationToken);
    }, cancellationToken);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconciliation examined {Examined} blobs, deleted {Deleted} orphans, {Failed} failed.")]
    private static partial void LogReconciled(ILogger logger, int examined, int deleted, int failed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconciliation failed ({Cause}); it runs again on the next interval.")]
    private static partial void LogFailed(ILogger logger, string cause);
}

/// <summary>Deletes job runs older than <see cref="RetentionOptions.JobRunHistory"/>. One delete statement: overlapping runs are harmless.</summary>
internal sealed class JobRunPurgeJob(IRetentionCatalog catalog, IOptions<RetentionOptions> options, TimeProvider timeProvider, ILogger<JobRunPurgeJob> logger)
{
    [AutomaticRetry(Attempts = 0, LogEvents = false)]
    public Task RunAsync(PerformContext? context, CancellationToken cancellationToken) => JobRuns.GuardAsync(logger, JobNames.JobRunPurge, async () =>
    {
        var started = timeProvider.UtcNowMilliseconds();
        int purged;
        try
        {
            purged = await catalog.PurgeJobRunsAsync(started - options.Value.JobRunHistory, cancellationToken);
        }
        catch (CatalogUnavailableException)
        {
            // Purged by the next run.
            return;
        }

        await JobRuns.TryRecordAsync(catalog, new JobRun(JobNames.JobRunPurge, JobRuns.InstanceOf(context), started, timeProvider.UtcNowMilliseconds(), purged, 0, null, null), cancellationToken);
    }, cancellationToken);
}

internal static partial class JobRuns
{
    /// <summary>Records a run for the dashboard; an unavailable catalog only loses this record (the erasures are audited already).</summary>
    public static async Task TryRecordAsync(IRetentionCatalog catalog, JobRun run, CancellationToken cancellationToken)
    {
        try
        {
            await catalog.RecordJobRunAsync(run, cancellationToken);
        }
        catch (CatalogUnavailableException)
        {
            // The next run records again.
        }
    }

    /// <summary>The Hangfire server that runs the job, as its dashboard names it.</summary>
    public static string InstanceOf(PerformContext? context) => context?.ServerId ?? Environment.MachineName;

    /// <summary>
    /// Hangfire stores the exception of a failed job (type, message, stack trace) in its storage and shows it on
    /// the dashboard: an unexpected one reaches it as its type only (the message of what it throws), since a
    /// message can quote a value; its stack trace is in the log. Cancellation of the job's own token (the server
    /// stopping, the job deleted) passes unchanged, so Hangfire puts the job back in the queue or drops it; any
    /// other cancellation is a failure to Hangfire, stored like one, so it is redacted like one.
    /// </summary>
    public static async Task GuardAsync(ILogger logger, string job, Func<Task> run, CancellationToken cancellationToken)
    {
        try
        {
            await run();
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var redacted = RedactedException.From(ex);
            LogFailedUnexpectedly(logger, redacted, job, redacted.OriginalType);
            throw redacted;
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {Job} failed unexpectedly ({Cause}); it runs again on its next occurrence.")]
    private static partial void LogFailedUnexpectedly(ILogger logger, Exception exception, string job, string cause);
}
