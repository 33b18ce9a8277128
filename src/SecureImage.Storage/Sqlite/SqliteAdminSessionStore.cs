using Microsoft.Data.Sqlite;
using SecureImage.Core.Admin;

namespace SecureImage.Storage.Sqlite;

/// <summary><see cref="IAdminSessionStore"/> in the SQLite catalog's database (table from migration 0005, applied by the catalog's migrator).</summary>
public sealed class SqliteAdminSessionStore : IAdminSessionStore
{
    private readonly string _connectionString;

    public SqliteAdminSessionStore(SqliteCatalogOptions options) =>
        _connectionString = SqliteImageCatalog.PrepareConnectionString(options);

    public Task CreateAsync(AdminSessionRecord session, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        ArgumentNullException.ThrowIfNull(session);
        await using var insert = SqliteImageCatalog.Command(connection, null, """
            INSERT INTO admin_sessions (token_hash, admin_id, display_name, role, stamp, created_at, last_seen_at, absolute_expires_at, refresh_token, role_checked_at, recheck_after)
            VALUES ($hash, $admin, $name, $role, $stamp, $created, $seen, $expires, $refresh, $checked, $recheck);
            """);
        insert.Parameters.AddWithValue("$hash", session.TokenHash);
        insert.Parameters.AddWithValue("$admin", session.AdminId);
        insert.Parameters.AddWithValue("$name", session.DisplayName);
        insert.Parameters.AddWithValue("$role", session.Role);
        insert.Parameters.AddWithValue("$stamp", session.Stamp);
        insert.Parameters.AddWithValue("$created", session.CreatedAt.ToUnixTimeMilliseconds());
        insert.Parameters.AddWithValue("$seen", session.LastSeenAt.ToUnixTimeMilliseconds());
        insert.Parameters.AddWithValue("$expires", session.AbsoluteExpiresAt.ToUnixTimeMilliseconds());
        insert.Parameters.AddWithValue("$refresh", (object?)session.ProtectedRefreshToken ?? DBNull.Value);
        insert.Parameters.AddWithValue("$checked", (object?)session.RoleCheckedAt?.ToUnixTimeMilliseconds() ?? DBNull.Value);
        insert.Parameters.AddWithValue("$recheck", (object?)session.RecheckAfter?.ToUnixTimeMilliseconds() ?? DBNull.Value);
        await insert.ExecuteNonQueryAsync(cancellationToken);
        return true;
    });

    public Task<AdminSessionRecord?> FindAsync(byte[] tokenHash, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await using var select = SqliteImageCatalog.Command(connection, null, """
            SELECT admin_id, display_name, role, stamp, created_at, last_seen_at, absolute_expires_at, refresh_token, role_checked_at, recheck_after
              FROM admin_sessions WHERE token_hash = $hash AND revoked_at IS NULL;
            """);
        select.Parameters.AddWithValue("$hash", tokenHash);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new AdminSessionRecord(
            tokenHash,
            reader.GetString(0),
            reader.GetString(1),
            reader.GetString(2),
            reader.GetString(3),
            DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)),
            DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)),
            DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)),
            reader.IsDBNull(7) ? null : reader.GetString(7),
            reader.IsDBNull(8) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(8)),
            reader.IsDBNull(9) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(9)));
    });

    public Task TouchAsync(byte[] tokenHash, DateTimeOffset at, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await using var update = SqliteImageCatalog.Command(connection, null, "UPDATE admin_sessions SET last_seen_at = MAX(last_seen_at, $at) WHERE token_hash = $hash AND revoked_at IS NULL;");
        update.Parameters.AddWithValue("$hash", tokenHash);
        update.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
        return await update.ExecuteNonQueryAsync(cancellationToken);
    });

    public Task<bool> ClaimRecheckAsync(byte[] tokenHash, DateTimeOffset seenRecheckAfter, DateTimeOffset retryAfter, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await using var update = SqliteImageCatalog.Command(connection, null, "UPDATE admin_sessions SET recheck_after = $retry WHERE token_hash = $hash AND revoked_at IS NULL AND recheck_after = $seen;");
        update.Parameters.AddWithValue("$hash", tokenHash);
        update.Parameters.AddWithValue("$seen", seenRecheckAfter.ToUnixTimeMilliseconds());
        update.Parameters.AddWithValue("$retry", retryAfter.ToUnixTimeMilliseconds());
        return await update.ExecuteNonQueryAsync(cancellationToken) == 1;
    });

    public Task RecordRecheckAsync(byte[] tokenHash, string? protectedRefreshToken, DateTimeOffset checkedAt, DateTimeOffset nextRecheckAfter, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await using var update = SqliteImageCatalog.Command(connection, null, """
            UPDATE admin_sessions SET refresh_token = COALESCE($refresh, refresh_token), role_checked_at = $checked, recheck_after = $next
             WHERE token_hash = $hash AND revoked_at IS NULL;
            """);
        update.Parameters.AddWithValue("$hash", tokenHash);
        update.Parameters.AddWithValue("$refresh", (object?)protectedRefreshToken ?? DBNull.Value);
        update.Parameters.AddWithValue("$checked", checkedAt.ToUnixTimeMilliseconds());
        update.Parameters.AddWithValue("$next", nextRecheckAfter.ToUnixTimeMilliseconds());
        return await update.ExecuteNonQueryAsync(cancellationToken);
    });

    public Task<bool> RevokeAsync(byte[] tokenHash, DateTimeOffset at, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await using var update = SqliteImageCatalog.Command(connection, null, "UPDATE admin_sessions SET revoked_at = $at, refresh_token = NULL WHERE token_hash = $hash AND revoked_at IS NULL;");
        update.Parameters.AddWithValue("$hash", tokenHash);
        update.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
        return await update.ExecuteNonQueryAsync(cancellationToken) == 1;
    });

    public Task<int> PurgeAsync(DateTimeOffset before, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await using var delete = SqliteImageCatalog.Command(connection, null, "DELETE FROM admin_sessions WHERE absolute_expires_at < $before OR revoked_at < $before;");
        delete.Parameters.AddWithValue("$before", before.ToUnixTimeMilliseconds());
        return await delete.ExecuteNonQueryAsync(cancellationToken);
    });

    private Task<T> RunAsync<T>(Func<SqliteConnection, Task<T>> work) => SqliteImageCatalog.RunAsync(_connectionString, work);
}
