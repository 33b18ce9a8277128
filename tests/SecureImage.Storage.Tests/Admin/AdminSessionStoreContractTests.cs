using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using SecureImage.Core.Admin;
using SecureImage.Storage.Postgres;
using SecureImage.Storage.Sqlite;

namespace SecureImage.Storage.Tests.Admin;

/// <summary>What every admin session store must do, run against each adapter.</summary>
public abstract class AdminSessionStoreContractTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);

    protected abstract Task<IAdminSessionStore> CreateMigratedStoreAsync();

    [Fact]
    public async Task A_session_is_found_by_its_token_hash_until_it_is_revoked_and_a_revoked_one_stays_revoked()
    {
        var store = await CreateMigratedStoreAsync();
        var session = NewSession();
        await store.CreateAsync(session, CancellationToken.None);

        var found = await store.FindAsync(session.TokenHash, CancellationToken.None);
        Assert.Equal(
            (session.AdminId, session.DisplayName, session.Role, session.Stamp, session.CreatedAt, session.AbsoluteExpiresAt),
            (found!.AdminId, found.DisplayName, found.Role, found.Stamp, found.CreatedAt, found.AbsoluteExpiresAt));
        Assert.Null(await store.FindAsync(SHA256.HashData("another token"u8), CancellationToken.None));

        Assert.True(await store.RevokeAsync(session.TokenHash, T0.AddMinutes(5), CancellationToken.None));
        Assert.False(await store.RevokeAsync(session.TokenHash, T0.AddMinutes(6), CancellationToken.None));
        Assert.Null(await store.FindAsync(session.TokenHash, CancellationToken.None));

        await store.TouchAsync(session.TokenHash, T0.AddMinutes(7), CancellationToken.None);
        Assert.Null(await store.FindAsync(session.TokenHash, CancellationToken.None));
    }

    [Fact]
    public async Task Touching_moves_the_sliding_window_forward_only()
    {
        var store = await CreateMigratedStoreAsync();
        var session = NewSession();
        await store.CreateAsync(session, CancellationToken.None);

        await store.TouchAsync(session.TokenHash, T0.AddMinutes(20), CancellationToken.None);
        await store.TouchAsync(session.TokenHash, T0.AddMinutes(10), CancellationToken.None);

        Assert.Equal(T0.AddMinutes(20), (await store.FindAsync(session.TokenHash, CancellationToken.None))!.LastSeenAt);
    }

    [Fact]
    public async Task Purging_deletes_ended_sessions_only()
    {
        var store = await CreateMigratedStoreAsync();
        var expired = NewSession() with { AbsoluteExpiresAt = T0.AddHours(1) };
        var revoked = NewSession();
        var open = NewSession();
        foreach (var session in new[] { expired, revoked, open })
        {
            await store.CreateAsync(session, CancellationToken.None);
        }

        await store.RevokeAsync(revoked.TokenHash, T0.AddMinutes(1), CancellationToken.None);

        Assert.Equal(2, await store.PurgeAsync(T0.AddHours(2), CancellationToken.None));
        Assert.NotNull(await store.FindAsync(open.TokenHash, CancellationToken.None));
    }

    private static AdminSessionRecord NewSession() =>
        new(SHA256.HashData(RandomNumberGenerator.GetBytes(32)), "local:officer", "officer", "operator", "local:0123abcd", T0, T0, T0.AddHours(8));
}

public sealed class SqliteAdminSessionStoreContractTests : AdminSessionStoreContractTests, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("secureimage-sessions-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    protected override async Task<IAdminSessionStore> CreateMigratedStoreAsync()
    {
        var options = new SqliteCatalogOptions { ConnectionString = $"Data Source={Path.Combine(_directory, "catalog.db")}" };
        await new SqliteImageCatalog(options).MigrateAsync(CancellationToken.None);
        return new SqliteAdminSessionStore(options);
    }
}

public sealed class PostgresAdminSessionStoreContractTests : AdminSessionStoreContractTests, IAsyncLifetime
{
    private PostgresCatalogs? _postgres;

    public async Task InitializeAsync() => _postgres = await PostgresCatalogs.CreateAsync();

    public async Task DisposeAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }

    protected override async Task<IAdminSessionStore> CreateMigratedStoreAsync()
    {
        var catalog = _postgres!.NewCatalog();
        await catalog.MigrateAsync(TestTimeout.OneMinute);
        return new PostgresAdminSessionStore(catalog);
    }
}
