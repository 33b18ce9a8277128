using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using SecureImage.Api.Jobs;

namespace SecureImage.Api.Configuration;

internal static class TelemetrySetup
{
    /// <summary>
    /// The service's meters through OpenTelemetry, exported over OTLP when the standard
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set. Instruments carry counts and codes only, never
    /// personal data.
    /// </summary>
    public static IServiceCollection AddSecureImageTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        var exportOtlp = !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("SecureImage"))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(RetentionMetrics.MeterName);
                if (exportOtlp)
                {
                    metrics.AddOtlpExporter();
                }
            });
        return services;
    }
}
