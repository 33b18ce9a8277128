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

/// <summary>
/// The durable list of pending Kakao fetches, so that a crash or restart after the skill answered
/// does not lose images whose URLs still work. Claims are leases: an item whose lease ran out (its
/// process died) is claimed again by whoever looks next.
/// </summary>
public interface IKakaoFetchQueue
{
    /// <summary>Persists a request's fetches, due at once, in one transaction.</summary>
    Task EnqueueAsync(IReadOnlyList<KakaoFetch> fetches, DateTimeOffset now, CancellationToken cancellationToken);

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
}
