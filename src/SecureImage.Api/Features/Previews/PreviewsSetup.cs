using Microsoft.Extensions.Options;
using SecureImage.Api.Configuration;
using SecureImage.Core.Blobs;
using SecureImage.Core.Catalog;
using SecureImage.Core.Crypto;
using SecureImage.Core.Imaging;
using SecureImage.Core.Ingestion;
using SecureImage.Core.Previews;

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
            new PreviewPassOptions(sp.GetRequiredService<IOptions<ImagingOptions>>().Value.PreviewMaxDeferral)));
        services.AddSingleton<PreviewSignal>();
        services.AddHostedService<PreviewWorker>();
        return services;
    }
}

/// <summary>Wakes this instance's preview pass when an upload or a Kakao fetch committed an image here (others' are found by polling).</summary>
internal sealed class PreviewSignal : Jobs.WakeSignal;

/// <summary>
/// Runs the background preview pass (<see cref="PreviewPass"/>) when signalled and every <see cref="PollInterval"/>
/// (<see cref="ImagingOptions.PreviewOnUpload"/>; off, previews are made at their first request only). One pass at a
/// time per deployment (<see cref="Jobs.IJobMutex"/>): instances would otherwise decode the same images side by side.
/// It is not a Hangfire job: the catalog already lists the images without a preview, so an upload writes nothing more
/// than its own row, and waiting previews never occupy the workers that run the retention sweep.
/// </summary>
internal sealed partial class PreviewWorker(
    PreviewPass pass, PreviewSignal signal, Jobs.IJobMutex mutex, IOptions<ImagingOptions> options, TimeProvider timeProvider, ILogger<PreviewWorker> logger) : BackgroundService
{
    /// <summary>How often the pass looks for images stored by other instances or left by an earlier process.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(30);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.PreviewOnUpload)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            var wake = signal.Next;
            var ran = true;
            try
            {
                ran = await RunOnceAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (CatalogUnavailableException ex)
            {
                LogBacklogUnavailable(logger, ex.InnerException?.GetType().Name ?? ex.GetType().Name);
            }

            // Uploads arriving during a pass wake it once more at its end. While another instance's pass runs, uploads
            // here do not wake this loop: each would cost a lock attempt (a connection) for nothing.
            var poll = Task.Delay(PollInterval, timeProvider, stoppingToken);
            await (ran ? Task.WhenAny(wake, poll) : Task.WhenAny(poll));
        }
    }

    /// <summary>False when another instance's pass holds the turn (it reads the backlog to its end, images stored here included).</summary>
    private async Task<bool> RunOnceAsync(CancellationToken stoppingToken)
    {
        await using var turn = await mutex.TryEnterAsync(Core.Retention.JobNames.PreviewPass, stoppingToken);
        if (turn is null)
        {
            return false;
        }

        var result = await pass.RunAsync(stoppingToken);
        if (result.Made + result.Unavailable + result.Failed > 0)
        {
            LogPass(logger, result.Made, result.Unavailable, result.Overdue, result.Failed, result.FirstErrorCode ?? "none");
        }

        return true;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Preview pass: {Made} made, {Unavailable} unavailable, {Overdue} made while busy after waiting their maximum, {Failed} failed (first: {FirstError}).")]
    private static partial void LogPass(ILogger logger, int made, int unavailable, int overdue, int failed, string firstError);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The preview backlog could not be read ({Cause}); the pass runs again later.")]
    private static partial void LogBacklogUnavailable(ILogger logger, string cause);
}
