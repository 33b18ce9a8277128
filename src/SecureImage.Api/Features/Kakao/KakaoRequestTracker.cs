using System.Collections.Concurrent;
using SecureImage.Core.Kakao;

namespace SecureImage.Api.Features.Kakao;

/// <summary>
/// In-memory watchers for skill requests still waiting on their fetches within the response budget.
/// Only a convenience: the queue is the record (callbacks are composed from it), so a restart loses a
/// watcher, never an image or an answer.
/// </summary>
internal sealed class KakaoRequestTracker
{
    private readonly ConcurrentDictionary<Guid, Watcher> _watchers = new();

    public Watcher Watch(Guid requestId, int count, IEnumerable<KakaoImageOutcome> settled)
    {
        var watcher = new Watcher(count);
        foreach (var outcome in settled)
        {
            watcher.Report(outcome);
        }

        _watchers[requestId] = watcher;
        return watcher;
    }

    public void Report(Guid requestId, KakaoImageOutcome outcome)
    {
        if (_watchers.TryGetValue(requestId, out var watcher))
        {
            watcher.Report(outcome);
        }
    }

    public void Forget(Guid requestId) => _watchers.TryRemove(requestId, out _);

    internal sealed class Watcher
    {
        private readonly ConcurrentDictionary<int, KakaoImageOutcome> _outcomes = new();
        private readonly TaskCompletionSource _settled = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly int _count;

        public Watcher(int count)
        {
            _count = count;
            if (count == 0)
            {
                _settled.TrySetResult();
            }
        }

        /// <summary>Completes when every URL is stored or given up.</summary>
        public Task Settled => _settled.Task;

        public void Report(KakaoImageOutcome outcome)
        {
            _outcomes[outcome.Position] = outcome;
            if (_outcomes.Count >= _count)
            {
                _settled.TrySetResult();
            }
        }

        /// <summary>Every position's outcome so far; those not reported yet are pending.</summary>
        public IReadOnlyList<KakaoImageOutcome> Snapshot() =>
            Enumerable.Range(0, _count).Select(i => _outcomes.TryGetValue(i, out var o) ? o : new KakaoImageOutcome(i, null, null)).ToList();

        /// <summary>True when settled within <paramref name="timeout"/>.</summary>
        public async Task<bool> WaitAsync(TimeSpan timeout, TimeProvider timeProvider, CancellationToken cancellationToken)
        {
            if (timeout <= TimeSpan.Zero)
            {
                return Settled.IsCompleted;
            }

            try
            {
                await Settled.WaitAsync(timeout, timeProvider, cancellationToken);
                return true;
            }
            catch (TimeoutException)
            {
                return false;
            }
        }
    }
}

/// <summary>Wakes the fetch worker when new fetches were queued, so it need not wait for its next poll.</summary>
internal sealed class KakaoFetchSignal : Jobs.WakeSignal;

/// <summary>Wakes the callback sender when a fetch settled or a callback was armed here (other instances' work is found by polling).</summary>
internal sealed class KakaoCallbackSignal : Jobs.WakeSignal;
