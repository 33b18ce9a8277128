using System.Data.Common;
using Npgsql;
using NpgsqlTypes;
using SecureImage.Core.Kakao;

namespace SecureImage.Storage.Postgres;

/// <summary>
/// <see cref="IKakaoFetchQueue"/> in the PostgreSQL catalog's database (tables from migrations 0003 and 0004,
/// applied by the catalog's migrator). It shares the catalog's connection pool and its failure mapping, so a lost
/// server surfaces as <see cref="Core.Catalog.CatalogUnavailableException"/> here too. A claim is one
/// UPDATE … RETURNING whose sub-select locks with <c>FOR UPDATE SKIP LOCKED</c>: instances claiming at
/// once each get different fetches, and none waits for another's lock.
/// </summary>
public sealed class PostgresKakaoFetchQueue : IKakaoFetchQueue
{
    private const string StatusColumns = "id, request_id, position, state, attempts, image_id, last_error, deadline";
    private readonly PostgresImageCatalog _catalog;

    /// <summary>A queue on <paramref name="catalog"/>'s database and connection pool; the catalog owns (and disposes) the pool.</summary>
    public PostgresKakaoFetchQueue(PostgresImageCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        _catalog = catalog;
    }

    public Task EnqueueAsync(KakaoRequest request, DateTimeOffset now, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        ArgumentNullException.ThrowIfNull(request);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        foreach (var fetch in request.Fetches)
        {
            await using var insert = Command(connection, transaction, """
                INSERT INTO kakao_fetches (id, request_id, position, bot_id, consent_id, url, deadline, state, attempts, next_attempt_at, created_at)
                VALUES (@id, @request, @position, @bot, @consent, @url, @deadline, 'pending', 0, @now, @now);
                """);
            Add(insert, "id", NpgsqlDbType.Uuid, fetch.Id);
            Add(insert, "request", NpgsqlDbType.Uuid, fetch.RequestId);
            Add(insert, "position", NpgsqlDbType.Integer, fetch.Position);
            Add(insert, "bot", NpgsqlDbType.Text, fetch.BotId);
            Add(insert, "consent", NpgsqlDbType.Uuid, fetch.ConsentId);
            Add(insert, "url", NpgsqlDbType.Text, fetch.Url);
            Add(insert, "deadline", NpgsqlDbType.TimestampTz, Time(fetch.Deadline));
            Add(insert, "now", NpgsqlDbType.TimestampTz, Time(now));
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        foreach (var refusal in request.Refusals)
        {
            await using var insert = Command(connection, transaction, """
                INSERT INTO kakao_fetches (id, request_id, position, bot_id, consent_id, url, deadline, state, attempts, next_attempt_at, last_error, created_at, finished_at)
                VALUES (@id, @request, @position, @bot, @consent, NULL, @now, 'failed', 0, @now, @reason, @now, @now);
                """);
            Add(insert, "id", NpgsqlDbType.Uuid, refusal.Id);
            Add(insert, "request", NpgsqlDbType.Uuid, request.RequestId);
            Add(insert, "position", NpgsqlDbType.Integer, refusal.Position);
            Add(insert, "bot", NpgsqlDbType.Text, request.BotId);
            Add(insert, "consent", NpgsqlDbType.Uuid, request.ConsentId);
            Add(insert, "reason", NpgsqlDbType.Text, refusal.Reason);
            Add(insert, "now", NpgsqlDbType.TimestampTz, Time(now));
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        if (request.Callback is { } callback)
        {
            await using var insert = Command(connection, transaction, """
                INSERT INTO kakao_callbacks (request_id, bot_id, url, token, state, due_at, valid_until, refused_beyond_limit, created_at)
                VALUES (@request, @bot, @url, @token, 'held', @due, @valid, @beyond, @now);
                """);
            Add(insert, "request", NpgsqlDbType.Uuid, request.RequestId);
            Add(insert, "bot", NpgsqlDbType.Text, request.BotId);
            Add(insert, "url", NpgsqlDbType.Text, callback.Url);
            Add(insert, "token", NpgsqlDbType.Text, callback.Token);
            Add(insert, "due", NpgsqlDbType.TimestampTz, Time(callback.DueAt));
            Add(insert, "valid", NpgsqlDbType.TimestampTz, Time(callback.ValidUntil));
            Add(insert, "beyond", NpgsqlDbType.Integer, callback.RefusedBeyondLimit);
            Add(insert, "now", NpgsqlDbType.TimestampTz, Time(now));
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return true;
    }, cancellationToken);

    public Task<IReadOnlyList<KakaoFetchClaim>> ClaimDueAsync(DateTimeOffset now, TimeSpan lease, int maxItems, CancellationToken cancellationToken) => RunAsync<IReadOnlyList<KakaoFetchClaim>>(async connection =>
    {
        // SKIP LOCKED: rows another instance is claiming right now are passed over, not waited for; FOR
        // UPDATE re-checks the conditions on rows committed meanwhile, so a fetch is never leased twice.
        // `= ANY(ARRAY(…))` finds the claimed rows by primary key instead of a join over the table.
        await using var claim = Command(connection, null, """
            UPDATE kakao_fetches
               SET lease_until = @lease, attempts = attempts + 1
             WHERE id = ANY(ARRAY(SELECT id FROM kakao_fetches
                                   WHERE state = 'pending' AND next_attempt_at <= @now AND (lease_until IS NULL OR lease_until <= @now)
                                   ORDER BY next_attempt_at LIMIT @max
                                   FOR UPDATE SKIP LOCKED))
            RETURNING id, request_id, position, bot_id, consent_id, url, deadline, attempts;
            """);
        Add(claim, "now", NpgsqlDbType.TimestampTz, Time(now));
        Add(claim, "lease", NpgsqlDbType.TimestampTz, Time(now + lease));
        Add(claim, "max", NpgsqlDbType.Integer, maxItems);
        var claims = new List<KakaoFetchClaim>();
        await using var reader = await claim.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var fetch = new KakaoFetch(
                reader.GetGuid(0),
                reader.GetGuid(1),
                reader.GetInt32(2),
                reader.GetString(3),
                reader.GetGuid(4),
                reader.GetString(5),
                FromTime(reader, 6));
            claims.Add(new KakaoFetchClaim(fetch, reader.GetInt32(7)));
        }

        return claims;
    }, cancellationToken);

    public Task<bool> MarkDoneAsync(Guid fetchId, Guid imageId, DateTimeOffset at, CancellationToken cancellationToken) =>
        FinishAsync(fetchId, "done", imageId, null, at, cancellationToken);

    public Task<bool> MarkFailedAsync(Guid fetchId, string reason, DateTimeOffset at, CancellationToken cancellationToken) =>
        FinishAsync(fetchId, "failed", null, reason, at, cancellationToken);

    public Task RescheduleAsync(Guid fetchId, DateTimeOffset notBefore, string? lastError, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await using var update = Command(connection, null, """
            UPDATE kakao_fetches SET lease_until = NULL, next_attempt_at = @next, last_error = COALESCE(@error, last_error)
             WHERE id = @id AND state = 'pending';
            """);
        Add(update, "id", NpgsqlDbType.Uuid, fetchId);
        Add(update, "next", NpgsqlDbType.TimestampTz, Time(notBefore));
        Add(update, "error", NpgsqlDbType.Text, lastError);
        return await update.ExecuteNonQueryAsync(cancellationToken);
    }, cancellationToken);

    public Task<IReadOnlyList<KakaoFetchStatus>> GetRequestAsync(Guid requestId, CancellationToken cancellationToken) => RunAsync<IReadOnlyList<KakaoFetchStatus>>(async connection =>
    {
        await using var select = Command(connection, null, $"SELECT {StatusColumns} FROM kakao_fetches WHERE request_id = @request ORDER BY position;");
        Add(select, "request", NpgsqlDbType.Uuid, requestId);
        var list = new List<KakaoFetchStatus>();
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(ReadStatus(reader));
        }

        return list;
    }, cancellationToken);

    public Task<bool> ArmCallbackAsync(Guid requestId, DateTimeOffset now, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await using var update = Command(connection, null, "UPDATE kakao_callbacks SET state = 'pending' WHERE request_id = @request AND state = 'held' AND valid_until > @now;");
        Add(update, "request", NpgsqlDbType.Uuid, requestId);
        Add(update, "now", NpgsqlDbType.TimestampTz, Time(now));
        return await update.ExecuteNonQueryAsync(cancellationToken) == 1;
    }, cancellationToken);

    public Task<IReadOnlyList<KakaoCallbackClaim>> ClaimDueCallbacksAsync(DateTimeOffset now, int maxItems, CancellationToken cancellationToken) => RunAsync<IReadOnlyList<KakaoCallbackClaim>>(async connection =>
    {
        // As for fetches: SKIP LOCKED passes over callbacks another instance is claiming, FOR UPDATE re-checks
        // the state on rows committed meanwhile, and the outer state check makes the move one-way. A
        // callback reaches 'sending' once, for one instance.
        await using var claim = Command(connection, null, """
            UPDATE kakao_callbacks
               SET state = 'sending', claimed_at = @now
             WHERE state = 'pending'
               AND request_id = ANY(ARRAY(SELECT c.request_id FROM kakao_callbacks c
                                           WHERE c.state = 'pending' AND c.valid_until > @now
                                             AND (c.due_at <= @now OR NOT EXISTS (SELECT 1 FROM kakao_fetches f WHERE f.request_id = c.request_id AND f.state = 'pending'))
                                           ORDER BY c.due_at LIMIT @max
                                           FOR UPDATE OF c SKIP LOCKED))
            RETURNING request_id, bot_id, url, token, refused_beyond_limit;
            """);
        Add(claim, "now", NpgsqlDbType.TimestampTz, Time(now));
        Add(claim, "max", NpgsqlDbType.Integer, maxItems);
        var claims = new List<KakaoCallbackClaim>();
        await using var reader = await claim.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            claims.Add(new KakaoCallbackClaim(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetInt32(4)));
        }

        return claims;
    }, cancellationToken);

    public Task<bool> CompleteCallbackAsync(Guid requestId, KakaoCallbackState outcome, DateTimeOffset at, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        var (from, to) = KakaoCallbackStates.Completion(outcome);
        await using var update = Command(connection, null, """
            UPDATE kakao_callbacks SET state = @to, url = NULL, token = NULL, finished_at = @at
             WHERE request_id = @request AND state = @from;
            """);
        Add(update, "request", NpgsqlDbType.Uuid, requestId);
        Add(update, "from", NpgsqlDbType.Text, from);
        Add(update, "to", NpgsqlDbType.Text, to);
        Add(update, "at", NpgsqlDbType.TimestampTz, Time(at));
        return await update.ExecuteNonQueryAsync(cancellationToken) == 1;
    }, cancellationToken);

    public Task<int> ExpireCallbacksAsync(DateTimeOffset now, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await using var update = Command(connection, null, """
            UPDATE kakao_callbacks SET state = 'expired', url = NULL, token = NULL, finished_at = @now
             WHERE state IN ('held', 'pending', 'sending') AND valid_until <= @now;
            """);
        Add(update, "now", NpgsqlDbType.TimestampTz, Time(now));
        return await update.ExecuteNonQueryAsync(cancellationToken);
    }, cancellationToken);

    public Task<KakaoCallbackStatus?> GetCallbackAsync(Guid requestId, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await using var select = Command(connection, null, "SELECT request_id, state, due_at, valid_until, claimed_at, finished_at, url IS NOT NULL OR token IS NOT NULL FROM kakao_callbacks WHERE request_id = @request;");
        Add(select, "request", NpgsqlDbType.Uuid, requestId);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return (KakaoCallbackStatus?)null;
        }

        return new KakaoCallbackStatus(
            reader.GetGuid(0),
            KakaoCallbackStates.Parse(reader.GetString(1)),
            FromTime(reader, 2),
            FromTime(reader, 3),
            reader.IsDBNull(4) ? null : FromTime(reader, 4),
            reader.IsDBNull(5) ? null : FromTime(reader, 5),
            reader.GetBoolean(6));
    }, cancellationToken);

    private Task<bool> FinishAsync(Guid fetchId, string state, Guid? imageId, string? error, DateTimeOffset at, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await using var update = Command(connection, null, """
            UPDATE kakao_fetches
               SET state = @state, url = NULL, lease_until = NULL, image_id = @image, last_error = COALESCE(@error, last_error), finished_at = @at
             WHERE id = @id AND state = 'pending';
            """);
        Add(update, "id", NpgsqlDbType.Uuid, fetchId);
        Add(update, "state", NpgsqlDbType.Text, state);
        Add(update, "image", NpgsqlDbType.Uuid, imageId);
        Add(update, "error", NpgsqlDbType.Text, error);
        Add(update, "at", NpgsqlDbType.TimestampTz, Time(at));
        return await update.ExecuteNonQueryAsync(cancellationToken) == 1;
    }, cancellationToken);

    private static KakaoFetchStatus ReadStatus(DbDataReader r) => new(
        r.GetGuid(0),
        r.GetGuid(1),
        r.GetInt32(2),
        r.GetString(3) switch { "done" => KakaoFetchState.Done, "failed" => KakaoFetchState.Failed, _ => KakaoFetchState.Pending },
        r.GetInt32(4),
        r.IsDBNull(5) ? null : r.GetGuid(5),
        r.IsDBNull(6) ? null : r.GetString(6),
        FromTime(r, 7));

    private Task<T> RunAsync<T>(Func<NpgsqlConnection, Task<T>> work, CancellationToken cancellationToken) => _catalog.RunAsync(work, cancellationToken);

    private static NpgsqlCommand Command(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql) => PostgresImageCatalog.Command(connection, transaction, sql);

    private static void Add(NpgsqlCommand command, string name, NpgsqlDbType type, object? value) => PostgresImageCatalog.Add(command, name, type, value);

    private static DateTimeOffset Time(DateTimeOffset at) => PostgresImageCatalog.Time(at);

    private static DateTimeOffset FromTime(DbDataReader r, int ordinal) => PostgresImageCatalog.FromTime(r, ordinal);
}
