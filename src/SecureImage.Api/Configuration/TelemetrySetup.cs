using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using SecureImage.Api.Jobs;
using SecureImage.Api.Telemetry;
using SecureImage.Core.Diagnostics;

namespace SecureImage.Api.Configuration;

internal static class TelemetrySetup
{
    /// <summary>
    /// Traces (the service's own spans and ASP.NET Core's server spans) and metrics through OpenTelemetry,
    /// exported over OTLP when <c>SecureImage:Telemetry:OtlpEndpoint</c> (or the standard
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>) is set. Nothing personal leaves the process: spans carry opaque
    /// ids, sizes, formats and codes, and <see cref="TelemetryRedaction"/> drops every URL query, full
    /// URL and user agent before any exporter sees a span. Health probes are not traced.
    /// </summary>
    public static IServiceCollection AddSecureImageTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection($"{SecureImageSections.Root}:{TelemetryOptions.Section}");
        services.AddOptions<TelemetryOptions>().Bind(section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<TelemetryOptions>, ValidateTelemetryOptions>();
        services.AddSingleton<ServiceMetrics>();

        // Read here because the exporters are configured while services are registered; an invalid value
        // still stops start-up through the validator above.
        var options = section.Get<TelemetryOptions>() ?? new TelemetryOptions();
        var endpoint = TelemetryOptionsParsing.OtlpBase(options.OtlpEndpoint);
        var standardEndpoint = !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var grpc = options.OtlpProtocol == "Grpc";

        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("SecureImage"))
            .WithTracing(tracing =>
            {
                tracing.AddSource(Tracing.SourceName);
                tracing.AddAspNetCoreInstrumentation(aspNetCore => aspNetCore.Filter = context => !context.Request.Path.StartsWithSegments("/health", StringComparison.Ordinal));
                tracing.AddProcessor(new TelemetryRedaction());
                if (endpoint is not null)
                {
                    tracing.AddOtlpExporter(exporter => Configure(exporter, endpoint, "v1/traces", grpc));
                }
                else if (standardEndpoint)
                {
                    tracing.AddOtlpExporter();
                }
            })
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(ServiceMetrics.MeterName, RetentionMetrics.MeterName);
                metrics.AddAspNetCoreInstrumentation();
                if (endpoint is not null || standardEndpoint)
                {
                    metrics.AddOtlpExporter((exporter, reader) =>
                    {
                        if (endpoint is not null)
                        {
                            Configure(exporter, endpoint, "v1/metrics", grpc);
                        }

                        reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)Math.Clamp(options.MetricExportInterval.TotalMilliseconds, 1, int.MaxValue);
                    });
                }
            });
        return services;
    }

    private static void Configure(OtlpExporterOptions exporter, Uri endpoint, string signalPath, bool grpc)
    {
        exporter.Protocol = grpc ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf;

        // Set in code, the http/protobuf endpoint is used as given: the signal's path is appended here.
        exporter.Endpoint = grpc ? endpoint : new Uri(endpoint, signalPath);
    }
}

/// <summary>
/// Drops attributes that can carry personal data or credentials from every span before export: URL
/// queries (a download link's signature and expiry live there), full URLs, user agents and client
/// addresses. Paths stay: they hold opaque ids only.
/// </summary>
internal sealed class TelemetryRedaction : BaseProcessor<Activity>
{
    /// <summary>Attribute names that are never exported.</summary>
    public static readonly IReadOnlyList<string> DroppedTags =
        ["url.query", "url.full", "http.url", "http.target", "user_agent.original", "http.user_agent", "client.address", "http.client_ip", "enduser.id"];

    public override void OnEnd(Activity data)
    {
        ArgumentNullException.ThrowIfNull(data);
        foreach (var tag in DroppedTags)
        {
            if (data.GetTagItem(tag) is not null)
            {
                data.SetTag(tag, null);
            }
        }
    }
}
