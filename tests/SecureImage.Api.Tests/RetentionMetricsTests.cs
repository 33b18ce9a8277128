using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using SecureImage.Api.Jobs;

namespace SecureImage.Api.Tests;

public sealed class RetentionMetricsTests
{
    [Fact]
    public void A_finished_sweep_is_published_as_erased_failed_and_lag_instruments()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var metrics = new RetentionMetrics(services.GetRequiredService<IMeterFactory>());
        var seen = new Dictionary<string, double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == RetentionMetrics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => seen[instrument.Name] = seen.GetValueOrDefault(instrument.Name) + value);
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => seen[instrument.Name] = value);
        listener.Start();

        metrics.SweepFinished(DateTimeOffset.UnixEpoch.AddDays(1), erased: 3, failed: 1, lag: TimeSpan.FromSeconds(5));
        metrics.OrphansDeleted(2);
        listener.RecordObservableInstruments();

        Assert.Equal(3, seen["secureimage.retention.erased"]);
        Assert.Equal(1, seen["secureimage.retention.failed"]);
        Assert.Equal(2, seen["secureimage.reconciliation.orphans_deleted"]);
        Assert.Equal(5, seen["secureimage.retention.sweep_lag"]);
        Assert.Equal(TimeSpan.FromSeconds(5), metrics.SweepLag);
    }
}
