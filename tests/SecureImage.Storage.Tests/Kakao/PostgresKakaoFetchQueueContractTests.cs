using Npgsql;
using SecureImage.Core.Catalog;
using SecureImage.Core.Kakao;
using SecureImage.Storage.Postgres;

namespace SecureImage.Storage.Tests.Kakao;

/// <summary>The Kakao fetch queue contract on the real PostgreSQL that with-servers.sh starts, each test in a database of its own.</summary>
public sealed class PostgresKakaoFetchQueueContractTests : KakaoFetchQueueContractTests, IAsyncLifetime
{
    private PostgresCatalogs? _postgres;

    private PostgresCatalogs Postgres => _postgres ?? throw new InvalidOperationException("InitializeAsync has not run.");

    public async Task InitializeAsync() => _postgres = await PostgresCatalogs.CreateAsync();

    public async Task DisposeAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }

    protected override async Task<(IImageCatalog Catalog, IKakaoFetchQueue Queue)> CreateMigratedQueueAsync()
    {
        var catalog = Postgres.NewCatalog();
        await catalog.MigrateAsync(TestTimeout.OneMinute);
        return (catalog, new PostgresKakaoFetchQueue(catalog));
    }

    protected override async Task<long> ScalarAsync(string sql) => await Postgres.Database.ScalarAsync(sql) is { } value and not DBNull ? Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture) : 0;

    [Fact]
    public async Task Two_instances_claiming_at_once_never_get_the_same_fetch()
    {
        // Two catalogs, two pools: as two hosts on one database.
        var (catalog, first) = await CreateMigratedQueueAsync();
        var (_, second) = await CreateMigratedQueueAsync();
        var fetches = new List<KakaoFetch>();
        for (var request = 0; request < 10; request++)
        {
            fetches.AddRange(await EnqueueFetchesAsync(catalog, first, 20));
        }

        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var claims = new[] { first, second, first, second }.Select(queue => Task.Run(async () =>
        {
            await start.Task;
            var claimed = new List<KakaoFetchClaim>();
            while (await queue.ClaimDueAsync(T0, Lease, 3, TestTimeout.OneMinute) is { Count: > 0 } batch)
            {
                claimed.AddRange(batch);
            }

            return claimed;
        })).ToArray();
        start.SetResult();
        var all = (await Task.WhenAll(claims)).SelectMany(c => c).ToList();

        Assert.Equal(fetches.Count, all.Count);
        Assert.Equal(fetches.Select(f => f.Id).Order(), all.Select(c => c.Fetch.Id).Order());
        Assert.All(all, c => Assert.Equal(1, c.Attempt));
    }

    [Fact]
    public async Task A_server_that_refuses_connections_is_reported_as_unavailable()
    {
        var queue = new PostgresKakaoFetchQueue(Postgres.NewCatalog(Postgres.RefusedConnectionString()));

        var failure = await Assert.ThrowsAsync<CatalogUnavailableException>(() => queue.ClaimDueAsync(T0, Lease, 10, TestTimeout.OneMinute));

        Assert.IsAssignableFrom<NpgsqlException>(failure.InnerException);
    }
}
