using Microsoft.Data.Sqlite;
using SecureImage.Core.Catalog;
using SecureImage.Core.Kakao;
using SecureImage.Storage.Sqlite;

namespace SecureImage.Storage.Tests.Kakao;

/// <summary>The Kakao fetch queue on SQLite: leases, backoff, and forgetting the URL once finished.</summary>
public sealed class SqliteKakaoFetchQueueTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 23, 9, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(1);
    private readonly string _directory = Directory.CreateTempSubdirectory("secureimage-kakao-queue-").FullName;

    private string ConnectionString => $"Data Source={Path.Combine(_directory, "catalog.db")}";

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    private async Task<(SqliteKakaoFetchQueue Queue, KakaoFetch[] Fetches)> QueueWithTwoFetchesAsync()
    {
        var options = new SqliteCatalogOptions { ConnectionString = ConnectionString };
        var catalog = new SqliteImageCatalog(options);
        await catalog.MigrateAsync(CancellationToken.None);
        var consent = new ConsentRecord(Guid.NewGuid(), "bot-a", "hash", "kakao-secure-image", "kakao-plugin", ConsentSources.KakaoPlugin, T0, null);
        await catalog.AddConsentAsync(consent, CancellationToken.None);
        var requestId = Guid.NewGuid();
        var fetches = Enumerable.Range(0, 2)
            .Select(i => new KakaoFetch(Guid.NewGuid(), requestId, i, "bot-a", consent.Id, $"http://secure.kakaocdn.net/{i}.jpg?expires=1", T0.AddMinutes(10)))
            .ToArray();
        var queue = new SqliteKakaoFetchQueue(options);
        await queue.EnqueueAsync(fetches, T0, CancellationToken.None);
        return (queue, fetches);
    }

    [Fact]
    public async Task A_claimed_fetch_is_not_claimed_again_until_its_lease_runs_out()
    {
        var (queue, fetches) = await QueueWithTwoFetchesAsync();

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
        var (queue, fetches) = await QueueWithTwoFetchesAsync();

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
        var (queue, fetches) = await QueueWithTwoFetchesAsync();
        var imageId = Guid.NewGuid();

        Assert.True(await queue.MarkDoneAsync(fetches[0].Id, imageId, T0, CancellationToken.None));
        Assert.True(await queue.MarkFailedAsync(fetches[1].Id, KakaoFetchErrors.Expired, T0, CancellationToken.None));
        Assert.False(await queue.MarkFailedAsync(fetches[0].Id, KakaoFetchErrors.Expired, T0, CancellationToken.None));

        var statuses = await queue.GetRequestAsync(fetches[0].RequestId, CancellationToken.None);
        Assert.Equal((KakaoFetchState.Done, (Guid?)imageId), (statuses[0].State, statuses[0].ImageId));
        Assert.Equal((KakaoFetchState.Failed, KakaoFetchErrors.Expired), (statuses[1].State, statuses[1].LastError));
        Assert.Empty(await queue.ClaimDueAsync(T0.AddHours(1), Lease, 10, CancellationToken.None));
        await using var connection = new SqliteConnection($"{ConnectionString};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM kakao_fetches WHERE url IS NOT NULL;";
        Assert.Equal(0L, await command.ExecuteScalarAsync());
    }
}
