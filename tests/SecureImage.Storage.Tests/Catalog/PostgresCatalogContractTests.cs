using Npgsql;
using SecureImage.Core.Catalog;
using SecureImage.Storage.Postgres;

namespace SecureImage.Storage.Tests.Catalog;

/// <summary>The catalog contract on the real PostgreSQL that with-servers.sh starts, each test in a database of its own.</summary>
public sealed class PostgresCatalogContractTests : CatalogContractTests, IAsyncLifetime
{
    private PostgresCatalogs? _postgres;

    private PostgresCatalogs Postgres => _postgres ?? throw new InvalidOperationException("InitializeAsync has not run.");

    private PostgresTestDatabase Database => Postgres.Database;

    public async Task InitializeAsync() => _postgres = await PostgresCatalogs.CreateAsync();

    public async Task DisposeAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }

    protected override async Task<IImageCatalog> CreateMigratedCatalogAsync()
    {
        var catalog = NewCatalog();
        await catalog.MigrateAsync(TestTimeout.OneMinute);
        return catalog;
    }

    [Theory]
    [InlineData("UPDATE audit_events SET reason = 'rewritten';")]
    [InlineData("DELETE FROM audit_events;")]
    [InlineData("TRUNCATE audit_events;")]
    public async Task Audit_events_cannot_be_changed_or_deleted(string sql)
    {
        var catalog = await CreateMigratedCatalogAsync();
        var consent = await AddConsentAsync(catalog, "bot-a");
        var before = await catalog.GetHistoryAsync(consent.Id, CancellationToken.None);

        var refused = await Assert.ThrowsAsync<PostgresException>(() => Database.ScalarAsync(sql));

        Assert.Contains("append-only", refused.MessageText, StringComparison.Ordinal);
        Assert.Equal(before, await catalog.GetHistoryAsync(consent.Id, CancellationToken.None));
    }

    [Fact]
    public async Task Migrating_a_new_database_from_several_catalogs_at_once_applies_each_migration_once()
    {
        var catalogs = Enumerable.Range(0, 4).Select(_ => NewCatalog()).ToArray();
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var migrations = catalogs.Select(c => Task.Run(async () =>
        {
            await start.Task;
            await c.MigrateAsync(TestTimeout.OneMinute);
        })).ToArray();
        start.SetResult();
        await Task.WhenAll(migrations);

        Assert.Equal(1L, await Database.ScalarAsync("SELECT COUNT(*) FROM schema_migrations WHERE version = 1;"));
        foreach (var catalog in catalogs)
        {
            await catalog.CheckAvailableAsync(TestTimeout.OneMinute);
        }
    }

    [Fact]
    public async Task Upgrading_a_database_that_ran_the_quartz_scheduler_drops_its_tables_and_nothing_else()
    {
        // A database at migration 4 on which Quartz had provisioned its store (tables with foreign keys between them).
        var catalog = await CreateMigratedCatalogAsync();
        await Database.ScalarAsync("""
            DELETE FROM schema_migrations WHERE version = 5;
            CREATE TABLE qrtz_job_details (sched_name text, job_name text, job_group text, PRIMARY KEY (sched_name, job_name, job_group));
            CREATE TABLE qrtz_triggers (sched_name text, trigger_name text, job_name text, job_group text, PRIMARY KEY (sched_name, trigger_name),
                FOREIGN KEY (sched_name, job_name, job_group) REFERENCES qrtz_job_details (sched_name, job_name, job_group));
            CREATE TABLE qrtz_scheduler_state (sched_name text, instance_name text, PRIMARY KEY (sched_name, instance_name));
            CREATE TABLE qrtzlike_notes (id integer);
            """);

        await catalog.MigrateAsync(TestTimeout.OneMinute);

        Assert.Equal(0L, await Database.ScalarAsync("SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE 'qrtz\\_%';"));
        Assert.Equal(1L, await Database.ScalarAsync("SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'qrtzlike_notes';"));
        Assert.Equal(1L, await Database.ScalarAsync("SELECT COUNT(*) FROM schema_migrations WHERE version = 5;"));
        await catalog.CheckAvailableAsync(TestTimeout.OneMinute);
    }

    [Fact]
    public async Task An_upload_racing_a_withdrawal_is_either_refused_or_expired_by_it()
    {
        var catalog = await CreateMigratedCatalogAsync();
        for (var round = 0; round < 20; round++)
        {
            var consent = await AddConsentAsync(catalog, "bot-a");
            var image = NewImage(consent);
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var add = Task.Run(async () =>
            {
                await start.Task;
                return await catalog.AddImageAsync(image, TestTimeout.OneMinute);
            });
            var withdraw = Task.Run(async () =>
            {
                await start.Task;
                return await catalog.WithdrawConsentAsync(consent.Id, "bot:bot-a", T0, TestTimeout.OneMinute);
            });
            start.SetResult();

            var (added, listed) = (await add, await withdraw);

            var found = await catalog.FindImageAsync(image.Id, CancellationToken.None);
            if (added)
            {
                // Committed first: the withdrawal saw it, expired it and listed it for erasure.
                Assert.Equal((T0, "consent-withdrawn"), (found!.ExpiresAt, found.PendingEraseReason));
                Assert.Contains(listed!.ToErase, i => i.ImageId == image.Id);
            }
            else
            {
                Assert.Null(found);
            }
        }
    }

    [Fact]
    public async Task Times_keep_their_instant_whatever_the_offset_they_were_given_in()
    {
        var catalog = await CreateMigratedCatalogAsync();
        var consent = NewConsent("bot-a") with { GrantedAt = T0.ToOffset(TimeSpan.FromHours(9)) };

        await catalog.AddConsentAsync(consent, CancellationToken.None);

        var found = await catalog.FindConsentAsync(consent.Id, CancellationToken.None);
        Assert.Equal(T0.UtcTicks, found!.GrantedAt.UtcTicks);
    }

    [Fact]
    public async Task A_server_that_refuses_connections_is_reported_as_unavailable()
    {
        await using var catalog = new PostgresImageCatalog(new PostgresCatalogOptions { ConnectionString = Postgres.RefusedConnectionString() });

        var failure = await Assert.ThrowsAsync<CatalogUnavailableException>(() => catalog.CheckAvailableAsync(TestTimeout.OneMinute));

        Assert.IsAssignableFrom<NpgsqlException>(failure.InnerException);
        Assert.DoesNotContain("Password", failure.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task An_image_commit_whose_reply_is_lost_is_reported_as_possibly_committed()
    {
        var catalog = await CreateMigratedCatalogAsync();
        var consent = await AddConsentAsync(catalog, "bot-a");
        var direct = new NpgsqlConnectionStringBuilder(Database.ConnectionString);
        // The upload is one statement in its own transaction: its reply is the commit's.
        await using var proxy = new CommitReplyDroppingProxy(direct.Host!, direct.Port, committingStatement: "INSERT INTO images");
        var proxied = Postgres.NewCatalog(new NpgsqlConnectionStringBuilder(Database.ConnectionString) { Host = "127.0.0.1", Port = proxy.Port, Pooling = false, Timeout = 10 }.ConnectionString);
        var image = NewImage(consent);

        var failure = await Assert.ThrowsAsync<CatalogUnavailableException>(() => proxied.AddImageAsync(image, TestTimeout.OneMinute));

        // The client gives up when it is cut off; the server's answer to the commit arrives after that.
        await proxy.CommitAnswered.WaitAsync(TimeSpan.FromMinutes(1));
        Assert.True(failure.MayHaveCommitted, failure.ToString());
        Assert.NotNull(await catalog.FindImageAsync(image.Id, CancellationToken.None));
    }

    [Fact]
    public async Task An_image_commit_that_cannot_reach_the_server_is_reported_as_not_committed()
    {
        var consent = await AddConsentAsync(await CreateMigratedCatalogAsync(), "bot-a");
        await using var refused = new PostgresImageCatalog(new PostgresCatalogOptions { ConnectionString = Postgres.RefusedConnectionString() });

        var failure = await Assert.ThrowsAsync<CatalogUnavailableException>(() => refused.AddImageAsync(NewImage(consent), TestTimeout.OneMinute));

        Assert.False(failure.MayHaveCommitted);
    }

    private PostgresImageCatalog NewCatalog() => Postgres.NewCatalog();
}
