namespace SecureImage.Api.Jobs;

/// <summary>A wake-up for a polling loop (Kakao fetches and callbacks, previews); one subclass per loop, so each is its own singleton.</summary>
internal abstract class WakeSignal
{
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Take this before looking for work, then wait on it: a wake in between is not lost.</summary>
    public Task Next => Volatile.Read(ref _next).Task;

    public void Wake() => Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
}
