namespace SecureImage.Core.Retention;

/// <summary>
/// Lets the sweep's blob deletes share the blob store with client requests. With no request in flight the sweep
/// runs at full parallelism; while requests are in flight it deletes one blob at a time, at most
/// <c>busyDeletesPerSecond</c>, so an upload never queues behind a burst of deletes (Azurite serves both on one
/// thread) and the sweep still progresses under sustained load.
/// </summary>
/// <remarks>
/// The gate looks at the request count each time a delete asks to start (every <see cref="PollInterval"/> while it
/// waits; one waiter at a time polls). A delete already running is never interrupted, so when requests arrive
/// during an idle burst, at most <c>parallelism</c> deletes are ahead of them.
/// </remarks>
internal sealed class SweepDeleteGate(IRequestActivity activity, TimeProvider timeProvider, int parallelism, double busyDeletesPerSecond)
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);

    private readonly TimeSpan _busyInterval = TimeSpan.FromSeconds(1 / busyDeletesPerSecond);
    private readonly SemaphoreSlim _turnstile = new(1, 1);
    private readonly Lock _lock = new();
    private int _inFlight;
    private long? _lastBusyStart;

    public async Task EnterAsync(CancellationToken cancellationToken)
    {
        await _turnstile.WaitAsync(cancellationToken);
        try
        {
            while (!TryEnter())
            {
                await Task.Delay(PollInterval, timeProvider, cancellationToken);
            }
        }
        finally
        {
            _turnstile.Release();
        }
    }

    public void Exit()
    {
        lock (_lock)
        {
            _inFlight--;
        }
    }

    private bool TryEnter()
    {
        lock (_lock)
        {
            if (activity.RequestsInFlight <= 0)
            {
                if (_inFlight >= parallelism)
                {
                    return false;
                }
            }
            else
            {
                var now = timeProvider.GetTimestamp();
                if (_inFlight > 0 || (_lastBusyStart is { } last && timeProvider.GetElapsedTime(last, now) < _busyInterval))
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
