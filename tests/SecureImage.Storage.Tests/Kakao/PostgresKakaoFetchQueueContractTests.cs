using Npgsql;
using SecureImage.Core.Catalog;
using SecureImage.Core.Kakao;
using SecureImage.Storage.Postgres;

namespace SecureImage.Storage.Tests.Kakao;

/// <summary>The Kakao fetch queue contract on the real PostgreSQL that with-servers.sh starts, each test in a database of its own.</summary>
public sealed class PostgresKakaoFetchQueueContractTests : KakaoFetchQueueContractTests, IAsyncLifetime
{
    private readonly List<PostgresImageCatalog> _catalogs = [];
    private PostgresTestDatabase? _database;

    private PostgresTestDatabase Database => _database ?? throw new InvalidOperationException("InitializeAsync has not run.");

    public async Task InitializeAsync() => _database = await PostgresTestDatabase.CreateAsync();

    public async Task DisposeAsync()
    {
        foreach (var catalog in _catalogs)
        {
            await catalog.DisposeAsync();
        }

        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }

    protected override async Task<(IImageCatalog Catalog, IKakaoFetchQueue Queue)> CreateMigratedQueueAsync()
    {
        var catalog = NewCatalog(Database.ConnectionString);
        await catalog.MigrateAsync(TestTimeout.OneMinute);
        return (catalog, new PostgresKakaoFetchQueue(catalog));
    }

    protected override async Task<long> CountStoredUrlsAsync() =>
        (long)(await Database.ScalarAsync("SELECT COUNT(*) FROM kakao_fetches WHERE url IS NOT NULL;"))!;

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
        // A port nothing listens on: bound, then released.
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var queue = new PostgresKakaoFetchQueue(NewCatalog(new NpgsqlConnectionStringBuilder(Database.ConnectionString) { Port = port, Timeout = 5 }.ConnectionString));

        var failure = await Assert.ThrowsAsync<CatalogUnavailableException>(() => queue.ClaimDueAsync(T0, Lease, 10, TestTimeout.OneMinute));

        Assert.IsAssignableFrom<NpgsqlException>(failure.InnerException);
    }

    private PostgresImageCatalog NewCatalog(string connectionString)
    {
        var catalog = new PostgresImageCatalog(new PostgresCatalogOptions { ConnectionString = connectionString });
        _catalogs.Add(catalog);
        return catalog;
    }
}
