using SecureImage.Core.Catalog;
using SecureImage.Core.Crypto;
using SecureImage.Core.Retention;

namespace SecureImage.Api.Configuration;

/// <summary>
/// <c>dotnet SecureImage.Api.dll rewrap-keys</c>: after a new KEK version is added, re-wraps every
/// live image's data key under it (batches of 500, idempotent) and records one job run for the audit.
/// Afterwards the old version can be disabled.
/// </summary>
internal static partial class RewrapKeysCommand
{
    public const string JobName = "rewrap-keys";

    public static async Task<int> RunAsync(WebApplication app)
    {
        var services = app.Services;
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(RewrapKeysCommand));
        var time = services.GetRequiredService<TimeProvider>();
        var cancellationToken = app.Lifetime.ApplicationStopping;
        var started = time.GetUtcNow();
        RewrapResult result;
        try
        {
            await services.GetRequiredService<IImageCatalog>().MigrateAsync(cancellationToken);
            result = await services.GetRequiredService<KeyRewrapper>().RewrapAllAsync(batchSize: 500, cancellationToken);
        }
        catch (KeyProviderUnavailableException ex)
        {
            // Keys re-wrapped so far stay re-wrapped; a second run continues where this one stopped.
            LogUnavailable(logger, "key provider", ex.ErrorCode ?? "none");
            return 2;
        }
        catch (CatalogUnavailableException ex)
        {
            LogUnavailable(logger, "catalog", ex.InnerException?.GetType().Name ?? "none");
            return 2;
        }

        await services.GetRequiredService<IRetentionCatalog>().RecordJobRunAsync(
            new JobRun(JobName, Environment.MachineName, started, time.GetUtcNow(), result.Rewrapped, result.Failed, Lag: null, ErrorCode: result.Failed > 0 ? "unwrap-failed" : null),
            cancellationToken);
        LogRewrapped(logger, result.Examined, result.Rewrapped, result.Failed);
        return result.Failed == 0 ? 0 : 1;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "rewrap-keys stopped: the {Backend} is not answering ({Code}). Run it again when it is back.")]
    private static partial void LogUnavailable(ILogger logger, string backend, string code);

    [LoggerMessage(Level = LogLevel.Information, Message = "rewrap-keys: {Examined} live data keys examined, {Rewrapped} re-wrapped, {Failed} failed.")]
    private static partial void LogRewrapped(ILogger logger, int examined, int rewrapped, int failed);
}
