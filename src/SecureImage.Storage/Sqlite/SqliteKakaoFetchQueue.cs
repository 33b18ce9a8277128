using System.Globalization;
using Microsoft.Data.Sqlite;
using SecureImage.Core.Kakao;

namespace SecureImage.Storage.Sqlite;

/// <summary>
/// <see cref="IKakaoFetchQueue"/> in the SQLite catalog's database (table from migration 0003, applied
/// by the catalog's migrator). A claim is one UPDATE … RETURNING statement, atomic in SQLite; the
/// PostgreSQL version is the same statement with <c>FOR UPDATE SKIP LOCKED</c> in the sub-select.
/// </summary>
public sealed class SqliteKakaoFetchQueue : IKakaoFetchQueue
{
    private const string StatusColumns = "id, request_id, position, state, attempts, image_id, last_error, deadline";
    private readonly string _connectionString;

    public SqliteKakaoFetchQueue(SqliteCatalogOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.ConnectionString);
        var builder = new SqliteConnectionStringBuilder(options.ConnectionString) { ForeignKeys = true, Pooling = true, DefaultTimeout = 30 };
        _connectionString = builder.ToString();
        SqliteImageCatalog.PrepareFiles(builder);
    }

    public Task EnqueueAsync(IReadOnlyList<KakaoFetch> fetches, DateTimeOffset now, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        ArgumentNullException.ThrowIfNull(fetches);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        foreach (var fetch in fetches)
        {
            await using var insert = Command(connection, transaction, """
                INSERT INTO kakao_fetches (id, request_id, position, bot_id, consent_id, url, deadline, state, attempts, next_attempt_at, created_at)
                VALUES ($id, $request, $position, $bot, $consent, $url, $deadline, 'pending', 0, $now, $now);
                """);
            insert.Parameters.AddWithValue("$id", Id(fetch.Id));
            insert.Parameters.AddWithValue("$request", Id(fetch.RequestId));
            insert.Parameters.AddWithValue("$position", fetch.Position);
            insert.Parameters.AddWithValue("$bot", fetch.BotId);
            insert.Parameters.AddWithValue("$consent", Id(fetch.ConsentId));
            insert.Parameters.AddWithValue("$url", fetch.Url);
            insert.Parameters.AddWithValue("$deadline", fetch.Deadline.ToUnixTimeMilliseconds());
            insert.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return true;
    });

    public Task<IReadOnlyList<KakaoFetchClaim>> ClaimDueAsync(DateTimeOffset now, TimeSpan lease, int maxItems, CancellationToken cancellationToken) => RunAsync<IReadOnlyList<KakaoFetchClaim>>(async connection =>
    {
        await using var claim = Command(connection, null, """
            UPDATE kakao_fetches
               SET lease_until = $lease, attempts = attempts + 1
             WHERE id IN (SELECT id FROM kakao_fetches
                           WHERE state = 'pending' AND next_attempt_at <= $now AND (lease_until IS NULL OR lease_until <= $now)
                           ORDER BY next_attempt_at LIMIT $max)
            RETURNING id, request_id, position, bot_id, consent_id, url, deadline, attempts;
            """);
        claim.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        claim.Parameters.AddWithValue("$lease", (now + lease).ToUnixTimeMilliseconds());
        claim.Parameters.AddWithValue("$max", maxItems);
        var claims = new List<KakaoFetchClaim>();
        await using var reader = await claim.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var fetch = new KakaoFetch(
                Guid.Parse(reader.GetString(0)),
                Guid.Parse(reader.GetString(1)),
                reader.GetInt32(2),
                reader.GetString(3),
                Guid.Parse(reader.GetString(4)),
                reader.GetString(5),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)));
            claims.Add(new KakaoFetchClaim(fetch, reader.GetInt32(7)));
        }

        return claims;
    });

    public Task<bool> MarkDoneAsync(Guid fetchId, Guid imageId, DateTimeOffset at, CancellationToken cancellationToken) =>
        FinishAsync(fetchId, "done", imageId, null, at, cancellationToken);

    public Task<bool> MarkFailedAsync(Guid fetchId, string reason, DateTimeOffset at, CancellationToken cancellationToken) =>
        FinishAsync(fetchId, "failed", null, reason, at, cancellationToken);

    public Task RescheduleAsync(Guid fetchId, DateTimeOffset notBefore, string? lastError, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await using var update = Command(connection, null, """
            UPDATE kakao_fetches SET lease_until = NULL, next_attempt_at = $next, last_error = COALESCE($error, last_error)
             WHERE id = $id AND state = 'pending';
            """);
        update.Parameters.AddWithValue("$id", Id(fetchId));
        update.Parameters.AddWithValue("$next", notBefore.ToUnixTimeMilliseconds());
        update.Parameters.AddWithValue("$error", (object?)lastError ?? DBNull.Value);
        return await update.ExecuteNonQueryAsync(cancellationToken);
    });

    public Task<IReadOnlyList<KakaoFetchStatus>> GetRequestAsync(Guid requestId, CancellationToken cancellationToken) => RunAsync<IReadOnlyList<KakaoFetchStatus>>(async connection =>
    {
        await using var select = Command(connection, null, $"SELECT {StatusColumns} FROM kakao_fetches WHERE request_id = $request ORDER BY position;");
        select.Parameters.AddWithValue("$request", Id(requestId));
        var list = new List<KakaoFetchStatus>();
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new KakaoFetchStatus(
                Guid.Parse(reader.GetString(0)),
                Guid.Parse(reader.GetString(1)),
                reader.GetInt32(2),
                reader.GetString(3) switch { "done" => KakaoFetchState.Done, "failed" => KakaoFetchState.Failed, _ => KakaoFetchState.Pending },
                reader.GetInt32(4),
                reader.IsDBNull(5) ? null : Guid.Parse(reader.GetString(5)),
                reader.IsDBNull(6) ? null : reader.GetString(6),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(7))));
        }

        return list;
    });

    private Task<bool> FinishAsync(Guid fetchId, string state, Guid? imageId, string? error, DateTimeOffset at, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await using var update = Command(connection, null, """
            UPDATE kakao_fetches
               SET state = $state, url = NULL, lease_until = NULL, image_id = $image, last_error = COALESCE($error, last_error), finished_at = $at
             WHERE id = $id AND state = 'pending';
            """);
        update.Parameters.AddWithValue("$id", Id(fetchId));
        update.Parameters.AddWithValue("$state", state);
        update.Parameters.AddWithValue("$image", imageId is { } image ? Id(image) : DBNull.Value);
        update.Parameters.AddWithValue("$error", (object?)error ?? DBNull.Value);
        update.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
        return await update.ExecuteNonQueryAsync(cancellationToken) == 1;
    });

    private Task<T> RunAsync<T>(Func<SqliteConnection, Task<T>> work) => SqliteImageCatalog.RunAsync(_connectionString, work);

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql) => SqliteImageCatalog.Command(connection, transaction, sql);

    private static string Id(Guid id) => id.ToString("D", CultureInfo.InvariantCulture);
}
