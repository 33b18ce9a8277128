using Hangfire;
using Hangfire.AspNetCore;
using Hangfire.Common;
using Hangfire.InMemory;
using Hangfire.PostgreSql;
using Microsoft.Extensions.Options;
using SecureImage.Api.Configuration;
using SecureImage.Core.Retention;

namespace SecureImage.Api.Jobs;

/// <summary>
/// Hangfire with the retention sweep, the orphan reconciliation, the job-run purge and the preview pass as recurring jobs.
/// On PostgreSQL the job store is Hangfire.PostgreSql in its own schema of the catalog's database, shared by
/// every instance (each occurrence runs once); on the embedded default it is Hangfire.InMemory, rebuilt at
/// every start (the recurring jobs are registered at start-up, and what a sweep has done is in the catalog).
/// Everything Hangfire needs is a service of this host, never Hangfire's process-wide configuration
/// (<c>AddHangfire</c> writes <c>GlobalConfiguration</c>, which several hosts in one process would share).
/// </summary>
internal static class JobsSetup
{
    /// <summary>
    /// Worker threads per instance: the retention jobs, a sweep occurrence that only finds the sweep running, and the
    /// preview pass, which can wait minutes for a quiet moment (one run at a time, so it never holds more than one).
    /// </summary>
    private const int WorkerCount = 3;

    public static IServiceCollection AddSecureImageJobs(this IServiceCollection services, IConfigurationSection root)
    {
        services.AddOptions<JobsOptions>().Bind(root.GetSection(JobsOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<JobsOptions>, ValidateJobsOptions>();
        services.AddSingleton<RetentionMetrics>();
        services.AddSingleton<RequestActivity>();
        services.AddSingleton(sp =>
        {
            var retention = sp.GetRequiredService<IOptions<RetentionOptions>>().Value;
            return new RetentionSweeper(
                sp.GetRequiredService<IRetentionCatalog>(),
                sp.GetRequiredService<Core.Blobs.IBlobStore>(),
                sp.GetRequiredService<TimeProvider>(),
                new RetentionSweepOptions
                {
                    BatchSize = retention.SweepBatchSize,
                    ClaimLease = retention.ClaimLease,
                    BlobDeleteParallelism = retention.SweepBlobDeleteParallelism,
                    MaxBlobDeletesPerSecond = retention.SweepMaxBlobDeletesPerSecond,
                    BusyBlobDeletesPerSecond = retention.SweepBusyBlobDeletesPerSecond,
                },
                sp.GetRequiredService<RequestActivity>());
        });
        services.AddSingleton(sp =>
        {
            var retention = sp.GetRequiredService<IOptions<RetentionOptions>>().Value;
            return new OrphanReconciler(
                sp.GetRequiredService<IRetentionCatalog>(),
                sp.GetRequiredService<Core.Blobs.IBlobStore>(),
                sp.GetRequiredService<TimeProvider>(),
                new OrphanReconciliationOptions { GracePeriod = retention.OrphanGracePeriod });
        });

        services.AddSingleton(sp => new HangfireLogs(HangfireLogBridge.Attach(sp.GetRequiredService<ILoggerFactory>())));
        services.AddSingleton(sp => CreateStore(sp));
        services.AddSingleton(sp => sp.GetRequiredService<JobStore>().Storage);
        services.AddSingleton<IJobMutex>(sp => sp.GetRequiredService<JobStore>().Database is { } database ? new PostgresJobMutex(database) : new InProcessJobMutex());

        // Hangfire's global filters, minus culture capture and the ten-attempt retry: the dashboard's daily
        // succeeded/failed figures, and each job's own attributes (AutomaticRetry with no attempts).
        services.AddSingleton<IJobFilterProvider>(_ => new JobFilterProviderCollection(
            new JobFilterCollection { new StatisticsHistoryAttribute() },
            new JobFilterAttributeFilterProvider()));
        services.AddSingleton<IRecurringJobManagerV2>(sp => new RecurringJobManager(sp.GetRequiredService<JobStorage>(), sp.GetRequiredService<IJobFilterProvider>()));
        services.AddSingleton<IRecurringJobManager>(sp => sp.GetRequiredService<IRecurringJobManagerV2>());

        // What the dashboard uses to requeue or delete a job (otherwise it would build one on the global filters).
        services.AddSingleton<IBackgroundJobClient>(sp => new BackgroundJobClient(sp.GetRequiredService<JobStorage>(), sp.GetRequiredService<IJobFilterProvider>()));
        services.AddSingleton<JobsInitializer>();
        services.AddHostedService(sp =>
        {
            var retention = sp.GetRequiredService<IOptions<RetentionOptions>>().Value;
            var options = new BackgroundJobServerOptions
            {
                WorkerCount = WorkerCount,
                SchedulePollingInterval = sp.GetRequiredService<IOptions<JobsOptions>>().Value.EffectiveSchedulePollingInterval(retention),
                Activator = new AspNetCoreJobActivator(sp.GetRequiredService<IServiceScopeFactory>()),
                FilterProvider = sp.GetRequiredService<IJobFilterProvider>(),
                TimeZoneResolver = new DefaultTimeZoneResolver(),
            };
            return new BackgroundJobServerHostedService(sp.GetRequiredService<JobStorage>(), options, [], sp.GetRequiredService<IHostApplicationLifetime>());
        });
        return services;
    }

    private static JobStore CreateStore(IServiceProvider sp)
    {
        _ = sp.GetRequiredService<HangfireLogs>();
        var catalog = sp.GetRequiredService<IOptions<CatalogOptions>>().Value;
        if (catalog.Provider != "Postgres")
        {
            return new JobStore(new InMemoryStorage(new InMemoryStorageOptions()), null);
        }

        var jobs = sp.GetRequiredService<IOptions<JobsOptions>>().Value;
        var retention = sp.GetRequiredService<IOptions<RetentionOptions>>().Value;
        var database = new JobsDatabase(catalog.ConnectionString!);
        return new JobStore(
            new PostgreSqlStorage(database, new PostgreSqlStorageOptions
            {
                SchemaName = jobs.Schema,

                // JobsDatabase installs the schema at start-up, after the catalog's migrations.
                PrepareSchemaIfNecessary = false,
                QueuePollInterval = jobs.EffectiveQueuePollInterval(retention),
                DistributedLockTimeout = jobs.DistributedLockTimeout,
                InvisibilityTimeout = jobs.InvisibilityTimeout,

                // A running job renews its fetch, so a job that outlives InvisibilityTimeout is not run a second time meanwhile.
                UseSlidingInvisibilityTimeout = true,
            }),
            database);
    }
}

/// <summary>The job store of this host and, on PostgreSQL, its connections (disposed with the host; the container disposes the storage).</summary>
internal sealed class JobStore(JobStorage storage, JobsDatabase? database) : IAsyncDisposable
{
    public JobStorage Storage { get; } = storage;

    public JobsDatabase? Database { get; } = database;

    public ValueTask DisposeAsync() => Database?.DisposeAsync() ?? ValueTask.CompletedTask;
}

/// <summary>Hangfire's log routed to this host while the host lives (<see cref="HangfireLogBridge"/>).</summary>
internal sealed class HangfireLogs(IDisposable attachment) : IDisposable
{
    public void Dispose() => attachment.Dispose();
}

/// <summary>
/// At start-up, after the catalog's migrations (<see cref="StorageInitializer"/>): Hangfire's PostgreSQL
/// schema, then the recurring jobs with their stable ids and their crons from validated configuration. Every
/// instance registers them; the same definition leaves the stored one as it is, so instances agree.
/// </summary>
internal sealed partial class JobsInitializer(
    JobStore store,
    IRecurringJobManager recurringJobs,
    IOptions<RetentionOptions> retention,
    IOptions<JobsOptions> jobs,
    IOptions<Features.Previews.ImagingOptions> imaging,
    TimeProvider timeProvider,
    ILogger<JobsInitializer> logger)
{
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        if (store.Database is { } database)
        {
            await database.InstallSchemaAsync(jobs.Value.Schema, cancellationToken);
        }

        // Registering takes each recurring job's Hangfire lock. A process killed while it held one (its scheduler
        // queueing an occurrence) leaves the lock row until Jobs:DistributedLockTimeout; Hangfire waits 15 s for it, so
        // a restart soon after a crash refused to start. It waits for the dead holder's lock to expire instead.
        var giveUpAt = timeProvider.GetUtcNow() + jobs.Value.DistributedLockTimeout + TimeSpan.FromSeconds(15);
        while (true)
        {
            try
            {
                Register();
                return;
            }
            catch (Core.Catalog.CatalogUnavailableException ex) when (
                ex.InnerException is PostgreSqlDistributedLockException or Hangfire.Storage.DistributedLockTimeoutException
                && timeProvider.GetUtcNow() < giveUpAt)
            {
                LogLockHeld(logger);
                await Task.Delay(TimeSpan.FromSeconds(1), timeProvider, cancellationToken);
            }
        }
    }

    private void Register()
    {
        var options = new RecurringJobOptions { TimeZone = TimeZoneInfo.Utc, MisfireHandling = MisfireHandlingMode.Relaxed };
        var intervals = retention.Value;
        try
        {
            // Relaxed misfire handling: occurrences missed while no instance ran become one run, not a burst.
            recurringJobs.AddOrUpdate<RetentionSweepJob>(JobNames.RetentionSweep, job => job.RunAsync(null, CancellationToken.None), Cron(intervals.SweepInterval), options);
            recurringJobs.AddOrUpdate<OrphanReconciliationJob>(JobNames.OrphanReconciliation, job => job.RunAsync(null, CancellationToken.None), Cron(intervals.ReconcileInterval), options);
            recurringJobs.AddOrUpdate<JobRunPurgeJob>(JobNames.JobRunPurge, job => job.RunAsync(null, CancellationToken.None), Cron(intervals.JobRunPurgeInterval), options);
            if (imaging.Value.PreviewOnUpload)
            {
                recurringJobs.AddOrUpdate<Features.Previews.PreviewPassJob>(JobNames.PreviewPass, job => job.RunAsync(null, CancellationToken.None), Cron(imaging.Value.PreviewPassInterval), options);
            }
            else
            {
                // Previews at their first request only: a job left by an earlier start with previews on goes.
                recurringJobs.RemoveIfExists(JobNames.PreviewPass);
            }
        }
        catch (Exception ex) when (JobsDatabase.IsUnavailable(ex))
        {
            throw new Core.Catalog.CatalogUnavailableException("The job store did not take the recurring jobs.", ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A recurring job's lock is held, most likely by a process that stopped without releasing it; waiting for it to expire.")]
    private static partial void LogLockHeld(ILogger logger);

    /// <summary>Validated at start-up (<see cref="ValidateRetentionOptions"/>), so never null here.</summary>
    private static string Cron(TimeSpan interval) => JobSchedule.CronFor(interval) ?? throw new InvalidOperationException("A job interval has no cron; options validation should have refused it.");
}
