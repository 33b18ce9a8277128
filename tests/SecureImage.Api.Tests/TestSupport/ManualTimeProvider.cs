using System.Diagnostics;

namespace SecureImage.Api.Tests.TestSupport;

/// <summary>
/// A clock the test moves by hand. Frozen by default, so a test can stand on an exact millisecond;
/// flowing, it also moves with real time. Hangfire schedules on the machine's clock whatever this says:
/// the jobs run on time, and read this clock for what "now" is.
/// </summary>
public sealed class ManualTimeProvider(DateTimeOffset start, bool flowing = false) : TimeProvider
{
    private readonly Lock _gate = new();
    private DateTimeOffset _anchor = start;
    private long _anchorTimestamp = Stopwatch.GetTimestamp();

    public ManualTimeProvider()
        : this(new DateTimeOffset(2026, 11, 23, 9, 0, 0, TimeSpan.Zero))
    {
    }

    public bool Flowing { get; set; } = flowing;

    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate)
        {
            return Flowing ? _anchor + Stopwatch.GetElapsedTime(_anchorTimestamp) : _anchor;
        }
    }

    public void Advance(TimeSpan by) => Set(GetUtcNow() + by);

    public void Set(DateTimeOffset now)
    {
        lock (_gate)
        {
            _anchor = now;
            _anchorTimestamp = Stopwatch.GetTimestamp();
        }
    }
}
