using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using SecureImage.Core.Blobs;
using SecureImage.Core.Catalog;
using SecureImage.Core.Crypto;

namespace SecureImage.Api.Features.Health;

internal static class HealthEndpoints
{
    public const string ReadyTag = "ready";

    public static IHealthChecksBuilder AddSecureImageHealthChecks(this IServiceCollection services) =>
        services.AddHealthChecks()
            .AddCheck<CatalogHealthCheck>("catalog", tags: [ReadyTag])
            .AddCheck<BlobStoreHealthCheck>("blobStore", tags: [ReadyTag])
            .AddCheck<KeyProviderHealthCheck>("keyProvider", tags: [ReadyTag]);

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
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy("The key provider is not answering.");
        }
    }
}
