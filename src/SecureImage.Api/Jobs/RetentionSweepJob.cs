using Microsoft.Extensions.Options;
using Quartz;
using SecureImage.Api.Configuration;
using SecureImage.Api.Telemetry;
using SecureImage.Core;
using SecureImage.Core.Blobs;
using SecureImage.Core.Catalog;
using SecureImage.Core.Diagnostics;
using SecureImage.Core.Retention;

namespace SecureImage.Api.Jobs;

/// <summary>Runs the retention sweep and records the run. Never two at once on one instance; the catalog claim keeps instances apart.</summary>
[DisallowConcurrentExecution]
internal sealed partial class RetentionSweepJob(
    RetentionSweeper sweeper, IRetentionCatalog catalog, RetentionMetrics metrics, ServiceMetrics serviceMetrics, TimeProvider timeProvider, ILogger<RetentionSweepJob> logger) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        using var activity = Tracing.Source.StartActivity("secureimage.retention.sweep");
        var started = timeProvider.UtcNowMilliseconds();
        SweepResult result;
        try
        {
            result = await sweeper.SweepAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is CatalogUnavailableException or BlobStoreUnavailableException)
        {
            // Retried on the next run; recorded if the catalog takes the record.
            activity.Fail(Tracing.CodeOf(ex));
            LogSweepFailed(logger, ex.GetType().Name);
            await JobRuns.TryRecordAsync(catalog, new JobRun(JobNames.RetentionSweep, context.Scheduler.SchedulerInstanceId, started, timeProvider.UtcNowMilliseconds(), 0, 0, null, ex.GetType().Name), cancellationToken);
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

        await JobRuns.TryRecordAsync(catalog, new JobRun(JobNames.RetentionSweep, context.Scheduler.SchedulerInstanceId, started, finished, result.Erased, result.Failed, result.Lag, result.FirstErrorCode), cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention sweep erased {Erased} images, {Failed} failed; lag {LagSeconds} s.")]
    private static partial void LogSweep(ILogger logger, int erased, int failed, double lagSeconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retention sweep failed ({Cause}); it runs again on the next interval.")]
    private static partial void LogSweepFailed(ILogger logger, string cause);
}

/// <summary>
/// Deletes blobs no live catalog row points at, once they are past the grace period, and job runs
/// older than <see cref="RetentionOptions.JobRunHistory"/>.
/// </summary>
[DisallowConcurrentExecution]
internal sealed partial class OrphanReconciliationJob(
    OrphanReconciler reconciler, IRetentionCatalog catalog, RetentionMetrics metrics, IOptions<RetentionOptions> options, TimeProvider timeProvider, ILogger<OrphanReconciliationJob> logger) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var started = timeProvider.UtcNowMilliseconds();
        await JobRuns.TryPurgeAsync(catalog, started - options.Value.JobRunHistory, cancellationToken);
        ReconciliationResult result;
        try
        {
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

        await JobRuns.TryRecordAsync(catalog, new JobRun(JobNames.OrphanReconciliation, context.Scheduler.SchedulerInstanceId, started, timeProvider.UtcNowMilliseconds(), result.Deleted, result.Failed, null, result.FirstErrorCode), cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconciliation examined {Examined} blobs, deleted {Deleted} orphans, {Failed} failed.")]
    private static partial void LogReconciled(ILogger logger, int examined, int deleted, int failed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reconciliation failed ({Cause}); it runs again on the next interval.")]
    private static partial void LogFailed(ILogger logger, string cause);
}

internal static class JobRuns
{
    /// <summary>Deletes old job runs; an unavailable catalog leaves them for the next run.</summary>
    public static async Task TryPurgeAsync(IRetentionCatalog catalog, DateTimeOffset startedBefore, CancellationToken cancellationToken)
    {
        try
        {
            await catalog.PurgeJobRunsAsync(startedBefore, cancellationToken);
        }
        catch (CatalogUnavailableException)
        {
            // Purged by the next run.
        }
    }

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
}
