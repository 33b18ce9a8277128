using Microsoft.Extensions.Options;
using SecureImage.Api.Configuration;
using SecureImage.Core.Blobs;
using SecureImage.Core.Catalog;
using SecureImage.Core.Crypto;
using SecureImage.Core.Imaging;
using SecureImage.Core.Ingestion;
using SecureImage.Core.Previews;
using SecureImage.Core.Threading;

namespace SecureImage.Api.Features.Previews;

internal static class PreviewsSetup
{
    public static IServiceCollection AddSecureImagePreviews(this IServiceCollection services, IConfigurationSection root)
    {
        services.AddOptions<ImagingOptions>().Bind(root.GetSection(ImagingOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<ImagingOptions>, ValidateImagingOptions>();
        services.AddSingleton(sp =>
        {
            var imaging = sp.GetRequiredService<IOptions<ImagingOptions>>().Value;
            var ingestion = sp.GetRequiredService<ImageIngestionOptions>();
            return new PreviewRenderer(
                new PreviewRendererOptions(imaging.PreviewMaxSidePixels, imaging.PreviewJpegQuality, imaging.MaxConcurrentDecodes, imaging.DecodeTimeout, ingestion.Limits),
                sp.GetRequiredService<TimeProvider>());
        });
        services.AddSingleton(sp => new PreviewMaker(
            sp.GetRequiredService<IImageCatalog>(),
            sp.GetRequiredService<IBlobStore>(),
            sp.GetRequiredService<IKeyEncryptionKey>(),
            sp.GetRequiredService<PreviewRenderer>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ImageIngestionOptions>().UploadTimeout));
        services.AddSingleton<IPreviewBacklog>(sp => (IPreviewBacklog)sp.GetRequiredService<IImageCatalog>());
        services.AddSingleton(sp => new PreviewPass(
            sp.GetRequiredService<IPreviewBacklog>(),
            sp.GetRequiredService<PreviewMaker>(),
            sp.GetRequiredService<Jobs.RequestActivity>(),
            sp.GetRequiredService<TimeProvider>(),
            new PreviewPassOptions(sp.GetRequiredService<IOptions<ImagingOptions>>().Value.PreviewMaxDeferral),
            new HeldMemory(HeldMemory.DefaultThresholdBytes)));
        services.AddSingleton<PreviewSignal>();
        services.AddSingleton<PreviewPassEnded>();
        services.AddHostedService<PreviewTrigger>();
        return services;
    }
}

/// <summary>Woken when an upload or a Kakao fetch committed an image on this instance (<see cref="PreviewTrigger"/> queues the pass).</summary>
internal sealed class PreviewSignal : Jobs.WakeSignal;

/// <summary>Woken when a preview pass run by this instance has ended; tells <see cref="PreviewTrigger"/> it may queue the next.</summary>
internal sealed class PreviewPassEnded : Jobs.WakeSignal
{
    private int _running;

    /// <summary>Whether a pass is running in this process now.</summary>
    public bool Running => Volatile.Read(ref _running) > 0;

    public void Began() => Interlocked.Increment(ref _running);

    public void Ended()
    {
        Interlocked.Decrement(ref _running);
        Wake();
    }
}

/// <summary>
/// The background preview pass (<see cref="PreviewPass"/>) as the Hangfire recurring job <c>preview-pass</c>: it runs
/// every <see cref="ImagingOptions.PreviewPassInterval"/> and whenever <see cref="PreviewTrigger"/> queues it after an
/// upload. It carries no arguments, no image id either: the catalog lists the images without a preview, so one run
/// makes every waiting preview, and an upload costs one queued job per pass, not one per image. One run at a time per
/// deployment (<see cref="Jobs.IJobMutex"/>); a run that finds another running returns at once, so a run that waits
/// for a quiet moment holds one Hangfire worker, never more. Not retried by Hangfire: the next occurrence is the retry.
/// </summary>
internal sealed partial class PreviewPassJob(PreviewPass pass, PreviewPassEnded ended, Jobs.IJobMutex mutex, ILogger<PreviewPassJob> logger)
{
    [Hangfire.AutomaticRetry(Attempts = 0, LogEvents = false)]
    public Task RunAsync(Hangfire.Server.PerformContext? context, CancellationToken cancellationToken) => Jobs.JobRuns.GuardAsync(logger, Core.Retention.JobNames.PreviewPass, async () =>
    {
        PreviewPassResult result;
        try
        {
            await using var turn = await mutex.TryEnterAsync(Core.Retention.JobNames.PreviewPass, cancellationToken);
            if (turn is null)
            {
                LogSkipped(logger);
                return;
            }

            ended.Began();
            try
            {
                result = await pass.RunAsync(cancellationToken);
            }
            finally
            {
                ended.Ended();
            }
        }
        catch (CatalogUnavailableException ex)
        {
            LogBacklogUnavailable(logger, ex.InnerException?.GetType().Name ?? ex.GetType().Name);
            return;
        }

        if (result.Made + result.Unavailable + result.Failed > 0)
        {
            LogPass(logger, result.Made, result.Unavailable, result.Overdue, result.Failed, result.FirstErrorCode ?? "none", result.Yielded);
        }
    }, cancellationToken);

    [LoggerMessage(Level = LogLevel.Information, Message = "Preview pass: {Made} made, {Unavailable} unavailable, {Overdue} made while busy after waiting their maximum, {Failed} failed (first: {FirstError}); {Yielded} decodes stopped for requests and retried.")]
    private static partial void LogPass(ILogger logger, int made, int unavailable, int overdue, int failed, string firstError, int yielded);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The preview backlog could not be read ({Cause}); the pass runs again on its next occurrence.")]
    private static partial void LogBacklogUnavailable(ILogger logger, string cause);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Preview pass skipped: another run is making previews.")]
    private static partial void LogSkipped(ILogger logger);
}

/// <summary>
/// Queues a run of the <c>preview-pass</c> job right after an upload or a Kakao fetch commits here (<see cref="PreviewSignal"/>),
/// at most one at a time: while a pass queued from here has not ended, uploads only mark that another is wanted, and
/// the next is queued when it ends. So a burst of uploads writes one job to the job store, not one per image. A job
/// that another instance ran (a shared PostgreSQL job store) never reports here: after <see cref="RearmAfter"/> this
/// instance queues again if it has uploads the pass may have missed.
/// </summary>
internal sealed partial class PreviewTrigger(
    PreviewSignal signal, PreviewPassEnded ended, Hangfire.IBackgroundJobClient jobs, IOptions<ImagingOptions> options, TimeProvider timeProvider, ILogger<PreviewTrigger> logger) : BackgroundService
{
    /// <summary>How long a queued pass may take to start here before this instance assumes another ran it.</summary>
    public static readonly TimeSpan RearmAfter = TimeSpan.FromSeconds(30);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.PreviewOnUpload)
        {
            return;
        }

        var wanted = signal.Next;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await wanted.WaitAsync(stoppingToken);

                // Taken before the job is queued: an upload committed from now on asks for the next pass.
                wanted = signal.Next;
                var end = ended.Next;
                try
                {
                    // A plain enqueue (one transaction), not the recurring job's TriggerJob: that takes the recurring job's
                    // distributed lock, which a process killed while holding it leaves to the next start for the lock timeout.
                    Hangfire.BackgroundJobClientExtensions.Enqueue<PreviewPassJob>(jobs, job => job.RunAsync(null, CancellationToken.None));
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // The job store is down (or refused): the recurring occurrence makes these previews, or the next upload queues it again.
                    LogTriggerFailed(logger, ex.GetType().Name);
                    continue;
                }

                // Until it ends here, or it seems to have run elsewhere (and none is running here).
                do
                {
                    await Task.WhenAny(end, Task.Delay(RearmAfter, timeProvider, stoppingToken));
                    stoppingToken.ThrowIfCancellationRequested();
                }
                while (!end.IsCompleted && ended.Running);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: what is not made yet is in the catalog's backlog for the next process.
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The preview pass could not be queued ({Cause}); its next occurrence makes the previews.")]
    private static partial void LogTriggerFailed(ILogger logger, string cause);
}
