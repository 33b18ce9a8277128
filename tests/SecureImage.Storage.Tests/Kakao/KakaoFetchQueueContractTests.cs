using SecureImage.Core.Catalog;
using SecureImage.Core.Kakao;

namespace SecureImage.Storage.Tests.Kakao;

/// <summary>
/// What every <see cref="IKakaoFetchQueue"/> adapter must do: leases, backoff, and forgetting the URL
/// once finished; callbacks held, armed, claimed by one claimer once, closed and expired. A subclass per provider supplies a fresh, migrated catalog and a queue on its database.
/// </summary>
public abstract class KakaoFetchQueueContractTests
{
    protected static readonly DateTimeOffset T0 = new(2026, 11, 23, 9, 0, 0, TimeSpan.Zero);
    protected static readonly TimeSpan Lease = TimeSpan.FromMinutes(1);

    /// <summary>A fresh, empty catalog with every migration applied and a queue on the same database, owned by the current test.</summary>
    protected abstract Task<(IImageCatalog Catalog, IKakaoFetchQueue Queue)> CreateMigratedQueueAsync();

    /// <summary>Runs <paramref name="sql"/> straight on the queue's database; the first column of the first row as a number (0 when none).</summary>
    protected abstract Task<long> ScalarAsync(string sql);

    /// <summary>How many rows of the queue's tables still hold a URL or a token, read straight from the database.</summary>
    protected async Task<long> CountStoredUrlsAsync() =>
        await ScalarAsync("SELECT COUNT(*) FROM kakao_fetches WHERE url IS NOT NULL;")
        + await ScalarAsync("SELECT COUNT(*) FROM kakao_callbacks WHERE url IS NOT NULL OR token IS NOT NULL;");

    [Fact]
    public async Task A_claimed_fetch_is_not_claimed_again_until_its_lease_runs_out()
    {
        var (queue, fetches) = await QueueWithFetchesAsync(2);

        var first = await queue.ClaimDueAsync(T0, Lease, 10, CancellationToken.None);
        var duringLease = await queue.ClaimDueAsync(T0.AddSeconds(59), Lease, 10, CancellationToken.None);
        var afterLease = await queue.ClaimDueAsync(T0.AddSeconds(61), Lease, 10, CancellationToken.None);

        Assert.Equal(fetches, first.Select(c => c.Fetch).OrderBy(f => f.Position));
        Assert.All(first, c => Assert.Equal(1, c.Attempt));
        Assert.Empty(duringLease);
        Assert.All(afterLease, c => Assert.Equal(2, c.Attempt));
        Assert.Equal(2, afterLease.Count);
    }

    [Fact]
    public async Task Claims_respect_the_limit_and_a_rescheduled_fetch_waits_for_its_time()
    {
        var (queue, fetches) = await QueueWithFetchesAsync(2);

        var claimed = Assert.Single(await queue.ClaimDueAsync(T0, Lease, 1, CancellationToken.None));
        await queue.RescheduleAsync(claimed.Fetch.Id, T0.AddSeconds(4), KakaoFetchErrors.FetchFailed, CancellationToken.None);
        var other = Assert.Single(await queue.ClaimDueAsync(T0.AddSeconds(1), Lease, 10, CancellationToken.None));
        var again = Assert.Single(await queue.ClaimDueAsync(T0.AddSeconds(4), Lease, 10, CancellationToken.None));

        Assert.NotEqual(claimed.Fetch.Id, other.Fetch.Id);
        Assert.Equal(claimed.Fetch.Id, again.Fetch.Id);
        Assert.Contains(fetches, f => f.Id == other.Fetch.Id);
        var status = (await queue.GetRequestAsync(claimed.Fetch.RequestId, CancellationToken.None)).Single(s => s.Id == claimed.Fetch.Id);
        Assert.Equal(KakaoFetchErrors.FetchFailed, status.LastError);
    }

    [Fact]
    public async Task Finished_fetches_keep_their_outcome_but_not_their_url_and_finish_once()
    {
        var (queue, fetches) = await QueueWithFetchesAsync(2);
        var imageId = Guid.NewGuid();

        Assert.True(await queue.MarkDoneAsync(fetches[0].Id, imageId, T0, CancellationToken.None));
        Assert.True(await queue.MarkFailedAsync(fetches[1].Id, KakaoFetchErrors.Expired, T0, CancellationToken.None));
        Assert.False(await queue.MarkFailedAsync(fetches[0].Id, KakaoFetchErrors.Expired, T0, CancellationToken.None));

        var statuses = await queue.GetRequestAsync(fetches[0].RequestId, CancellationToken.None);
        Assert.Equal((KakaoFetchState.Done, (Guid?)imageId), (statuses[0].State, statuses[0].ImageId));
        Assert.Equal((KakaoFetchState.Failed, KakaoFetchErrors.Expired), (statuses[1].State, statuses[1].LastError));
        Assert.Empty(await queue.ClaimDueAsync(T0.AddHours(1), Lease, 10, CancellationToken.None));
        Assert.Equal(0L, await CountStoredUrlsAsync());
    }

    [Fact]
    public async Task A_request_lists_its_fetches_in_order_with_their_deadlines()
    {
        var (queue, fetches) = await QueueWithFetchesAsync(3);

        var statuses = await queue.GetRequestAsync(fetches[0].RequestId, CancellationToken.None);

        Assert.Equal(fetches.Select(f => (f.Id, f.Position, f.Deadline)), statuses.Select(s => (s.Id, s.Position, s.Deadline)));
        Assert.All(statuses, s => Assert.Equal((KakaoFetchState.Pending, 0, (Guid?)null, (string?)null), (s.State, s.Attempts, s.ImageId, s.LastError)));
        Assert.Empty(await queue.GetRequestAsync(Guid.NewGuid(), CancellationToken.None));
    }

    [Fact]
    public async Task A_request_is_persisted_with_its_refusals_and_its_callback_held()
    {
        var (catalog, queue) = await CreateMigratedQueueAsync();

        var (requestId, fetches) = await EnqueueRequestAsync(catalog, queue, 2, Callback(), refusals: [KakaoFetchErrors.RefusedUrl]);

        var statuses = await queue.GetRequestAsync(requestId, CancellationToken.None);
        Assert.Equal([0, 1, 2], statuses.Select(s => s.Position));
        Assert.Equal((KakaoFetchState.Failed, KakaoFetchErrors.RefusedUrl, 0), (statuses[2].State, statuses[2].LastError, statuses[2].Attempts));
        Assert.Equal(fetches.Select(f => f.Id).Order(), (await queue.ClaimDueAsync(T0, Lease, 10, CancellationToken.None)).Select(c => c.Fetch.Id).Order());
        var callback = await queue.GetCallbackAsync(requestId, CancellationToken.None);
        Assert.Equal((KakaoCallbackState.Held, T0.AddSeconds(45), T0.AddMinutes(1), true), (callback!.State, callback.DueAt, callback.ValidUntil, callback.HoldsUrl));
        Assert.Null(await queue.GetCallbackAsync(Guid.NewGuid(), CancellationToken.None));
    }

    [Fact]
    public async Task A_held_callback_is_never_claimed_and_an_armed_one_is_claimed_once_when_every_fetch_is_settled()
    {
        var (catalog, queue) = await CreateMigratedQueueAsync();
        var (requestId, fetches) = await EnqueueRequestAsync(catalog, queue, 2, Callback(refusedBeyondLimit: 3));
        Assert.True(await queue.MarkDoneAsync(fetches[0].Id, Guid.NewGuid(), T0, CancellationToken.None));
        Assert.True(await queue.MarkFailedAsync(fetches[1].Id, KakaoFetchErrors.Malformed, T0, CancellationToken.None));

        var whileHeld = await queue.ClaimDueCallbacksAsync(T0.AddSeconds(50), 10, CancellationToken.None);
        Assert.True(await queue.ArmCallbackAsync(requestId, T0.AddSeconds(5), CancellationToken.None));
        Assert.False(await queue.ArmCallbackAsync(requestId, T0.AddSeconds(5), CancellationToken.None));
        var claimed = await queue.ClaimDueCallbacksAsync(T0.AddSeconds(5), 10, CancellationToken.None);
        var again = await queue.ClaimDueCallbacksAsync(T0.AddSeconds(6), 10, CancellationToken.None);

        Assert.Empty(whileHeld);
        Assert.Equal(new KakaoCallbackClaim(requestId, "bot-a", "https://bot-api.kakao.com/callback/abc", "token-1", 3), Assert.Single(claimed));
        Assert.Empty(again);
        var status = await queue.GetCallbackAsync(requestId, CancellationToken.None);
        Assert.Equal((KakaoCallbackState.Sending, (DateTimeOffset?)T0.AddSeconds(5)), (status!.State, status.ClaimedAt));
    }

    [Fact]
    public async Task An_armed_callback_waits_for_its_fetches_until_its_due_time_and_then_goes_with_what_is_known()
    {
        var (catalog, queue) = await CreateMigratedQueueAsync();
        var (requestId, fetches) = await EnqueueRequestAsync(catalog, queue, 2, Callback());
        Assert.True(await queue.ArmCallbackAsync(requestId, T0.AddSeconds(4), CancellationToken.None));
        Assert.True(await queue.MarkDoneAsync(fetches[0].Id, Guid.NewGuid(), T0, CancellationToken.None));

        var beforeDue = await queue.ClaimDueCallbacksAsync(T0.AddSeconds(44), 10, CancellationToken.None);
        var atDue = await queue.ClaimDueCallbacksAsync(T0.AddSeconds(45), 10, CancellationToken.None);

        Assert.Empty(beforeDue);
        Assert.Equal(requestId, Assert.Single(atDue).RequestId);
    }

    [Fact]
    public async Task Claims_respect_the_limit_and_oldest_due_go_first()
    {
        var (catalog, queue) = await CreateMigratedQueueAsync();
        var first = await EnqueueRequestAsync(catalog, queue, 1, Callback(due: T0.AddSeconds(10)));
        var second = await EnqueueRequestAsync(catalog, queue, 1, Callback(due: T0.AddSeconds(20)));
        foreach (var request in new[] { first, second })
        {
            Assert.True(await queue.ArmCallbackAsync(request.RequestId, T0, CancellationToken.None));
        }

        var one = await queue.ClaimDueCallbacksAsync(T0.AddSeconds(30), 1, CancellationToken.None);
        var other = await queue.ClaimDueCallbacksAsync(T0.AddSeconds(30), 10, CancellationToken.None);

        Assert.Equal(first.RequestId, Assert.Single(one).RequestId);
        Assert.Equal(second.RequestId, Assert.Single(other).RequestId);
    }

    [Fact]
    public async Task Completing_a_callback_closes_it_from_the_right_state_only_and_forgets_its_url_and_token()
    {
        var (catalog, queue) = await CreateMigratedQueueAsync();
        var answered = await EnqueueRequestAsync(catalog, queue, 1, Callback());
        var sent = await EnqueueRequestAsync(catalog, queue, 1, Callback());
        await queue.ArmCallbackAsync(sent.RequestId, T0, CancellationToken.None);
        await queue.MarkDoneAsync(sent.Fetches[0].Id, Guid.NewGuid(), T0, CancellationToken.None);
        await queue.MarkDoneAsync(answered.Fetches[0].Id, Guid.NewGuid(), T0, CancellationToken.None);

        Assert.False(await queue.CompleteCallbackAsync(answered.RequestId, KakaoCallbackState.Sent, T0, CancellationToken.None));
        Assert.True(await queue.CompleteCallbackAsync(answered.RequestId, KakaoCallbackState.Answered, T0, CancellationToken.None));
        Assert.False(await queue.ArmCallbackAsync(answered.RequestId, T0, CancellationToken.None));
        Assert.False(await queue.CompleteCallbackAsync(sent.RequestId, KakaoCallbackState.Sent, T0, CancellationToken.None));
        Assert.Single(await queue.ClaimDueCallbacksAsync(T0.AddSeconds(1), 10, CancellationToken.None));
        Assert.True(await queue.CompleteCallbackAsync(sent.RequestId, KakaoCallbackState.Sent, T0.AddSeconds(2), CancellationToken.None));
        Assert.False(await queue.CompleteCallbackAsync(sent.RequestId, KakaoCallbackState.Failed, T0.AddSeconds(2), CancellationToken.None));

        Assert.Equal(KakaoCallbackState.Answered, (await queue.GetCallbackAsync(answered.RequestId, CancellationToken.None))!.State);
        var status = await queue.GetCallbackAsync(sent.RequestId, CancellationToken.None);
        Assert.Equal((KakaoCallbackState.Sent, (DateTimeOffset?)T0.AddSeconds(2), false), (status!.State, status.FinishedAt, status.HoldsUrl));
        Assert.Equal(0L, await CountStoredUrlsAsync());
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => queue.CompleteCallbackAsync(sent.RequestId, KakaoCallbackState.Pending, T0, CancellationToken.None));
    }

    [Fact]
    public async Task Past_its_minute_a_callback_is_neither_armed_nor_claimed_and_expires_forgetting_url_and_token()
    {
        var (catalog, queue) = await CreateMigratedQueueAsync();
        var late = await EnqueueRequestAsync(catalog, queue, 1, Callback());
        var pending = await EnqueueRequestAsync(catalog, queue, 1, Callback());
        var sending = await EnqueueRequestAsync(catalog, queue, 1, Callback());
        await queue.ArmCallbackAsync(pending.RequestId, T0, CancellationToken.None);
        await queue.ArmCallbackAsync(sending.RequestId, T0, CancellationToken.None);
        await queue.MarkDoneAsync(sending.Fetches[0].Id, Guid.NewGuid(), T0, CancellationToken.None);

        // The instance sending this one dies mid-POST: it is never claimed again (at most once).
        Assert.Equal(sending.RequestId, Assert.Single(await queue.ClaimDueCallbacksAsync(T0.AddSeconds(1), 10, CancellationToken.None)).RequestId);
        Assert.False(await queue.ArmCallbackAsync(late.RequestId, T0.AddMinutes(1), CancellationToken.None));
        Assert.Empty(await queue.ClaimDueCallbacksAsync(T0.AddMinutes(1), 10, CancellationToken.None));
        Assert.Equal(0, await queue.ExpireCallbacksAsync(T0.AddSeconds(59), CancellationToken.None));
        Assert.Equal(3, await queue.ExpireCallbacksAsync(T0.AddMinutes(1), CancellationToken.None));
        Assert.Equal(0, await queue.ExpireCallbacksAsync(T0.AddMinutes(2), CancellationToken.None));

        foreach (var request in new[] { late, pending, sending })
        {
            var status = await queue.GetCallbackAsync(request.RequestId, CancellationToken.None);
            Assert.Equal((KakaoCallbackState.Expired, (DateTimeOffset?)T0.AddMinutes(1), false), (status!.State, status.FinishedAt, status.HoldsUrl));
        }

        Assert.Equal(2L, await CountStoredUrlsAsync()); // the two fetches still pending keep their URLs until they settle
    }

    [Fact]
    public async Task Claimers_racing_on_one_database_each_get_different_callbacks_and_every_one_is_claimed_once()
    {
        var (catalog, first) = await CreateMigratedQueueAsync();
        var (_, second) = await CreateMigratedQueueAsync();
        var requests = new List<Guid>();
        for (var i = 0; i < 30; i++)
        {
            var (requestId, _) = await EnqueueRequestAsync(catalog, first, 1, Callback(due: T0));
            await first.ArmCallbackAsync(requestId, T0, CancellationToken.None);
            requests.Add(requestId);
        }

        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var claimers = new[] { first, second, first, second }.Select(queue => Task.Run(async () =>
        {
            await start.Task;
            var claimed = new List<KakaoCallbackClaim>();
            while (await queue.ClaimDueCallbacksAsync(T0.AddSeconds(1), 2, CancellationToken.None) is { Count: > 0 } batch)
            {
                claimed.AddRange(batch);
            }

            return claimed;
        })).ToArray();
        start.SetResult();
        var all = (await Task.WhenAll(claimers)).SelectMany(c => c).ToList();

        Assert.Equal(requests.Order(), all.Select(c => c.RequestId).Order());
    }

    [Fact]
    public async Task Migration_0004_caps_the_deadline_of_fetches_queued_before_it_at_fifteen_minutes()
    {
        var (catalog, queue) = await CreateMigratedQueueAsync();
        var consent = await NewConsentAsync(catalog);
        var requestId = Guid.NewGuid();
        var forever = new KakaoFetch(Guid.NewGuid(), requestId, 0, "bot-a", consent, "http://secure.kakaocdn.net/0.jpg?expires=253402300000", DateTimeOffset.FromUnixTimeSeconds(253402300000));
        var soon = new KakaoFetch(Guid.NewGuid(), requestId, 1, "bot-a", consent, "http://secure.kakaocdn.net/1.jpg", T0.AddMinutes(10));
        await queue.EnqueueAsync(new KakaoRequest(requestId, "bot-a", consent, [forever, soon], [], null), T0, CancellationToken.None);

        // As if 0004 had not run yet: undo it, then migrate again.
        await ScalarAsync("DROP TABLE kakao_callbacks;");
        await ScalarAsync("DELETE FROM schema_migrations WHERE version = 4;");
        await catalog.MigrateAsync(CancellationToken.None);

        Assert.Equal([T0.AddMinutes(15), T0.AddMinutes(10)], (await queue.GetRequestAsync(requestId, CancellationToken.None)).Select(s => s.Deadline));
        Assert.Null(await queue.GetCallbackAsync(requestId, CancellationToken.None));
    }

    /// <summary>A callback as the skill holds it: due 45 s after <see cref="T0"/> (or <paramref name="due"/>), valid for a minute.</summary>
    protected static KakaoCallback Callback(int refusedBeyondLimit = 0, DateTimeOffset? due = null) =>
        new("https://bot-api.kakao.com/callback/abc", "token-1", due ?? T0.AddSeconds(45), T0.AddMinutes(1), refusedBeyondLimit);

    protected static async Task<Guid> NewConsentAsync(IImageCatalog catalog)
    {
        var consent = new ConsentRecord(Guid.NewGuid(), "bot-a", "hash", "kakao-secure-image", "kakao-plugin", ConsentSources.KakaoPlugin, T0, null);
        await catalog.AddConsentAsync(consent, CancellationToken.None);
        return consent.Id;
    }

    /// <summary>A request of <paramref name="count"/> fetches (positions first), then <paramref name="refusals"/>, and <paramref name="callback"/>, enqueued at <see cref="T0"/>.</summary>
    protected static async Task<(Guid RequestId, KakaoFetch[] Fetches)> EnqueueRequestAsync(IImageCatalog catalog, IKakaoFetchQueue queue, int count, KakaoCallback? callback, string[]? refusals = null)
    {
        var consentId = await NewConsentAsync(catalog);
        var requestId = Guid.NewGuid();
        var fetches = Enumerable.Range(0, count)
            .Select(i => new KakaoFetch(Guid.NewGuid(), requestId, i, "bot-a", consentId, $"http://secure.kakaocdn.net/{i}.jpg?expires=1", T0.AddMinutes(10 + i)))
            .ToArray();
        var refused = (refusals ?? []).Select((reason, i) => new KakaoRefusal(Guid.NewGuid(), count + i, reason)).ToList();
        await queue.EnqueueAsync(new KakaoRequest(requestId, "bot-a", consentId, fetches, refused, callback), T0, CancellationToken.None);
        return (requestId, fetches);
    }

    /// <summary>A migrated queue holding <paramref name="count"/> fetches of one request under a new consent, enqueued at <see cref="T0"/>.</summary>
    protected async Task<(IKakaoFetchQueue Queue, KakaoFetch[] Fetches)> QueueWithFetchesAsync(int count)
    {
        var (catalog, queue) = await CreateMigratedQueueAsync();
        return (queue, await EnqueueFetchesAsync(catalog, queue, count));
    }

    protected static async Task<KakaoFetch[]> EnqueueFetchesAsync(IImageCatalog catalog, IKakaoFetchQueue queue, int count) =>
        (await EnqueueRequestAsync(catalog, queue, count, callback: null)).Fetches;
}
