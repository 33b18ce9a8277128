using SecureImage.Core.Catalog;
using SecureImage.Core.Dashboard;

namespace SecureImage.Storage.Sqlite;

/// <summary>
/// The dashboard's read-only queries on SQLite. Times are Unix milliseconds, so buckets are integer
/// division; the existing indexes (ix_audit_at, ix_images_sweep, ix_images_expiry_unerased) serve them.
/// </summary>
public sealed partial class SqliteImageCatalog : IDashboardQueries
{
    public Task<DashboardOverview> GetOverviewAsync(DateTimeOffset now, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        var stored = new List<BotStorage>();
        await using (var command = Command(connection, null, "SELECT bot_id, COUNT(*), COALESCE(SUM(bytes + COALESCE(preview_bytes, 0)), 0) FROM images WHERE state <> 'erased' GROUP BY bot_id ORDER BY bot_id;"))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                stored.Add(new BotStorage(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2)));
            }
        }

        await using var figures = Command(connection, null, """
            SELECT
              (SELECT COUNT(*) FROM images WHERE state IN ('active', 'blocked') AND expires_at > $now AND expires_at <= $hour),
              (SELECT COUNT(*) FROM images WHERE state IN ('active', 'blocked') AND expires_at > $now AND expires_at <= $day),
              (SELECT COUNT(*) FROM images WHERE state = 'held'),
              (SELECT COUNT(*) FROM images WHERE state = 'blocked'),
              (SELECT COUNT(*) FROM images WHERE state IN ('active', 'blocked') AND expires_at <= $now),
              (SELECT MIN(expires_at) FROM images WHERE state IN ('active', 'blocked') AND expires_at <= $now);
            """);
        figures.Parameters.AddWithValue("$now", Time(now));
        figures.Parameters.AddWithValue("$hour", Time(now.AddHours(1)));
        figures.Parameters.AddWithValue("$day", Time(now.AddDays(1)));
        await using var row = await figures.ExecuteReaderAsync(cancellationToken);
        await row.ReadAsync(cancellationToken);
        return new DashboardOverview(
            stored,
            row.GetInt64(0),
            row.GetInt64(1),
            row.GetInt64(2),
            row.GetInt64(3),
            row.GetInt64(4),
            row.IsDBNull(5) ? null : FromTime(row.GetInt64(5)));
    });

    public Task<IReadOnlyList<SeriesCount>> GetSeriesAsync(DateTimeOffset from, DateTimeOffset to, SeriesBucket bucket, CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyList<SeriesCount>>(async connection =>
        {
            await using var command = Command(connection, null, """
                SELECT (at / $width) * $width AS bucket, kind,
                       CASE WHEN kind IN ($erased, $rejected) THEN reason END AS why, COUNT(*)
                  FROM audit_events
                 WHERE at >= $from AND at < $to AND kind IN ($uploaded, $erased, $rejected, $downloaded)
                 GROUP BY bucket, kind, why
                 ORDER BY bucket, kind, why;
                """);
            command.Parameters.AddWithValue("$width", (long)DashboardSeries.Width(bucket).TotalMilliseconds);
            command.Parameters.AddWithValue("$from", Time(from));
            command.Parameters.AddWithValue("$to", Time(to));
            command.Parameters.AddWithValue("$uploaded", AuditKinds.ImageUploaded);
            command.Parameters.AddWithValue("$erased", AuditKinds.ImageErased);
            command.Parameters.AddWithValue("$rejected", AuditKinds.UploadRejected);
            command.Parameters.AddWithValue("$downloaded", AuditKinds.ImageDownloaded);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var counts = new List<SeriesCount>();
            while (await reader.ReadAsync(cancellationToken))
            {
                counts.Add(new SeriesCount(FromTime(reader.GetInt64(0)), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetInt64(3)));
            }

            return counts;
        });

    public Task<AuditPage> GetAuditPageAsync(AuditQuery query, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        ArgumentNullException.ThrowIfNull(query);
        await using var command = Command(connection, null, """
            SELECT seq, at, kind, bot_id, image_id, consent_id, actor, reason FROM audit_events
             WHERE ($before IS NULL OR seq < $before)
               AND ($from IS NULL OR at >= $from)
               AND ($to IS NULL OR at < $to)
               AND ($kind IS NULL OR kind = $kind)
               AND ($bot IS NULL OR bot_id = $bot)
             ORDER BY seq DESC LIMIT $limit;
            """);
        command.Parameters.AddWithValue("$before", (object?)query.BeforeSeq ?? DBNull.Value);
        command.Parameters.AddWithValue("$from", Time(query.From));
        command.Parameters.AddWithValue("$to", Time(query.To));
        command.Parameters.AddWithValue("$kind", (object?)query.Kind ?? DBNull.Value);
        command.Parameters.AddWithValue("$bot", (object?)query.BotId ?? DBNull.Value);
        command.Parameters.AddWithValue("$limit", query.Limit + 1);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var entries = new List<AuditEntry>();
        while (await reader.ReadAsync(cancellationToken))
        {
            entries.Add(new AuditEntry(reader.GetInt64(0), new AuditEvent(
                FromTime(reader.GetInt64(1)),
                reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.IsDBNull(4) ? null : Guid.Parse(reader.GetString(4)),
                reader.IsDBNull(5) ? null : Guid.Parse(reader.GetString(5)),
                reader.GetString(6),
                reader.IsDBNull(7) ? null : reader.GetString(7))));
        }

        return DashboardPaging.Page(entries, query.Limit);
    });

    public Task<IReadOnlyList<HeldImage>> GetHeldImagesAsync(int limit, CancellationToken cancellationToken) => RunAsync<IReadOnlyList<HeldImage>>(async connection =>
    {
        await using var command = Command(connection, null, "SELECT id, bot_id, held_at, hold_reason, expires_at FROM images WHERE state = 'held' ORDER BY held_at, id LIMIT $limit;");
        command.Parameters.AddWithValue("$limit", limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var held = new List<HeldImage>();
        while (await reader.ReadAsync(cancellationToken))
        {
            held.Add(new HeldImage(
                Guid.Parse(reader.GetString(0)),
                reader.GetString(1),
                reader.IsDBNull(2) ? DateTimeOffset.UnixEpoch : FromTime(reader.GetInt64(2)),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                FromTime(reader.GetInt64(4))));
        }

        return held;
    });
}
