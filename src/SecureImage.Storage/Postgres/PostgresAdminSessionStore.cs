using Npgsql;
using NpgsqlTypes;
using SecureImage.Core.Admin;

namespace SecureImage.Storage.Postgres;

/// <summary>
/// <see cref="IAdminSessionStore"/> in the PostgreSQL catalog's database (table from migration 0006, applied by the catalog's
/// migrator), on the catalog's connection pool and failure mapping. Every instance on the catalog sees a sign-out at once.
/// </summary>
public sealed class PostgresAdminSessionStore : IAdminSessionStore
{
    private readonly PostgresImageCatalog _catalog;

    /// <summary>Sessions on <paramref name="catalog"/>'s database and pool; the catalog owns (and disposes) the pool.</summary>
    public PostgresAdminSessionStore(PostgresImageCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        _catalog = catalog;
    }

    public Task CreateAsync(AdminSessionRecord session, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        ArgumentNullException.ThrowIfNull(session);
        await using var insert = Command(connection, """
            INSERT INTO admin_sessions (token_hash, admin_id, display_name, role, stamp, created_at, last_seen_at, absolute_expires_at, refresh_token, role_checked_at, recheck_after)
            VALUES (@hash, @admin, @name, @role, @stamp, @created, @seen, @expires, @refresh, @checked, @recheck);
            """);
        Add(insert, "hash", NpgsqlDbType.Bytea, session.TokenHash);
        Add(insert, "admin", NpgsqlDbType.Text, session.AdminId);
        Add(insert, "name", NpgsqlDbType.Text, session.DisplayName);
        Add(insert, "role", NpgsqlDbType.Text, session.Role);
        Add(insert, "stamp", NpgsqlDbType.Text, session.Stamp);
        Add(insert, "created", NpgsqlDbType.TimestampTz, PostgresImageCatalog.Time(session.CreatedAt));
        Add(insert, "seen", NpgsqlDbType.TimestampTz, PostgresImageCatalog.Time(session.LastSeenAt));
        Add(insert, "expires", NpgsqlDbType.TimestampTz, PostgresImageCatalog.Time(session.AbsoluteExpiresAt));
        Add(insert, "refresh", NpgsqlDbType.Text, session.ProtectedRefreshToken);
        Add(insert, "checked", NpgsqlDbType.TimestampTz, session.RoleCheckedAt?.ToUniversalTime());
        Add(insert, "recheck", NpgsqlDbType.TimestampTz, session.RecheckAfter?.ToUniversalTime());
        await insert.ExecuteNonQueryAsync(cancellationToken);
        return true;
    }, cancellationToken);

    public Task<AdminSessionRecord?> FindAsync(byte[] tokenHash, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await using var select = Command(connection, """
            SELECT admin_id, display_name, role, stamp, created_at, last_seen_at, absolute_expires_at, refresh_token, role_checked_at, recheck_after
              FROM admin_sessions WHERE token_hash = @hash AND revoked_at IS NULL;
            """);
        Add(select, "hash", NpgsqlDbType.Bytea, tokenHash);
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
            PostgresImageCatalog.FromTime(reader, 4),
            PostgresImageCatalog.FromTime(reader, 5),
            PostgresImageCatalog.FromTime(reader, 6),
            reader.IsDBNull(7) ? null : reader.GetString(7),
            reader.IsDBNull(8) ? null : PostgresImageCatalog.FromTime(reader, 8),
            reader.IsDBNull(9) ? null : PostgresImageCatalog.FromTime(reader, 9));
    }, cancellationToken);

    public Task TouchAsync(byte[] tokenHash, DateTimeOffset at, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await using var update = Command(connection, "UPDATE admin_sessions SET last_seen_at = GREATEST(last_seen_at, @at) WHERE token_hash = @hash AND revoked_at IS NULL;");
        Add(update, "hash", NpgsqlDbType.Bytea, tokenHash);
        Add(update, "at", NpgsqlDbType.TimestampTz, PostgresImageCatalog.Time(at));
        return await update.ExecuteNonQueryAsync(cancellationToken);
    }, cancellationToken);

    public Task<bool> ClaimRecheckAsync(byte[] tokenHash, DateTimeOffset seenRecheckAfter, DateTimeOffset retryAfter, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await using var update = Command(connection, "UPDATE admin_sessions SET recheck_after = @retry WHERE token_hash = @hash AND revoked_at IS NULL AND recheck_after = @seen;");
        Add(update, "hash", NpgsqlDbType.Bytea, tokenHash);
        Add(update, "seen", NpgsqlDbType.TimestampTz, PostgresImageCatalog.Time(seenRecheckAfter));
        Add(update, "retry", NpgsqlDbType.TimestampTz, PostgresImageCatalog.Time(retryAfter));
        return await update.ExecuteNonQueryAsync(cancellationToken) == 1;
    }, cancellationToken);

    public Task RecordRecheckAsync(byte[] tokenHash, string? protectedRefreshToken, DateTimeOffset checkedAt, DateTimeOffset nextRecheckAfter, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await using var update = Command(connection, """
            UPDATE admin_sessions SET refresh_token = COALESCE(@refresh, refresh_token), role_checked_at = @checked, recheck_after = @next
             WHERE token_hash = @hash AND revoked_at IS NULL;
            """);
        Add(update, "hash", NpgsqlDbType.Bytea, tokenHash);
        Add(update, "refresh", NpgsqlDbType.Text, protectedRefreshToken);
        Add(update, "checked", NpgsqlDbType.TimestampTz, PostgresImageCatalog.Time(checkedAt));
        Add(update, "next", NpgsqlDbType.TimestampTz, PostgresImageCatalog.Time(nextRecheckAfter));
        return await update.ExecuteNonQueryAsync(cancellationToken);
    }, cancellationToken);

    public Task<bool> RevokeAsync(byte[] tokenHash, DateTimeOffset at, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await using var update = Command(connection, "UPDATE admin_sessions SET revoked_at = @at, refresh_token = NULL WHERE token_hash = @hash AND revoked_at IS NULL;");
        Add(update, "hash", NpgsqlDbType.Bytea, tokenHash);
        Add(update, "at", NpgsqlDbType.TimestampTz, PostgresImageCatalog.Time(at));
        return await update.ExecuteNonQueryAsync(cancellationToken) == 1;
    }, cancellationToken);

    public Task<int> PurgeAsync(DateTimeOffset before, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await using var delete = Command(connection, "DELETE FROM admin_sessions WHERE absolute_expires_at < @before OR revoked_at < @before;");
        Add(delete, "before", NpgsqlDbType.TimestampTz, PostgresImageCatalog.Time(before));
        return await delete.ExecuteNonQueryAsync(cancellationToken);
    }, cancellationToken);

    private Task<T> RunAsync<T>(Func<NpgsqlConnection, Task<T>> work, CancellationToken cancellationToken) => _catalog.RunAsync(work, cancellationToken);

    private static NpgsqlCommand Command(NpgsqlConnection connection, string sql) => PostgresImageCatalog.Command(connection, null, sql);

    private static void Add(NpgsqlCommand command, string name, NpgsqlDbType type, object? value) => PostgresImageCatalog.Add(command, name, type, value);
}
