namespace SecureImage.Core.Retention;

/// <summary>
/// Lets the sweep's blob deletes share the blob store with client requests. Once no request has been in flight or ended
/// for <see cref="QuietBeforeFullParallelism"/> the sweep runs at full parallelism; otherwise it deletes one blob at a
/// time, at most <c>busyDeletesPerSecond</c> and each after a pause of <see cref="BusyPauseFactor"/> times the last such
/// delete's duration (at most <see cref="MaxBusyPause"/>), so an upload never queues behind a burst of deletes (Azurite
/// serves both on one thread), a blob store that is slow to delete gets fewer of them, and the sweep still progresses
/// under sustained load.
/// </summary>
/// <remarks>
/// The gate looks at the request count, and at when the last request ended, each time a delete asks to start (every
/// <see cref="PollInterval"/> while it waits; one waiter at a time polls). The quiet it asks for keeps the bursts out of a
/// steady load's short gaps: at the first instant with nothing in flight, the next request arrived to 16 deletes ahead
/// of it. A delete already running is never interrupted, so when requests arrive during an idle burst, at most
/// <c>parallelism</c> deletes are ahead of them. One gate serves every run of a sweeper.
/// </remarks>
internal sealed class SweepDeleteGate(IRequestActivity activity, TimeProvider timeProvider, int parallelism, double busyDeletesPerSecond)
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);

    /// <summary>How long no request must have been in flight before the deletes go at full parallelism again.</summary>
    public static readonly TimeSpan QuietBeforeFullParallelism = TimeSpan.FromSeconds(1);

    /// <summary>
    /// While requests are in flight, a delete that took <c>d</c> is followed by at least <c>9 d</c> without one, so busy deletes
    /// take roughly a tenth of the time at most (<c>d</c> is the call's own time, queueing included). A cheap delete (Azure
    /// Storage: ≈ 10–20 ms) leaves the pace to <c>busyDeletesPerSecond</c>; an expensive one (Azurite with thousands of blobs:
    /// 20–70 ms of its only thread) slows it.
    /// </summary>
    public const int BusyPauseFactor = 9;

    /// <summary>The longest pause after one busy delete: a delete that hung on retries must not stop the sweep for 9 times as long.</summary>
    public static readonly TimeSpan MaxBusyPause = TimeSpan.FromSeconds(2);

    private readonly TimeSpan _busyInterval = TimeSpan.FromSeconds(1 / busyDeletesPerSecond);
    private readonly SemaphoreSlim _turnstile = new(1, 1);
    private readonly Lock _lock = new();
    private int _inFlight;
    private long? _lastBusyStart;
    private long? _lastSeenBusy;
    private long? _lastBusyExit;
    private TimeSpan _lastBusyPause;

    /// <summary>A delete's turn: hand it back to <see cref="Exit"/>.</summary>
    public readonly record struct Turn(long StartedAt, bool Busy);

    public async Task<Turn> EnterAsync(CancellationToken cancellationToken)
    {
        await _turnstile.WaitAsync(cancellationToken);
        try
        {
            Turn turn;
            while (!TryEnter(out turn))
            {
                await Task.Delay(PollInterval, timeProvider, cancellationToken);
            }

            return turn;
        }
        finally
        {
            _turnstile.Release();
        }
    }

    public void Exit(Turn turn)
    {
        lock (_lock)
        {
            _inFlight--;
            if (turn.Busy)
            {
                // Only a delete that ran alone measures the store: one of an idle burst also waited behind its 15 siblings.
                var now = timeProvider.GetTimestamp();
                var pause = timeProvider.GetElapsedTime(turn.StartedAt, now) * BusyPauseFactor;
                _lastBusyPause = pause < MaxBusyPause ? pause : MaxBusyPause;
                _lastBusyExit = now;
            }
        }
    }

    private bool TryEnter(out Turn turn)
    {
        lock (_lock)
        {
            var now = timeProvider.GetTimestamp();
            turn = default;
            if (activity.RequestsInFlight > 0)
            {
                _lastSeenBusy = now;
            }

            // The activity's own record of the last request's end catches requests that came and went between two polls,
            // and the quiet that spans two runs of the sweep.
            var quiet = activity.IsQuietFor(timeProvider, QuietBeforeFullParallelism)
                && (_lastSeenBusy is not { } seen || timeProvider.GetElapsedTime(seen, now) >= QuietBeforeFullParallelism);
            if (quiet)
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
                    || (_lastBusyExit is { } exit && timeProvider.GetElapsedTime(exit, now) < _lastBusyPause))
                {
                    return false;
                }

                _lastBusyStart = now;
            }

            _inFlight++;
            turn = new Turn(now, Busy: !quiet);
            return true;
        }
    }
}
