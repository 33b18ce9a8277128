namespace SecureImage.Core.Retention;

/// <summary>
/// Lets the sweep's blob deletes share the blob store with client requests. Once no request has been seen in flight
/// for <see cref="QuietBeforeFullParallelism"/> the sweep runs at full parallelism; otherwise it deletes one blob at a
/// time, at most <c>busyDeletesPerSecond</c> and each after a pause of <see cref="BusyPauseFactor"/> times the last
/// delete's own duration, so an upload never queues behind a burst of deletes (Azurite serves both on one thread), a
/// blob store that is slow to delete gets fewer of them, and the sweep still progresses under sustained load.
/// </summary>
/// <remarks>
/// The gate looks at the request count each time a delete asks to start (every <see cref="PollInterval"/> while it
/// waits; one waiter at a time polls). The quiet it asks for is what keeps the bursts out of a steady load's short
/// gaps: at the first instant with nothing in flight, the next request arrived to 16 deletes ahead of it. A delete
/// already running is never interrupted, so when requests arrive during an idle burst, at most <c>parallelism</c>
/// deletes are ahead of them.
/// </remarks>
internal sealed class SweepDeleteGate(IRequestActivity activity, TimeProvider timeProvider, int parallelism, double busyDeletesPerSecond)
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);

    /// <summary>How long no request must have been seen before the deletes go at full parallelism again.</summary>
    public static readonly TimeSpan QuietBeforeFullParallelism = TimeSpan.FromSeconds(1);

    /// <summary>
    /// While requests are in flight, a delete that took <c>d</c> is followed by at least <c>9 d</c> without one: deletes hold
    /// the blob store at most a tenth of the time. A cheap delete (Azure Storage: ≈ 10–20 ms) leaves the pace to
    /// <c>busyDeletesPerSecond</c>; an expensive one (Azurite with thousands of blobs: ≈ 50 ms of its only thread) slows it.
    /// </summary>
    public const int BusyPauseFactor = 9;

    private readonly TimeSpan _busyInterval = TimeSpan.FromSeconds(1 / busyDeletesPerSecond);
    private readonly SemaphoreSlim _turnstile = new(1, 1);
    private readonly Lock _lock = new();
    private int _inFlight;
    private long? _lastBusyStart;
    private long? _lastSeenBusy;
    private long? _lastExit;
    private TimeSpan _lastDuration;

    /// <summary>Waits for a delete's turn; returns when it started, for <see cref="Exit"/>.</summary>
    public async Task<long> EnterAsync(CancellationToken cancellationToken)
    {
        await _turnstile.WaitAsync(cancellationToken);
        try
        {
            long started;
            while (!TryEnter(out started))
            {
                await Task.Delay(PollInterval, timeProvider, cancellationToken);
            }

            return started;
        }
        finally
        {
            _turnstile.Release();
        }
    }

    /// <param name="started">What <see cref="EnterAsync"/> returned for this delete.</param>
    public void Exit(long started)
    {
        lock (_lock)
        {
            _inFlight--;
            var now = timeProvider.GetTimestamp();
            _lastDuration = timeProvider.GetElapsedTime(started, now);
            _lastExit = now;
        }
    }

    private bool TryEnter(out long now)
    {
        lock (_lock)
        {
            now = timeProvider.GetTimestamp();
            if (activity.RequestsInFlight > 0)
            {
                _lastSeenBusy = now;
            }

            if (_lastSeenBusy is not { } seen || timeProvider.GetElapsedTime(seen, now) >= QuietBeforeFullParallelism)
            {
                if (_inFlight >= parallelism)
                {
                    return false;
                }
            }
            else
            {
                if (_inFlight > 0
                    || (_lastBusyStart is { } last && timeProvider.GetElapsedTime(last, now) < _busyInterval)
                    || (_lastExit is { } exit && timeProvider.GetElapsedTime(exit, now) < _lastDuration * BusyPauseFactor))
                {
                    return false;
                }

                _lastBusyStart = now;
            }

            _inFlight++;
            return true;
        }
    }
}
