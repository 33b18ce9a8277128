using NpgsqlTypes;
using SecureImage.Core.Catalog;
using SecureImage.Core.Dashboard;

namespace SecureImage.Storage.Postgres;

/// <summary>
/// The dashboard's read-only queries on PostgreSQL (same meaning as the SQLite ones). Buckets are
/// date_trunc in UTC; the existing indexes (ix_audit_at, ix_images_sweep, ix_images_expiry_unerased) serve them.
/// </summary>
public sealed partial class PostgresImageCatalog : IDashboardQueries
{
    public Task<DashboardOverview> GetOverviewAsync(DateTimeOffset now, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        var stored = new List<BotStorage>();
        await using (var command = Command(connection, null, "SELECT bot_id, COUNT(*), COALESCE(SUM(bytes + COALESCE(preview_bytes, 0)), 0)::bigint FROM images WHERE state <> 'erased' GROUP BY bot_id ORDER BY bot_id;"))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                stored.Add(new BotStorage(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2)));
            }
        }

        await using var figures = Command(connection, null, """
            SELECT
              (SELECT COUNT(*) FROM images WHERE state IN ('active', 'blocked') AND expires_at > @now AND expires_at <= @hour),
              (SELECT COUNT(*) FROM images WHERE state IN ('active', 'blocked') AND expires_at > @now AND expires_at <= @day),
              (SELECT COUNT(*) FROM images WHERE state = 'held'),
              (SELECT COUNT(*) FROM images WHERE state = 'blocked'),
              (SELECT COUNT(*) FROM images WHERE state IN ('active', 'blocked') AND expires_at <= @now),
              (SELECT MIN(expires_at) FROM images WHERE state IN ('active', 'blocked') AND expires_at <= @now);
            """);
        Add(figures, "now", NpgsqlDbType.TimestampTz, Time(now));
        Add(figures, "hour", NpgsqlDbType.TimestampTz, Time(now.AddHours(1)));
        Add(figures, "day", NpgsqlDbType.TimestampTz, Time(now.AddDays(1)));
        await using var row = await figures.ExecuteReaderAsync(cancellationToken);
        await row.ReadAsync(cancellationToken);
        return new DashboardOverview(
            stored,
            row.GetInt64(0),
            row.GetInt64(1),
            row.GetInt64(2),
            row.GetInt64(3),
            row.GetInt64(4),
            row.IsDBNull(5) ? null : FromTime(row, 5));
    }, cancellationToken);

    public Task<IReadOnlyList<SeriesCount>> GetSeriesAsync(DateTimeOffset from, DateTimeOffset to, SeriesBucket bucket, CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyList<SeriesCount>>(async connection =>
        {
            await using var command = Command(connection, null, """
                SELECT date_trunc(@unit, at, 'UTC') AS bucket, kind,
                       CASE WHEN kind IN (@erased, @rejected) THEN reason END AS why, COUNT(*)
                  FROM audit_events
                 WHERE at >= @from AND at < @to AND kind IN (@uploaded, @erased, @rejected, @downloaded)
                 GROUP BY bucket, kind, why
                 ORDER BY bucket, kind, why;
                """);
            Add(command, "unit", NpgsqlDbType.Text, bucket == SeriesBucket.Hour ? "hour" : "day");
            Add(command, "from", NpgsqlDbType.TimestampTz, Time(from));
            Add(command, "to", NpgsqlDbType.TimestampTz, Time(to));
            Add(command, "uploaded", NpgsqlDbType.Text, AuditKinds.ImageUploaded);
            Add(command, "erased", NpgsqlDbType.Text, AuditKinds.ImageErased);
            Add(command, "rejected", NpgsqlDbType.Text, AuditKinds.UploadRejected);
            Add(command, "downloaded", NpgsqlDbType.Text, AuditKinds.ImageDownloaded);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var counts = new List<SeriesCount>();
            while (await reader.ReadAsync(cancellationToken))
            {
                counts.Add(new SeriesCount(FromTime(reader, 0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetInt64(3)));
            }

            return counts;
        }, cancellationToken);

    public Task<AuditPage> GetAuditPageAsync(AuditQuery query, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        ArgumentNullException.ThrowIfNull(query);
        await using var command = Command(connection, null, """
            SELECT seq, at, kind, bot_id, image_id, consent_id, actor, reason FROM audit_events
             WHERE (@before::bigint IS NULL OR seq < @before)
               AND (@from::timestamptz IS NULL OR at >= @from)
               AND (@to::timestamptz IS NULL OR at < @to)
               AND (@kind::text IS NULL OR kind = @kind)
               AND (@bot::text IS NULL OR bot_id = @bot)
             ORDER BY seq DESC LIMIT @limit;
            """);
        Add(command, "before", NpgsqlDbType.Bigint, query.BeforeSeq);
        Add(command, "from", NpgsqlDbType.TimestampTz, Time(query.From));
        Add(command, "to", NpgsqlDbType.TimestampTz, Time(query.To));
        Add(command, "kind", NpgsqlDbType.Text, query.Kind);
        Add(command, "bot", NpgsqlDbType.Text, query.BotId);
        Add(command, "limit", NpgsqlDbType.Integer, query.Limit + 1);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var entries = new List<AuditEntry>();
        while (await reader.ReadAsync(cancellationToken))
        {
            entries.Add(new AuditEntry(reader.GetInt64(0), new AuditEvent(
                FromTime(reader, 1),
                reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetGuid(4),
                reader.IsDBNull(5) ? null : reader.GetGuid(5),
                reader.GetString(6),
                reader.IsDBNull(7) ? null : reader.GetString(7))));
        }

        return DashboardPaging.Page(entries, query.Limit);
    }, cancellationToken);

    public Task<IReadOnlyList<HeldImage>> GetHeldImagesAsync(int limit, CancellationToken cancellationToken) => RunAsync<IReadOnlyList<HeldImage>>(async connection =>
    {
        await using var command = Command(connection, null, "SELECT id, bot_id, held_at, hold_reason, expires_at FROM images WHERE state = 'held' ORDER BY held_at, id LIMIT @limit;");
        Add(command, "limit", NpgsqlDbType.Integer, limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var held = new List<HeldImage>();
        while (await reader.ReadAsync(cancellationToken))
        {
            held.Add(new HeldImage(
                reader.GetGuid(0),
                reader.GetString(1),
                reader.IsDBNull(2) ? DateTimeOffset.UnixEpoch : FromTime(reader, 2),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                FromTime(reader, 4)));
        }

        return held;
    }, cancellationToken);
}
