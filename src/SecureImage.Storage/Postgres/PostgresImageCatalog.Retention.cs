using NpgsqlTypes;
using SecureImage.Core.Catalog;
using SecureImage.Core.Retention;

namespace SecureImage.Storage.Postgres;

/// <summary>The retention side of the PostgreSQL catalog: sweep claims, batch erasure, holds and job runs.</summary>
public sealed partial class PostgresImageCatalog
{
    public Task<IReadOnlyList<ImageToErase>> ClaimExpiredAsync(DateTimeOffset now, int batchSize, TimeSpan lease, CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyList<ImageToErase>>(async connection =>
        {
            // SKIP LOCKED: concurrent sweepers on other instances take other rows instead of waiting;
            // the lease keeps them off these rows after this transaction commits. `= ANY(ARRAY(…))`
            // makes the update find the claimed rows by primary key: `IN (subquery)` plans as a hash
            // join over the whole table, whose cost would grow with the table instead of the batch.
            // Setting the pending reason commits the images to erasure: a hold asked for meanwhile (its
            // row lock makes the claim skip the row, or waits for the claim) never lands on them.
            await using var claim = Command(connection, null, """
                UPDATE images SET claimed_until = @until, pending_erase_reason = COALESCE(pending_erase_reason, 'retention')
                 WHERE id = ANY(ARRAY(SELECT id FROM images
                                       WHERE state IN ('active', 'blocked') AND expires_at <= @now
                                         AND (claimed_until IS NULL OR claimed_until <= @now)
                                       ORDER BY expires_at LIMIT @limit
                                       FOR UPDATE SKIP LOCKED))
                RETURNING id, blob_name, pending_erase_reason, preview_blob_name;
                """);
            Add(claim, "now", NpgsqlDbType.TimestampTz, Time(now));
            Add(claim, "until", NpgsqlDbType.TimestampTz, Time(now + lease));
            Add(claim, "limit", NpgsqlDbType.Integer, batchSize);
            var images = new List<ImageToErase>();
            await using var reader = await claim.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                images.Add(ReadImageToErase(reader));
            }

            return images;
        }, cancellationToken);

    public Task<int> MarkErasedAsync(IReadOnlyList<ErasedImage> images, string actor, DateTimeOffset at, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0)
        {
            return 0;
        }

        // One statement for the whole batch: rows already erased (or held) are skipped by the WHERE, and
        // every row this statement erases gets exactly one audit event, in the same transaction.
        await using var command = Command(connection, null, """
            WITH input AS (SELECT * FROM unnest(@ids, @reasons) AS t(id, reason)),
                 erased AS (
                    UPDATE images i
                       SET state = 'erased', wrapped_key = NULL, key_id = NULL, preview_wrapped_key = NULL, preview_key_id = NULL, erased_at = @at, erase_reason = input.reason,
                           pending_erase_reason = NULL, claimed_until = NULL, expires_at = LEAST(i.expires_at, @at)
                      FROM input
                     WHERE i.id = input.id AND i.state NOT IN ('erased', 'held')
                    RETURNING i.id, i.bot_id, i.consent_id, i.erase_reason)
            INSERT INTO audit_events (at, kind, bot_id, image_id, consent_id, actor, reason)
            SELECT @at, @kind, bot_id, id, consent_id, @actor, erase_reason FROM erased;
            """);
        Add(command, "ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid, images.Select(i => i.ImageId).ToArray());
        Add(command, "reasons", NpgsqlDbType.Array | NpgsqlDbType.Text, images.Select(i => i.Reason).ToArray());
        Add(command, "at", NpgsqlDbType.TimestampTz, Time(at));
        Add(command, "kind", NpgsqlDbType.Text, AuditKinds.ImageErased);
        Add(command, "actor", NpgsqlDbType.Text, actor);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }, cancellationToken);

    public Task<DateTimeOffset?> OldestOverdueExpiryAsync(DateTimeOffset now, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await using var command = Command(connection, null, "SELECT MIN(expires_at) FROM images WHERE state IN ('active', 'blocked') AND expires_at <= @now;");
        Add(command, "now", NpgsqlDbType.TimestampTz, Time(now));
        var value = await command.ExecuteScalarAsync(cancellationToken);
        return value is DateTime utc ? new DateTimeOffset(DateTime.SpecifyKind(utc, DateTimeKind.Utc)) : value as DateTimeOffset?;
    }, cancellationToken);

    public Task<HoldOutcome> PlaceHoldAsync(Guid imageId, string actor, string reasonCode, DateTimeOffset at, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        // FOR UPDATE: the row read is the row updated; an erase request or sweep claim on it waits for
        // this transaction (and then finds it held), or this read waits for theirs (and finds the reason).
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        string botId;
        Guid consentId;
        HoldOutcome outcome;
        await using (var find = Command(connection, transaction, "SELECT state, pending_erase_reason IS NOT NULL, expires_at, bot_id, consent_id FROM images WHERE id = @id FOR UPDATE;"))
        {
            Add(find, "id", NpgsqlDbType.Uuid, imageId);
            await using var reader = await find.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return HoldOutcome.NotFound;
            }

            outcome = LegalHold.Decide(ImageStates.Parse(reader.GetString(0)), reader.GetBoolean(1), FromTime(reader, 2), at);
            botId = reader.GetString(3);
            consentId = reader.GetGuid(4);
        }

        if (outcome != HoldOutcome.Held)
        {
            return outcome;
        }

        await using (var hold = Command(connection, transaction, "UPDATE images SET state = 'held', held_at = @at, hold_reason = @reason WHERE id = @id;"))
        {
            Add(hold, "id", NpgsqlDbType.Uuid, imageId);
            Add(hold, "at", NpgsqlDbType.TimestampTz, Time(at));
            Add(hold, "reason", NpgsqlDbType.Text, reasonCode);
            await hold.ExecuteNonQueryAsync(cancellationToken);
        }

        await InsertAuditAsync(connection, transaction, new AuditEvent(at, HoldAuditKinds.ImageHeld, botId, imageId, consentId, actor, reasonCode), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return HoldOutcome.Held;
    }, cancellationToken);

    public Task<bool> ReleaseHoldAsync(Guid imageId, string actor, string reason, DateTimeOffset at, CancellationToken cancellationToken) =>
        ChangeHoldAsync(imageId, "UPDATE images SET state = 'active', held_at = NULL, hold_reason = NULL, claimed_until = NULL WHERE id = @id AND state = 'held' RETURNING bot_id, consent_id;", HoldAuditKinds.HoldReleased, actor, reason, at, cancellationToken);

    public Task<IReadOnlySet<string>> FindLiveBlobNamesAsync(IReadOnlyCollection<string> blobNames, CancellationToken cancellationToken) => RunAsync<IReadOnlySet<string>>(async connection =>
    {
        await using var command = Command(connection, null, """
            SELECT blob_name FROM images WHERE state <> 'erased' AND blob_name = ANY(@names)
            UNION ALL SELECT preview_blob_name FROM images WHERE state <> 'erased' AND preview_blob_name = ANY(@names);
            """);
        Add(command, "names", NpgsqlDbType.Array | NpgsqlDbType.Text, blobNames.ToArray());
        var live = new HashSet<string>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            live.Add(reader.GetString(0));
        }

        return live;
    }, cancellationToken);

    public Task RecordJobRunAsync(JobRun run, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        ArgumentNullException.ThrowIfNull(run);
        await using var command = Command(connection, null, """
            INSERT INTO job_runs (job, instance, started_at, finished_at, processed, failed, lag_ms, error_code)
            VALUES (@job, @instance, @started, @finished, @processed, @failed, @lag, @error);
            """);
        Add(command, "job", NpgsqlDbType.Text, run.Job);
        Add(command, "instance", NpgsqlDbType.Text, run.Instance);
        Add(command, "started", NpgsqlDbType.TimestampTz, Time(run.StartedAt));
        Add(command, "finished", NpgsqlDbType.TimestampTz, Time(run.FinishedAt));
        Add(command, "processed", NpgsqlDbType.Integer, run.Processed);
        Add(command, "failed", NpgsqlDbType.Integer, run.Failed);
        Add(command, "lag", NpgsqlDbType.Bigint, run.Lag is { } lag ? (long)lag.TotalMilliseconds : null);
        Add(command, "error", NpgsqlDbType.Text, run.ErrorCode);
        await command.ExecuteNonQueryAsync(cancellationToken);
        return true;
    }, cancellationToken);

    public Task<int> PurgeJobRunsAsync(DateTimeOffset startedBefore, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await using var command = Command(connection, null, "DELETE FROM job_runs WHERE started_at < @before;");
        Add(command, "before", NpgsqlDbType.TimestampTz, Time(startedBefore));
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }, cancellationToken);

    public Task<IReadOnlyList<JobRun>> GetRecentJobRunsAsync(int count, CancellationToken cancellationToken) => RunAsync<IReadOnlyList<JobRun>>(async connection =>
    {
        await using var command = Command(connection, null, """
            SELECT job, instance, started_at, finished_at, processed, failed, lag_ms, error_code
              FROM job_runs ORDER BY started_at DESC, id DESC LIMIT @count;
            """);
        Add(command, "count", NpgsqlDbType.Integer, count);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var runs = new List<JobRun>();
        while (await reader.ReadAsync(cancellationToken))
        {
            runs.Add(new JobRun(
                reader.GetString(0),
                reader.GetString(1),
                FromTime(reader, 2),
                FromTime(reader, 3),
                reader.GetInt32(4),
                reader.GetInt32(5),
                reader.IsDBNull(6) ? null : TimeSpan.FromMilliseconds(reader.GetInt64(6)),
                reader.IsDBNull(7) ? null : reader.GetString(7)));
        }

        return runs;
    }, cancellationToken);

    private Task<bool> ChangeHoldAsync(Guid imageId, string sql, string auditKind, string actor, string reason, DateTimeOffset at, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        string botId;
        Guid consentId;
        await using (var update = Command(connection, transaction, sql))
        {
            Add(update, "id", NpgsqlDbType.Uuid, imageId);
            Add(update, "at", NpgsqlDbType.TimestampTz, Time(at));
            Add(update, "reason", NpgsqlDbType.Text, reason);
            await using var reader = await update.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return false;
            }

            botId = reader.GetString(0);
            consentId = reader.GetGuid(1);
        }

        await InsertAuditAsync(connection, transaction, new AuditEvent(at, auditKind, botId, imageId, consentId, actor, reason), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }, cancellationToken);
}
