using Microsoft.Extensions.Options;
using Quartz;
using SecureImage.Api.Configuration;
using SecureImage.Core.Retention;

namespace SecureImage.Api.Jobs;

internal static class JobsSetup
{
    public const string SchedulerName = "SecureImage";

    /// <summary>
    /// Quartz with the retention sweep and orphan reconciliation. On PostgreSQL the scheduler is
    /// clustered on a persistent store whose schema Quartz provisions itself; instances share one
    /// scheduler name and generate their ids. On the embedded default it runs on an in-memory store:
    /// the jobs are idempotent and their schedule is rebuilt at every start.
    /// </summary>
    public static IServiceCollection AddSecureImageJobs(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<RetentionMetrics>();
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
                });
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

        var catalog = configuration.GetSection($"{SecureImageSections.Root}:{CatalogOptions.Section}").Get<CatalogOptions>() ?? new CatalogOptions();
        services.AddQuartz(quartz =>
        {
            quartz.ConfigureScheduler(scheduler =>
            {
                scheduler.InstanceName = SchedulerName;
                scheduler.GenerateInstanceId = true;
            });
            quartz.UseDefaultThreadPool(2);
            if (catalog.Provider == "Postgres" && !string.IsNullOrWhiteSpace(catalog.ConnectionString))
            {
                quartz.UsePersistentStore(store =>
                {
                    store.UsePostgres(catalog.ConnectionString);
                    store.UseSystemTextJsonSerializer();
                    store.UseClustering(cluster =>
                    {
                        cluster.CheckinInterval = TimeSpan.FromSeconds(10);
                        cluster.CheckinMisfireThreshold = TimeSpan.FromSeconds(30);
                    });
                    store.ProvisionSchema();
                });
            }
            else
            {
                quartz.UseInMemoryStore();
            }

            var sweep = new JobKey(JobNames.RetentionSweep);
            quartz.AddJob<RetentionSweepJob>(job => job.WithIdentity(sweep).StoreDurably());
            quartz.AddTrigger((sp, trigger) => trigger
                .ForJob(sweep)
                .WithIdentity(JobNames.RetentionSweep)
                .StartNow()
                .WithSchedule(SimpleScheduleBuilder.Create()
                    .WithInterval(sp.GetRequiredService<IOptions<RetentionOptions>>().Value.SweepInterval)
                    .RepeatForever()
                    .WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount)));

            var reconcile = new JobKey(JobNames.OrphanReconciliation);
            quartz.AddJob<OrphanReconciliationJob>(job => job.WithIdentity(reconcile).StoreDurably());
            quartz.AddTrigger((sp, trigger) => trigger
                .ForJob(reconcile)
                .WithIdentity(JobNames.OrphanReconciliation)
                .StartNow()
                .WithSchedule(SimpleScheduleBuilder.Create()
                    .WithInterval(sp.GetRequiredService<IOptions<RetentionOptions>>().Value.ReconcileInterval)
                    .RepeatForever()
                    .WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount)));
        });
        services.AddQuartzHostedService(options => options.WaitForJobsToComplete = true);
        return services;
    }
}
