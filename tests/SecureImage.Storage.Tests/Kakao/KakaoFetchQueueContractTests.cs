using SecureImage.Core.Catalog;
using SecureImage.Core.Kakao;

namespace SecureImage.Storage.Tests.Kakao;

/// <summary>
/// What every <see cref="IKakaoFetchQueue"/> adapter must do: leases, backoff, and forgetting the URL
/// once finished. A subclass per provider supplies a fresh, migrated catalog and a queue on its database.
/// </summary>
public abstract class KakaoFetchQueueContractTests
{
    protected static readonly DateTimeOffset T0 = new(2026, 11, 23, 9, 0, 0, TimeSpan.Zero);
    protected static readonly TimeSpan Lease = TimeSpan.FromMinutes(1);

    /// <summary>A fresh, empty catalog with every migration applied and a queue on the same database, owned by the current test.</summary>
    protected abstract Task<(IImageCatalog Catalog, IKakaoFetchQueue Queue)> CreateMigratedQueueAsync();

    /// <summary>How many rows of the queue's table still hold a URL, read straight from the database.</summary>
    protected abstract Task<long> CountStoredUrlsAsync();

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

    /// <summary>A migrated queue holding <paramref name="count"/> fetches of one request under a new consent, enqueued at <see cref="T0"/>.</summary>
    protected async Task<(IKakaoFetchQueue Queue, KakaoFetch[] Fetches)> QueueWithFetchesAsync(int count)
    {
        var (catalog, queue) = await CreateMigratedQueueAsync();
        return (queue, await EnqueueFetchesAsync(catalog, queue, count));
    }

    protected static async Task<KakaoFetch[]> EnqueueFetchesAsync(IImageCatalog catalog, IKakaoFetchQueue queue, int count)
    {
        var consent = new ConsentRecord(Guid.NewGuid(), "bot-a", "hash", "kakao-secure-image", "kakao-plugin", ConsentSources.KakaoPlugin, T0, null);
        await catalog.AddConsentAsync(consent, CancellationToken.None);
        var requestId = Guid.NewGuid();
        var fetches = Enumerable.Range(0, count)
            .Select(i => new KakaoFetch(Guid.NewGuid(), requestId, i, "bot-a", consent.Id, $"http://secure.kakaocdn.net/{i}.jpg?expires=1", T0.AddMinutes(10 + i)))
            .ToArray();
        await queue.EnqueueAsync(fetches, T0, CancellationToken.None);
        return fetches;
    }
}
