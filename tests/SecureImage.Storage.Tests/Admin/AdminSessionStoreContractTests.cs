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

    [Fact]
    public async Task A_provider_session_keeps_its_recheck_fields_and_only_one_of_two_concurrent_claims_takes_its_recheck()
    {
        var store = await CreateMigratedStoreAsync();
        var session = NewSession() with { AdminId = "oidc:subject-1", ProtectedRefreshToken = "protected-1", RoleCheckedAt = T0, RecheckAfter = T0.AddMinutes(10) };
        await store.CreateAsync(session, CancellationToken.None);
        var found = (await store.FindAsync(session.TokenHash, CancellationToken.None))!;
        Assert.Equal(("protected-1", T0, T0.AddMinutes(10)), (found.ProtectedRefreshToken, found.RoleCheckedAt, found.RecheckAfter));

        var claims = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() =>
            store.ClaimRecheckAsync(session.TokenHash, T0.AddMinutes(10), T0.AddMinutes(11 + i), CancellationToken.None))));
        Assert.Equal(1, claims.Count(c => c));
        Assert.False(await store.ClaimRecheckAsync(session.TokenHash, T0.AddMinutes(10), T0.AddMinutes(30), CancellationToken.None));

        // A recheck without a rotated token keeps the old one; with one, it replaces it.
        await store.RecordRecheckAsync(session.TokenHash, null, T0.AddMinutes(10), T0.AddMinutes(20), CancellationToken.None);
        found = (await store.FindAsync(session.TokenHash, CancellationToken.None))!;
        Assert.Equal(("protected-1", T0.AddMinutes(10), T0.AddMinutes(20)), (found.ProtectedRefreshToken, found.RoleCheckedAt, found.RecheckAfter));
        await store.RecordRecheckAsync(session.TokenHash, "protected-2", T0.AddMinutes(20), T0.AddMinutes(30), CancellationToken.None);
        Assert.Equal("protected-2", (await store.FindAsync(session.TokenHash, CancellationToken.None))!.ProtectedRefreshToken);

        // Local sessions carry none of it.
        var local = NewSession();
        await store.CreateAsync(local, CancellationToken.None);
        found = (await store.FindAsync(local.TokenHash, CancellationToken.None))!;
        Assert.Equal((null, null, null), (found.ProtectedRefreshToken, found.RoleCheckedAt, found.RecheckAfter));
    }

    [Fact]
    public async Task A_revoked_session_forgets_its_refresh_token_and_can_no_longer_be_claimed_or_recorded()
    {
        var store = await CreateMigratedStoreAsync();
        var session = NewSession() with { AdminId = "oidc:subject-2", ProtectedRefreshToken = "protected-1", RoleCheckedAt = T0, RecheckAfter = T0.AddMinutes(10) };
        await store.CreateAsync(session, CancellationToken.None);

        Assert.True(await store.RevokeAsync(session.TokenHash, T0.AddMinutes(1), CancellationToken.None));

        Assert.False(await store.ClaimRecheckAsync(session.TokenHash, T0.AddMinutes(10), T0.AddMinutes(11), CancellationToken.None));
        await store.RecordRecheckAsync(session.TokenHash, "protected-2", T0.AddMinutes(10), T0.AddMinutes(20), CancellationToken.None);
        Assert.Null(await store.FindAsync(session.TokenHash, CancellationToken.None));
        Assert.Null(await RawRefreshTokenAsync(session.TokenHash));
    }

    /// <summary>The refresh_token column as stored, read past the store (revoked rows are invisible to it).</summary>
    protected abstract Task<string?> RawRefreshTokenAsync(byte[] tokenHash);

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

    protected override async Task<string?> RawRefreshTokenAsync(byte[] tokenHash)
    {
        await using var connection = new SqliteConnection($"Data Source={Path.Combine(_directory, "catalog.db")};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT refresh_token FROM admin_sessions WHERE token_hash = $hash;";
        command.Parameters.AddWithValue("$hash", tokenHash);
        return await command.ExecuteScalarAsync() as string;
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

    protected override async Task<string?> RawRefreshTokenAsync(byte[] tokenHash)
    {
        await using var connection = new Npgsql.NpgsqlConnection(_postgres!.Database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT refresh_token FROM admin_sessions WHERE token_hash = @hash;", connection);
        command.Parameters.AddWithValue("hash", tokenHash);
        return await command.ExecuteScalarAsync() as string;
    }
}
