using System.Diagnostics.Metrics;

namespace SecureImage.Api.Jobs;

/// <summary>
/// Retention figures as OpenTelemetry-compatible instruments (meter <c>SecureImage.Retention</c>) and as
/// the latest values readiness reports. Sweep lag — the age of the oldest expired image not yet
/// erased — is the first-class figure: it should stay under two sweep intervals.
/// </summary>
internal sealed class RetentionMetrics : IDisposable
{
    public const string MeterName = "SecureImage.Retention";
    private readonly Meter _meter;
    private readonly Counter<long> _erased;
    private readonly Counter<long> _failed;
    private readonly Counter<long> _orphansDeleted;
    private long _lagMilliseconds;
    private long _lastSweepUnixMs;

    public RetentionMetrics(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(MeterName);
        _erased = _meter.CreateCounter<long>("secureimage.retention.erased", unit: "{image}", description: "Images erased by the retention sweep.");
        _failed = _meter.CreateCounter<long>("secureimage.retention.failed", unit: "{image}", description: "Erase attempts that failed and will be retried.");
        _orphansDeleted = _meter.CreateCounter<long>("secureimage.reconciliation.orphans_deleted", unit: "{blob}", description: "Orphan blobs deleted by reconciliation.");
        _meter.CreateObservableGauge("secureimage.retention.sweep_lag", () => Interlocked.Read(ref _lagMilliseconds) / 1000.0, unit: "s", description: "Age of the oldest expired image not yet erased.");
    }

    public TimeSpan? SweepLag => LastSweepAt is null ? null : TimeSpan.FromMilliseconds(Interlocked.Read(ref _lagMilliseconds));

    public DateTimeOffset? LastSweepAt => Interlocked.Read(ref _lastSweepUnixMs) is var ms && ms > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;

    public void SweepFinished(DateTimeOffset at, int erased, int failed, TimeSpan? lag)
    {
        _erased.Add(erased);
        _failed.Add(failed);
        Interlocked.Exchange(ref _lagMilliseconds, (long)(lag ?? TimeSpan.Zero).TotalMilliseconds);
        Interlocked.Exchange(ref _lastSweepUnixMs, at.ToUnixTimeMilliseconds());
    }

    public void OrphansDeleted(int count) => _orphansDeleted.Add(count);

    public void Dispose() => _meter.Dispose();
}
