namespace SecureImage.Core.Kakao;

/// <summary>
/// One image URL to fetch under a Kakao consent. <see cref="Url"/> is a capability URL that expires
/// at <see cref="Deadline"/>; it is kept only until the fetch is done or given up. The user key is
/// never part of it.
/// </summary>
public sealed record KakaoFetch(Guid Id, Guid RequestId, int Position, string BotId, Guid ConsentId, string Url, DateTimeOffset Deadline);

/// <summary>A fetch claimed under a lease; <see cref="Attempt"/> counts this claim (1 on the first).</summary>
public sealed record KakaoFetchClaim(KakaoFetch Fetch, int Attempt);

public enum KakaoFetchState
{
    Pending,
    Done,
    Failed,
}

/// <summary>A fetch's progress as the queue records it (no URL).</summary>
public sealed record KakaoFetchStatus(Guid Id, Guid RequestId, int Position, KakaoFetchState State, int Attempts, Guid? ImageId, string? LastError, DateTimeOffset Deadline);

/// <summary>A URL of the request that was settled on arrival (refused, already expired): recorded as a failed fetch without a URL, so the request's result can be read from the queue alone.</summary>
public sealed record KakaoRefusal(Guid Id, int Position, string Reason);

/// <summary>
/// Where and until when a request's final answer may be POSTed. <see cref="Url"/> works once and for
/// about a minute (<see cref="ValidUntil"/>); <see cref="Token"/> is a secret sent back with it. Both are
/// forgotten once the callback is answered, given up or expired. <see cref="DueAt"/> is when it is sent
/// with what is known if the images are not all settled by then. <see cref="RefusedBeyondLimit"/> counts
/// URLs past the ten a request may carry (they have no fetch row).
/// </summary>
public sealed record KakaoCallback(string Url, string? Token, DateTimeOffset DueAt, DateTimeOffset ValidUntil, int RefusedBeyondLimit);

/// <summary>One skill request as the queue persists it, in one transaction: its fetches, its refusals, and its callback if it offered one.</summary>
public sealed record KakaoRequest(Guid RequestId, string BotId, Guid ConsentId, IReadOnlyList<KakaoFetch> Fetches, IReadOnlyList<KakaoRefusal> Refusals, KakaoCallback? Callback);

/// <summary>
/// A callback's life: <see cref="Held"/> while the skill decides how to answer (never sent: Kakao was not
/// told to expect it), <see cref="Pending"/> once the skill answered <c>useCallback</c>, <see cref="Sending"/>
/// while one instance POSTs it; then <see cref="Sent"/>, <see cref="Failed"/> (the POST failed; not retried,
/// the URL works once), <see cref="Answered"/> (the skill answered directly, the callback was not needed) or
/// <see cref="Expired"/> (its minute passed before it was sent, or while a sender that died held it).
/// </summary>
public enum KakaoCallbackState
{
    Held,
    Pending,
    Sending,
    Sent,
    Failed,
    Answered,
    Expired,
}

/// <summary>A callback claimed for sending by this instance alone: the URL and token to use, once.</summary>
public sealed record KakaoCallbackClaim(Guid RequestId, string BotId, string Url, string? Token, int RefusedBeyondLimit);

/// <summary>A callback's progress as the queue records it (no URL, no token).</summary>
public sealed record KakaoCallbackStatus(Guid RequestId, KakaoCallbackState State, DateTimeOffset DueAt, DateTimeOffset ValidUntil, DateTimeOffset? ClaimedAt, DateTimeOffset? FinishedAt, bool HoldsUrl);

/// <summary>
/// The durable list of pending Kakao fetches and of the callbacks waiting on them, so that a crash or
/// restart after the skill answered loses neither images whose URLs still work nor the user's answer.
/// Fetch claims are leases: an item whose lease ran out (its process died) is claimed again by whoever
/// looks next. Callback claims are final: a callback is POSTed at most once, by one instance.
/// </summary>
public interface IKakaoFetchQueue
{
    /// <summary>Persists a request's fetches (due at once), its refusals and its callback (<see cref="KakaoCallbackState.Held"/>) in one transaction.</summary>
    Task EnqueueAsync(KakaoRequest request, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Claims up to <paramref name="maxItems"/> pending fetches that are due and not leased, leasing them until now + <paramref name="lease"/>.</summary>
    Task<IReadOnlyList<KakaoFetchClaim>> ClaimDueAsync(DateTimeOffset now, TimeSpan lease, int maxItems, CancellationToken cancellationToken);

    /// <summary>Records the stored image and forgets the URL. False when the fetch was no longer pending.</summary>
    Task<bool> MarkDoneAsync(Guid fetchId, Guid imageId, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>Gives the fetch up with a stable reason code and forgets the URL. False when it was no longer pending.</summary>
    Task<bool> MarkFailedAsync(Guid fetchId, string reason, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>Releases the lease and makes the fetch due again at <paramref name="notBefore"/> (backoff), noting the last error.</summary>
    Task RescheduleAsync(Guid fetchId, DateTimeOffset notBefore, string? lastError, CancellationToken cancellationToken);

    /// <summary>The fetches of one skill request, in their order.</summary>
    Task<IReadOnlyList<KakaoFetchStatus>> GetRequestAsync(Guid requestId, CancellationToken cancellationToken);

    /// <summary><see cref="KakaoCallbackState.Held"/> → <see cref="KakaoCallbackState.Pending"/> while still valid: the skill is about to answer <c>useCallback</c>. False when there was no such callback.</summary>
    Task<bool> ArmCallbackAsync(Guid requestId, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Atomically moves up to <paramref name="maxItems"/> callbacks from <see cref="KakaoCallbackState.Pending"/> to
    /// <see cref="KakaoCallbackState.Sending"/> that are still valid and due: every fetch of their request is
    /// settled, or their <see cref="KakaoCallback.DueAt"/> has come. Instances claiming at once never get the same one.
    /// </summary>
    Task<IReadOnlyList<KakaoCallbackClaim>> ClaimDueCallbacksAsync(DateTimeOffset now, int maxItems, CancellationToken cancellationToken);

    /// <summary>
    /// Closes a callback and forgets its URL and token: <see cref="KakaoCallbackState.Answered"/> from
    /// <see cref="KakaoCallbackState.Held"/>, <see cref="KakaoCallbackState.Sent"/> or <see cref="KakaoCallbackState.Failed"/>
    /// from <see cref="KakaoCallbackState.Sending"/>. False when it was not in that state.
    /// </summary>
    Task<bool> CompleteCallbackAsync(Guid requestId, KakaoCallbackState outcome, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>Every open callback (held, pending or sending) whose minute has passed becomes <see cref="KakaoCallbackState.Expired"/>, its URL and token forgotten. Returns how many.</summary>
    Task<int> ExpireCallbacksAsync(DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>One request's callback, or null when it offered none.</summary>
    Task<KakaoCallbackStatus?> GetCallbackAsync(Guid requestId, CancellationToken cancellationToken);
}
