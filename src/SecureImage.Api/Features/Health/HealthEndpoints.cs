using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using SecureImage.Core.Blobs;
using SecureImage.Core.Catalog;
using SecureImage.Core.Crypto;
using SecureImage.Core.Retention;
using Microsoft.Extensions.Options;
using SecureImage.Api.Configuration;
using SecureImage.Api.Jobs;

namespace SecureImage.Api.Features.Health;

internal static class HealthEndpoints
{
    public const string ReadyTag = "ready";

    public static IHealthChecksBuilder AddSecureImageHealthChecks(this IServiceCollection services) =>
        services.AddHealthChecks()
            .AddCheck<CatalogHealthCheck>("catalog", tags: [ReadyTag])
            .AddCheck<BlobStoreHealthCheck>("blobStore", tags: [ReadyTag])
            .AddCheck<KeyProviderHealthCheck>("keyProvider", tags: [ReadyTag])
            .AddCheck<RetentionHealthCheck>("retention", tags: [ReadyTag]);

    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync }).AllowAnonymous();
        routes.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains(ReadyTag), ResponseWriter = WriteAsync }).AllowAnonymous();
        return routes;
    }

    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        var body = new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(
                e => e.Key,
                e => new { status = e.Value.Status.ToString(), description = e.Value.Description, data = e.Value.Data.Count == 0 ? null : e.Value.Data }),
        };
        return JsonSerializer.SerializeAsync(context.Response.Body, body, cancellationToken: context.RequestAborted);
    }
}

internal sealed class CatalogHealthCheck(IImageCatalog catalog) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await catalog.CheckAvailableAsync(cancellationToken);
            return HealthCheckResult.Healthy("The catalog answers.");
        }
        catch (CatalogUnavailableException)
        {
            return HealthCheckResult.Unhealthy("The catalog is not answering.");
        }
    }
}

internal sealed class BlobStoreHealthCheck(IBlobStore blobs) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await blobs.CheckAvailableAsync(cancellationToken);
            return HealthCheckResult.Healthy("The blob store answers.");
        }
        catch (BlobStoreUnavailableException ex)
        {
            return HealthCheckResult.Unhealthy($"The blob store is not answering ({ex.ErrorCode ?? "no error code"}).");
        }
    }
}

internal sealed class KeyProviderHealthCheck(IKeyEncryptionKey kek) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await kek.CheckAvailableAsync(cancellationToken);
            return HealthCheckResult.Healthy("The key provider answers.");
        }
        catch (KeyProviderUnavailableException ex)
        {
            return HealthCheckResult.Unhealthy($"The key provider is not answering ({ex.ErrorCode ?? "no error code"}).");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy("The key provider is not answering.");
        }
    }
}

/// <summary>
/// Sweep lag (age of the oldest expired image not yet erased), read live from the catalog. Above two
/// sweep intervals the service is degraded: still ready to serve, but retention is behind.
/// </summary>
internal sealed class RetentionHealthCheck(IRetentionCatalog catalog, RetentionMetrics metrics, IOptions<RetentionOptions> options, TimeProvider timeProvider) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        DateTimeOffset? oldest;
        try
        {
            oldest = await catalog.OldestOverdueExpiryAsync(timeProvider.GetUtcNow(), cancellationToken);
        }
        catch (Core.Catalog.CatalogUnavailableException)
        {
            return HealthCheckResult.Unhealthy("The catalog is not answering.");
        }

        var lag = oldest is null ? TimeSpan.Zero : timeProvider.GetUtcNow() - oldest.Value;
        var data = new Dictionary<string, object>
        {
            ["sweepLagSeconds"] = Math.Round(lag.TotalSeconds, 3),
            ["sweepIntervalSeconds"] = options.Value.SweepInterval.TotalSeconds,
        };
        if (metrics.LastSweepAt is { } last)
        {
            data["lastSweepAt"] = last;
        }

        return lag > 2 * options.Value.SweepInterval
            ? HealthCheckResult.Degraded("Retention is behind: expired images wait longer than two sweep intervals.", data: data)
            : HealthCheckResult.Healthy("Retention is keeping up.", data);
    }
}
