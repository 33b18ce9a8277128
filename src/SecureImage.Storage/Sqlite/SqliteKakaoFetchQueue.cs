using System.Globalization;
using Microsoft.Data.Sqlite;
using SecureImage.Core.Kakao;

namespace SecureImage.Storage.Sqlite;

/// <summary>
/// <see cref="IKakaoFetchQueue"/> in the SQLite catalog's database (tables from migrations 0003 and 0004,
/// applied by the catalog's migrator). A claim is one UPDATE … RETURNING statement, atomic in SQLite; the
/// PostgreSQL version is the same statement with <c>FOR UPDATE SKIP LOCKED</c> in the sub-select.
/// </summary>
public sealed class SqliteKakaoFetchQueue : IKakaoFetchQueue
{
    private const string StatusColumns = "id, request_id, position, state, attempts, image_id, last_error, deadline";
    private readonly string _connectionString;

    public SqliteKakaoFetchQueue(SqliteCatalogOptions options) =>
        _connectionString = SqliteImageCatalog.PrepareConnectionString(options);

    public Task EnqueueAsync(KakaoRequest request, DateTimeOffset now, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        ArgumentNullException.ThrowIfNull(request);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        foreach (var fetch in request.Fetches)
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

        foreach (var refusal in request.Refusals)
        {
            await using var insert = Command(connection, transaction, """
                INSERT INTO kakao_fetches (id, request_id, position, bot_id, consent_id, url, deadline, state, attempts, next_attempt_at, last_error, created_at, finished_at)
                VALUES ($id, $request, $position, $bot, $consent, NULL, $now, 'failed', 0, $now, $reason, $now, $now);
                """);
            insert.Parameters.AddWithValue("$id", Id(refusal.Id));
            insert.Parameters.AddWithValue("$request", Id(request.RequestId));
            insert.Parameters.AddWithValue("$position", refusal.Position);
            insert.Parameters.AddWithValue("$bot", request.BotId);
            insert.Parameters.AddWithValue("$consent", Id(request.ConsentId));
            insert.Parameters.AddWithValue("$reason", refusal.Reason);
            insert.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        if (request.Callback is { } callback)
        {
            await using var insert = Command(connection, transaction, """
                INSERT INTO kakao_callbacks (request_id, bot_id, url, token, state, due_at, valid_until, refused_beyond_limit, created_at)
                VALUES ($request, $bot, $url, $token, 'held', $due, $valid, $beyond, $now);
                """);
            insert.Parameters.AddWithValue("$request", Id(request.RequestId));
            insert.Parameters.AddWithValue("$bot", request.BotId);
            insert.Parameters.AddWithValue("$url", callback.Url);
            insert.Parameters.AddWithValue("$token", (object?)callback.Token ?? DBNull.Value);
            insert.Parameters.AddWithValue("$due", callback.DueAt.ToUnixTimeMilliseconds());
            insert.Parameters.AddWithValue("$valid", callback.ValidUntil.ToUnixTimeMilliseconds());
            insert.Parameters.AddWithValue("$beyond", callback.RefusedBeyondLimit);
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

    public Task<bool> ArmCallbackAsync(Guid requestId, DateTimeOffset now, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await using var update = Command(connection, null, "UPDATE kakao_callbacks SET state = 'pending' WHERE request_id = $request AND state = 'held' AND valid_until > $now;");
        update.Parameters.AddWithValue("$request", Id(requestId));
        update.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        return await update.ExecuteNonQueryAsync(cancellationToken) == 1;
    });

    public Task<IReadOnlyList<KakaoCallbackClaim>> ClaimDueCallbacksAsync(DateTimeOffset now, int maxItems, CancellationToken cancellationToken) => RunAsync<IReadOnlyList<KakaoCallbackClaim>>(async connection =>
    {
        // One statement, so atomic in SQLite: a callback moves to 'sending' for exactly one claimer.
        await using var claim = Command(connection, null, """
            UPDATE kakao_callbacks
               SET state = 'sending', claimed_at = $now
             WHERE state = 'pending'
               AND request_id IN (SELECT c.request_id FROM kakao_callbacks c
                                   WHERE c.state = 'pending' AND c.valid_until > $now
                                     AND (c.due_at <= $now OR NOT EXISTS (SELECT 1 FROM kakao_fetches f WHERE f.request_id = c.request_id AND f.state = 'pending'))
                                   ORDER BY c.due_at LIMIT $max)
            RETURNING request_id, bot_id, url, token, refused_beyond_limit;
            """);
        claim.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        claim.Parameters.AddWithValue("$max", maxItems);
        var claims = new List<KakaoCallbackClaim>();
        await using var reader = await claim.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            claims.Add(new KakaoCallbackClaim(Guid.Parse(reader.GetString(0)), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetInt32(4)));
        }

        return claims;
    });

    public Task<bool> CompleteCallbackAsync(Guid requestId, KakaoCallbackState outcome, DateTimeOffset at, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        var (from, to) = KakaoCallbackStates.Completion(outcome);
        await using var update = Command(connection, null, """
            UPDATE kakao_callbacks SET state = $to, url = NULL, token = NULL, finished_at = $at
             WHERE request_id = $request AND state = $from;
            """);
        update.Parameters.AddWithValue("$request", Id(requestId));
        update.Parameters.AddWithValue("$from", from);
        update.Parameters.AddWithValue("$to", to);
        update.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
        return await update.ExecuteNonQueryAsync(cancellationToken) == 1;
    });

    public Task<int> ExpireCallbacksAsync(DateTimeOffset now, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await using var update = Command(connection, null, """
            UPDATE kakao_callbacks SET state = 'expired', url = NULL, token = NULL, finished_at = $now
             WHERE state IN ('held', 'pending', 'sending') AND valid_until <= $now;
            """);
        update.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        return await update.ExecuteNonQueryAsync(cancellationToken);
    });

    public Task<KakaoCallbackStatus?> GetCallbackAsync(Guid requestId, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await using var select = Command(connection, null, "SELECT request_id, state, due_at, valid_until, claimed_at, finished_at, url IS NOT NULL OR token IS NOT NULL FROM kakao_callbacks WHERE request_id = $request;");
        select.Parameters.AddWithValue("$request", Id(requestId));
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return (KakaoCallbackStatus?)null;
        }

        DateTimeOffset? Time(int ordinal) => reader.IsDBNull(ordinal) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(ordinal));
        return new KakaoCallbackStatus(
            Guid.Parse(reader.GetString(0)),
            KakaoCallbackStates.Parse(reader.GetString(1)),
            DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)),
            DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)),
            Time(4),
            Time(5),
            reader.GetBoolean(6));
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
