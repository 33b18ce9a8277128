using Hangfire;
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
            return new PreviewRenderer(new PreviewRendererOptions(
                imaging.PreviewMaxSidePixels, imaging.PreviewJpegQuality, imaging.MaxConcurrentDecodes, imaging.DecodeTimeout, ingestion.Limits));
        });
        services.AddSingleton(sp => new PreviewMaker(
            sp.GetRequiredService<IImageCatalog>(),
            sp.GetRequiredService<IBlobStore>(),
            sp.GetRequiredService<IKeyEncryptionKey>(),
            sp.GetRequiredService<PreviewRenderer>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ImageIngestionOptions>().UploadTimeout));
        services.AddSingleton<PreviewQueue>();
        return services;
    }
}

/// <summary>Queues the preview job of a committed image (<see cref="ImagingOptions.PreviewOnUpload"/>). Never fails the upload.</summary>
internal sealed partial class PreviewQueue(IBackgroundJobClient jobs, IOptions<ImagingOptions> options, ILogger<PreviewQueue> logger)
{
    public void Queue(Guid imageId)
    {
        if (!options.Value.PreviewOnUpload)
        {
            return;
        }

        try
        {
            // The job's only argument is the image id: nothing personal is stored in the job store.
            jobs.Enqueue<PreviewJob>(job => job.RunAsync(imageId, CancellationToken.None));
        }
        catch (Exception ex) when (Jobs.JobsDatabase.IsUnavailable(ex) || ex is BackgroundJobClientException)
        {
            // The first preview request makes it on the spot instead.
            LogNotQueued(logger, imageId, ex.GetType().Name);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The preview job of image {ImageId} was not queued ({Cause}); it will be made at the first preview request.")]
    private static partial void LogNotQueued(ILogger logger, Guid imageId, string cause);
}

/// <summary>
/// Makes one image's preview in the background. Retried a few times for storage outages; a preview that
/// cannot be decoded is recorded as unavailable, not retried. At-least-once is harmless: a second run finds
/// the preview recorded and stops.
/// </summary>
internal sealed partial class PreviewJob(PreviewMaker previews, ILogger<PreviewJob> logger)
{
    [AutomaticRetry(Attempts = 3, LogEvents = false, OnAttemptsExceeded = AttemptsExceededAction.Delete)]
    public async Task RunAsync(Guid imageId, CancellationToken cancellationToken)
    {
        try
        {
            var image = await previews.EnsureAsync(imageId, cancellationToken);
            if (image?.PreviewState == PreviewState.Unavailable)
            {
                LogUnavailable(logger, imageId);
            }
        }
        catch (Exception ex) when (ex is CatalogUnavailableException or BlobStoreUnavailableException or KeyProviderUnavailableException)
        {
            LogStorageFailed(logger, imageId, ex.GetType().Name);
            throw;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Hangfire stores the failure: by type and stack only, never a message that could quote data.
            var redacted = Core.Diagnostics.RedactedException.From(ex);
            LogFailedUnexpectedly(logger, redacted, imageId, redacted.OriginalType);
            throw redacted;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Image {ImageId} did not decode; its preview is unavailable.")]
    private static partial void LogUnavailable(ILogger logger, Guid imageId);

    [LoggerMessage(Level = LogLevel.Error, Message = "The preview job of image {ImageId} failed unexpectedly ({Cause}).")]
    private static partial void LogFailedUnexpectedly(ILogger logger, Exception exception, Guid imageId, string cause);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The preview of image {ImageId} was not stored ({Cause}); the job is retried.")]
    private static partial void LogStorageFailed(ILogger logger, Guid imageId, string cause);
}
