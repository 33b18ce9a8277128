using SecureImage.Api.Tests.TestSupport;
using SecureImage.Storage.AzureBlob;
using SecureImage.Storage.Postgres;

namespace SecureImage.Api.Tests.EndToEnd;

/// <summary>
/// Three service instances on one PostgreSQL and one Azurite container, Hangfire's job store shared in
/// the database: 10,000 expired images are each erased exactly once, with exactly one audit event, and
/// Hangfire ran each occurrence of the sweep once, on one of the three.
/// </summary>
public sealed class RetentionClusterTests : IAsyncLifetime
{
    private const int Images = 10_000;

    // Every expired image has a catalog row; the first ones also have a blob (a missing blob counts as
    // deleted, so the sweep's blob path runs for all of them while seeding stays short).
    private const int ImagesWithBlobs = 2_000;
    private ProductionBackend? _backend;

    private ProductionBackend Backend => _backend ?? throw new InvalidOperationException("InitializeAsync has not run.");

    public async Task InitializeAsync() => _backend = await ProductionBackend.CreateAsync();

    public async Task DisposeAsync()
    {
        if (_backend is not null)
        {
            await _backend.DisposeAsync();
        }
    }

    [Fact]
    public async Task Three_clustered_instances_erase_ten_thousand_expired_images_exactly_once()
    {
        await using (var catalog = new PostgresImageCatalog(new PostgresCatalogOptions { ConnectionString = Backend.Database.ConnectionString }))
        {
            await catalog.MigrateAsync(CancellationToken.None);
        }

        var consentId = Guid.NewGuid();
        await Backend.Database.ScalarAsync($"""
            INSERT INTO consents VALUES ('{consentId}', 'bot-a', 'h', 'p', 'v', 'api', now() - interval '4 days', NULL);
            INSERT INTO images (id, bot_id, subject_hash, consent_id, content_type, bytes, width, height, blob_name, key_id, wrapped_key, created_at, expires_at, state)
            SELECT gen_random_uuid(), 'bot-a', 'h', '{consentId}', 'image/jpeg', 64, 1, 1, 'cluster' || lpad(g::text, 6, '0'), 'k', '\x00'::bytea,
                   now() - interval '3 days', now() - interval '1 minute' - g * interval '1 millisecond', 'active'
              FROM generate_series(1, {Images}) AS g;
            """);
        var store = new AzureBlobStore(new AzureBlobStoreOptions { ConnectionString = Backend.AzuriteConnectionString, ContainerName = Backend.Container });
        await store.CreateIfNotExistsAsync(CancellationToken.None);
        var body = new byte[64];
        await Parallel.ForEachAsync(Enumerable.Range(1, ImagesWithBlobs), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, token) =>
            await store.UploadAsync($"cluster{i:D6}", new MemoryStream(body), token));

        var settings = new Dictionary<string, string?>
        {
            ["SecureImage:Retention:SweepInterval"] = "00:00:01",
            ["SecureImage:Retention:SweepBatchSize"] = "500",
        };
        var instances = Enumerable.Range(0, 3).Select(_ => Backend.NewInstance(settings)).ToList();
        foreach (var instance in instances)
        {
            instance.Time.Set(DateTimeOffset.UtcNow);
            instance.Time.Flowing = true;
            _ = instance.CreateAnonymousClient();
        }

        // The three Hangfire servers share one store (its schema, created by the first to start).
        Assert.Equal(3, await Backend.CountAsync("FROM hangfire.server"));

        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(4);
        while (await Backend.CountAsync("FROM images WHERE state = 'erased'") < Images)
        {
            Assert.True(DateTime.UtcNow < deadline, $"only {await Backend.CountAsync("FROM images WHERE state = 'erased'")} of {Images} erased in time");
            await Task.Delay(500);
        }

        Assert.Equal(Images, await Backend.CountAsync("FROM images WHERE state = 'erased' AND wrapped_key IS NULL AND erase_reason = 'retention'"));
        Assert.Equal(Images, await Backend.CountAsync("FROM audit_events WHERE kind = 'image.erased'"));
        Assert.Equal(Images, await Backend.CountAsync("FROM (SELECT DISTINCT image_id FROM audit_events WHERE kind = 'image.erased') AS erased"));
        var left = 0;
        await foreach (var _ in store.GetBlobsAsync(null, CancellationToken.None))
        {
            left++;
        }

        Assert.Equal(0, left);

        // Hangfire's own record: every sweep occurrence (its "Time" parameter, one per second here) became one
        // job, and no job was executed twice; the occurrences that found a sweep running returned at once.
        const string sweepJobs = "SELECT jobid FROM hangfire.jobparameter WHERE name = 'RecurringJobId' AND value = '\"retention-sweep\"'";
        Assert.True(await Backend.CountAsync($"FROM hangfire.state WHERE name = 'Processing' AND jobid IN ({sweepJobs})") > 1, "no sweep occurrence ran");
        Assert.Equal(0, await Backend.CountAsync($"FROM (SELECT value FROM hangfire.jobparameter WHERE name = 'Time' AND jobid IN ({sweepJobs}) GROUP BY value HAVING COUNT(*) > 1) AS twice"));
        Assert.Equal(0, await Backend.CountAsync($"FROM (SELECT jobid FROM hangfire.state WHERE name = 'Processing' AND jobid IN ({sweepJobs}) GROUP BY jobid HAVING COUNT(*) > 1) AS twice"));
        Assert.Equal(0, await Backend.CountAsync($"FROM hangfire.state WHERE name = 'Failed' AND jobid IN ({sweepJobs})"));
    }
}
