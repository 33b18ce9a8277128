namespace SecureImage.Core.Threading;

/// <summary>
/// CPU-heavy work on untrusted input (preview decodes): at most <c>slots</c> items at once, each on a thread of its own
/// at the lowest CPU priority (<see cref="LowPriorityWorkers.RunOnOwnThreadAsync{T}"/>), each with a deadline.
/// </summary>
/// <remarks>
/// <para>A caller takes a <see cref="Turn"/> before it prepares the work's input, so whatever the input costs (a
/// decrypted original) exists for at most <c>slots</c> callers at once, however many ask.</para>
/// <para>At the deadline the work's token is cancelled and its caller gets a <see cref="TimeoutException"/>. Work that
/// stops within <c>stopGrace</c> frees its slot as it stops. Work
/// that does not is abandoned: its slot is freed for the next item and its thread left to end by itself (it holds
/// nothing anyone waits for). At most <c>slots</c> items are abandoned at once; beyond that a stuck item keeps its slot
/// until it ends, so inputs that never finish cannot pile up threads and memory without bound.</para>
/// </remarks>
public sealed class DeadlineWork
{
    private readonly SemaphoreSlim _slots;
    private readonly int _maxAbandoned;
    private readonly TimeSpan _timeout;
    private readonly TimeSpan _stopGrace;
    private readonly TimeProvider _time;
    private readonly string _threadName;
    private int _running;
    private int _abandoned;

    public DeadlineWork(int slots, TimeSpan timeout, TimeSpan stopGrace, TimeProvider timeProvider, string threadName)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(stopGrace, TimeSpan.Zero);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _slots = new SemaphoreSlim(slots, slots);
        _maxAbandoned = slots;
        _timeout = timeout;
        _stopGrace = stopGrace;
        _time = timeProvider;
        _threadName = threadName;
    }

    /// <summary>Items whose threads are running now (abandoned ones included).</summary>
    public int Running => Volatile.Read(ref _running);

    /// <summary>Items past their deadline and their grace that have not ended and no longer hold a slot.</summary>
    public int Abandoned => Volatile.Read(ref _abandoned);

    /// <summary>Waits for a free slot. Dispose the turn when done with it (with or without having run work in it).</summary>
    public async Task<Turn> WaitForTurnAsync(CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new Turn(_slots);
    }

    /// <summary>
    /// Runs <paramref name="work"/> in <paramref name="turn"/> (once per turn) and returns its result, or throws
    /// <see cref="TimeoutException"/> at the deadline. A result that arrives after its caller stopped waiting goes to
    /// <paramref name="discard"/>. <paramref name="cancellationToken"/> cancels the work's token too; the call then returns
    /// once the work has stopped, or after the stop grace with the work abandoned.
    /// </summary>
    public async Task<T> RunAsync<T>(Turn turn, Func<CancellationToken, T> work, Action<T> discard, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(turn);
        ArgumentNullException.ThrowIfNull(work);
        ArgumentNullException.ThrowIfNull(discard);
        var run = turn.StartRun();
        var tokens = new RunTokens(_timeout, _time, cancellationToken);
        Interlocked.Increment(ref _running);
        var task = LowPriorityWorkers.RunOnOwnThreadAsync(() => work(tokens.Token), _threadName);

        // Whenever the work really ends: its slot hold goes (unless given up at abandonment), and the count.
        _ = task.ContinueWith(
            _ =>
            {
                Interlocked.Decrement(ref _running);
                if (run.EndHold() == RunHold.Abandoned)
                {
                    Interlocked.Decrement(ref _abandoned);
                }

                tokens.Release();
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        try
        {
            return await task.WaitAsync(tokens.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The deadline (the waiter or the work noticed it first; either way it passed).
            DiscardWhenDone(task, discard);
            await StopOrAbandonAsync(task, run).ConfigureAwait(false);
            throw new TimeoutException("The work did not finish before its deadline.");
        }
        catch (OperationCanceledException)
        {
            // The caller stopped waiting (the preview pass giving way to requests, a shutdown): the work's token is
            // cancelled too. Wait for it to stop, so its memory is gone when this returns, or abandon it like one past
            // its deadline, so work that ignores its token cannot keep the slot.
            DiscardWhenDone(task, discard);
            await StopOrAbandonAsync(task, run).ConfigureAwait(false);
            throw;
        }
        finally
        {
            tokens.Release();
        }
    }

    private static void DiscardWhenDone<T>(Task<T> task, Action<T> discard) =>
        _ = task.ContinueWith(done => discard(done.Result), CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    private async Task StopOrAbandonAsync(Task task, Run run)
    {
        try
        {
            await task.WaitAsync(_stopGrace, _time).ConfigureAwait(false);
            return;
        }
        catch (TimeoutException)
        {
            // Still running: abandoned below, if the bound allows.
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // It stopped (with the cancellation, or a fault of its own): its slot went with it.
            return;
        }

        if (Interlocked.Increment(ref _abandoned) > _maxAbandoned || !run.Abandon())
        {
            // Too many stuck already (its slot stays held until it ends), or it ended meanwhile.
            Interlocked.Decrement(ref _abandoned);
        }
    }

    /// <summary>The deadline and the caller's token, linked; disposed by whichever of the caller and the work is done last.</summary>
    private sealed class RunTokens
    {
        private readonly CancellationTokenSource _deadline;
        private readonly CancellationTokenSource _linked;
        private int _users = 2;

        public RunTokens(TimeSpan timeout, TimeProvider timeProvider, CancellationToken cancellationToken)
        {
            _deadline = new CancellationTokenSource(timeout, timeProvider);
            _linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _deadline.Token);
            Token = _linked.Token;
        }

        public CancellationToken Token { get; }

        public void Release()
        {
            if (Interlocked.Decrement(ref _users) == 0)
            {
                _linked.Dispose();
                _deadline.Dispose();
            }
        }
    }

    internal enum RunHold
    {
        Held,
        Ended,
        Abandoned,
    }

    /// <summary>One slot, held by its caller until disposed and by the work run in it until that work ends or is abandoned.</summary>
    public sealed class Turn : IDisposable
    {
        private readonly SemaphoreSlim _slots;
        private int _holders = 1;
        private int _disposed;
        private int _ran;

        internal Turn(SemaphoreSlim slots) => _slots = slots;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                Release();
            }
        }

        internal Run StartRun()
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) == 1, this);
            if (Interlocked.Exchange(ref _ran, 1) == 1)
            {
                throw new InvalidOperationException("A turn runs one piece of work.");
            }

            Interlocked.Increment(ref _holders);
            return new Run(this);
        }

        internal void Release()
        {
            if (Interlocked.Decrement(ref _holders) == 0)
            {
                _slots.Release();
            }
        }
    }

    /// <summary>The work's hold on its turn: given back once, when the work ends or when it is abandoned.</summary>
    internal sealed class Run(Turn turn)
    {
        private int _state = (int)RunHold.Held;

        /// <summary>The work ended: returns what its hold was (still held, or already given up by <see cref="Abandon"/>).</summary>
        public RunHold EndHold()
        {
            var previous = (RunHold)Interlocked.Exchange(ref _state, (int)RunHold.Ended);
            if (previous == RunHold.Held)
            {
                turn.Release();
            }

            return previous;
        }

        /// <summary>Gives the hold up while the work still runs; false when it ended first.</summary>
        public bool Abandon()
        {
            if (Interlocked.CompareExchange(ref _state, (int)RunHold.Abandoned, (int)RunHold.Held) != (int)RunHold.Held)
            {
                return false;
            }

            turn.Release();
            return true;
        }
    }
}
