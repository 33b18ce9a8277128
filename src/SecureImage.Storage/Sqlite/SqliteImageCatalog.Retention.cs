using System.Globalization;
using Microsoft.Data.Sqlite;
using SecureImage.Core.Catalog;
using SecureImage.Core.Retention;

namespace SecureImage.Storage.Sqlite;

/// <summary>The retention side of the SQLite catalog: sweep claims, batch erasure, holds and job runs.</summary>
public sealed partial class SqliteImageCatalog
{
    public Task<IReadOnlyList<ImageToErase>> ClaimExpiredAsync(DateTimeOffset now, int batchSize, TimeSpan lease, CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyList<ImageToErase>>(async connection =>
        {
            // A checkpoint an earlier erasure could not finish (readers kept the log busy) is retried each sweep.
            await ShredIfPendingAsync(connection, cancellationToken);

            // SQLite has one writer at a time, so the UPDATE … RETURNING is the whole claim. Setting the
            // pending reason commits the images to erasure: no hold can be placed on them from here on.
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
            await using var claim = Command(connection, transaction, """
                UPDATE images SET claimed_until = $until, pending_erase_reason = COALESCE(pending_erase_reason, 'retention')
                 WHERE id IN (SELECT id FROM images
                               WHERE state IN ('active', 'blocked') AND expires_at <= $now
                                 AND (claimed_until IS NULL OR claimed_until <= $now)
                               ORDER BY expires_at LIMIT $limit)
                RETURNING id, blob_name, pending_erase_reason, preview_blob_name;
                """);
            claim.Parameters.AddWithValue("$now", Time(now));
            claim.Parameters.AddWithValue("$until", Time(now + lease));
            claim.Parameters.AddWithValue("$limit", batchSize);
            var images = new List<ImageToErase>();
            await using (var reader = await claim.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    images.Add(ReadImageToErase(reader));
                }
            }

            await transaction.CommitAsync(cancellationToken);
            return images;
        });

    public Task<int> MarkErasedAsync(IReadOnlyList<ErasedImage> images, string actor, DateTimeOffset at, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0)
        {
            return 0;
        }

        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await using var update = Command(connection, transaction, MarkErasedSql);
        var id = update.Parameters.Add("$id", SqliteType.Text);
        var reason = update.Parameters.Add("$reason", SqliteType.Text);
        update.Parameters.AddWithValue("$at", Time(at));
        await using var audit = AuditInsertCommand(connection, transaction);
        var erased = 0;
        foreach (var image in images)
        {
            id.Value = Id(image.ImageId);
            reason.Value = image.Reason;
            string botId;
            string consentId;
            await using (var reader = await update.ExecuteReaderAsync(cancellationToken))
            {
                if (!await reader.ReadAsync(cancellationToken))
                {
                    continue;
                }

                botId = reader.GetString(0);
                consentId = reader.GetString(1);
            }

            SetAudit(audit, new AuditEvent(at, AuditKinds.ImageErased, botId, image.ImageId, Guid.Parse(consentId), actor, image.Reason));
            await audit.ExecuteNonQueryAsync(cancellationToken);
            erased++;
        }

        if (erased > 0)
        {
            ShredPending();
        }

        await transaction.CommitAsync(cancellationToken);
        await ShredIfPendingAsync(connection, cancellationToken);
        return erased;
    });

    public Task<DateTimeOffset?> OldestOverdueExpiryAsync(DateTimeOffset now, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await using var command = Command(connection, null, "SELECT MIN(expires_at) FROM images WHERE state IN ('active', 'blocked') AND expires_at <= $now;");
        command.Parameters.AddWithValue("$now", Time(now));
        var value = await command.ExecuteScalarAsync(cancellationToken);
        return value is long ms ? FromTime(ms) : (DateTimeOffset?)null;
    });

    public Task<HoldOutcome> PlaceHoldAsync(Guid imageId, string actor, string reasonCode, DateTimeOffset at, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        // BEGIN IMMEDIATE (the default here): the row read is the row updated, no erase request or claim in between.
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        string botId;
        string consentId;
        HoldOutcome outcome;
        await using (var find = Command(connection, transaction, "SELECT state, pending_erase_reason IS NOT NULL, expires_at, bot_id, consent_id FROM images WHERE id = $id;"))
        {
            find.Parameters.AddWithValue("$id", Id(imageId));
            await using var reader = await find.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return HoldOutcome.NotFound;
            }

            outcome = LegalHold.Decide(ImageStates.Parse(reader.GetString(0)), reader.GetBoolean(1), FromTime(reader.GetInt64(2)), at);
            botId = reader.GetString(3);
            consentId = reader.GetString(4);
        }

        if (outcome != HoldOutcome.Held)
        {
            return outcome;
        }

        await using (var hold = Command(connection, transaction, "UPDATE images SET state = 'held', held_at = $at, hold_reason = $reason WHERE id = $id;"))
        {
            hold.Parameters.AddWithValue("$id", Id(imageId));
            hold.Parameters.AddWithValue("$at", Time(at));
            hold.Parameters.AddWithValue("$reason", reasonCode);
            await hold.ExecuteNonQueryAsync(cancellationToken);
        }

        await InsertAuditAsync(connection, transaction, new AuditEvent(at, HoldAuditKinds.ImageHeld, botId, imageId, Guid.Parse(consentId, CultureInfo.InvariantCulture), actor, reasonCode), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return HoldOutcome.Held;
    });

    public Task<bool> ReleaseHoldAsync(Guid imageId, string actor, string reason, DateTimeOffset at, CancellationToken cancellationToken) =>
        ChangeHoldAsync(imageId, "UPDATE images SET state = 'active', held_at = NULL, hold_reason = NULL, claimed_until = NULL WHERE id = $id AND state = 'held' RETURNING bot_id, consent_id;", HoldAuditKinds.HoldReleased, actor, reason, at, cancellationToken);

    public Task<IReadOnlySet<string>> FindLiveBlobNamesAsync(IReadOnlyCollection<string> blobNames, CancellationToken cancellationToken) => RunAsync<IReadOnlySet<string>>(async connection =>
    {
        var live = new HashSet<string>(StringComparer.Ordinal);
        foreach (var chunk in blobNames.Chunk(500))
        {
            await using var command = Command(connection, null, "");
            var names = new List<string>(chunk.Length);
            for (var i = 0; i < chunk.Length; i++)
            {
                names.Add($"$n{i}");
                command.Parameters.AddWithValue($"$n{i}", chunk[i]);
            }

            var list = string.Join(", ", names);
            command.CommandText = $"""
                SELECT blob_name FROM images WHERE state <> 'erased' AND blob_name IN ({list})
                UNION ALL SELECT preview_blob_name FROM images WHERE state <> 'erased' AND preview_blob_name IN ({list});
                """;
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                live.Add(reader.GetString(0));
            }
        }

        return live;
    });

    public Task RecordJobRunAsync(JobRun run, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        ArgumentNullException.ThrowIfNull(run);
        await using var command = Command(connection, null, """
            INSERT INTO job_runs (job, instance, started_at, finished_at, processed, failed, lag_ms, error_code)
            VALUES ($job, $instance, $started, $finished, $processed, $failed, $lag, $error);
            """);
        command.Parameters.AddWithValue("$job", run.Job);
        command.Parameters.AddWithValue("$instance", run.Instance);
        command.Parameters.AddWithValue("$started", Time(run.StartedAt));
        command.Parameters.AddWithValue("$finished", Time(run.FinishedAt));
        command.Parameters.AddWithValue("$processed", run.Processed);
        command.Parameters.AddWithValue("$failed", run.Failed);
        command.Parameters.AddWithValue("$lag", run.Lag is { } lag ? (long)lag.TotalMilliseconds : DBNull.Value);
        command.Parameters.AddWithValue("$error", (object?)run.ErrorCode ?? DBNull.Value);
        await command.ExecuteNonQueryAsync(cancellationToken);
        return true;
    });

    public Task<int> PurgeJobRunsAsync(DateTimeOffset startedBefore, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await using var command = Command(connection, null, "DELETE FROM job_runs WHERE started_at < $before;");
        command.Parameters.AddWithValue("$before", Time(startedBefore));
        return await command.ExecuteNonQueryAsync(cancellationToken);
    });

    public Task<IReadOnlyList<JobRun>> GetRecentJobRunsAsync(int count, CancellationToken cancellationToken) => RunAsync<IReadOnlyList<JobRun>>(async connection =>
    {
        await using var command = Command(connection, null, """
            SELECT job, instance, started_at, finished_at, processed, failed, lag_ms, error_code
              FROM job_runs ORDER BY started_at DESC, id DESC LIMIT $count;
            """);
        command.Parameters.AddWithValue("$count", count);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var runs = new List<JobRun>();
        while (await reader.ReadAsync(cancellationToken))
        {
            runs.Add(new JobRun(
                reader.GetString(0),
                reader.GetString(1),
                FromTime(reader.GetInt64(2)),
                FromTime(reader.GetInt64(3)),
                reader.GetInt32(4),
                reader.GetInt32(5),
                reader.IsDBNull(6) ? null : TimeSpan.FromMilliseconds(reader.GetInt64(6)),
                reader.IsDBNull(7) ? null : reader.GetString(7)));
        }

        return runs;
    });

    private Task<bool> ChangeHoldAsync(Guid imageId, string sql, string auditKind, string actor, string reason, DateTimeOffset at, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        string botId;
        string consentId;
        await using (var update = Command(connection, transaction, sql))
        {
            update.Parameters.AddWithValue("$id", Id(imageId));
            update.Parameters.AddWithValue("$at", Time(at));
            update.Parameters.AddWithValue("$reason", reason);
            await using var reader = await update.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return false;
            }

            botId = reader.GetString(0);
            consentId = reader.GetString(1);
        }

        await InsertAuditAsync(connection, transaction, new AuditEvent(at, auditKind, botId, imageId, Guid.Parse(consentId, CultureInfo.InvariantCulture), actor, reason), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    });
}
