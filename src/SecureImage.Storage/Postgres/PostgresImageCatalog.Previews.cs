using NpgsqlTypes;
using SecureImage.Core.Previews;

namespace SecureImage.Storage.Postgres;

/// <summary>The preview backlog on PostgreSQL: a walk of the partial index <c>ix_images_preview_backlog</c>.</summary>
public sealed partial class PostgresImageCatalog : IPreviewBacklog
{
    public Task<IReadOnlyList<PreviewCandidate>> FindImagesWithoutPreviewAsync(DateTimeOffset now, PreviewCandidate? after, int limit, CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyList<PreviewCandidate>>(async connection =>
        {
            // The row comparison walks the index (created_at, id) from the cursor on; its predicate matches the index's.
            await using var command = Command(connection, null, $"""
                SELECT id, created_at FROM images
                 WHERE preview_state IS NULL AND state <> 'erased' AND pending_erase_reason IS NULL
                   AND expires_at > @now{(after is null ? "" : " AND (created_at, id) > (@at, @id)")}
                 ORDER BY created_at, id LIMIT @limit;
                """);
            Add(command, "now", NpgsqlDbType.TimestampTz, Time(now));
            if (after is not null)
            {
                Add(command, "at", NpgsqlDbType.TimestampTz, Time(after.CreatedAt));
                Add(command, "id", NpgsqlDbType.Uuid, after.ImageId);
            }

            Add(command, "limit", NpgsqlDbType.Integer, limit);
            var candidates = new List<PreviewCandidate>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                candidates.Add(new PreviewCandidate(reader.GetGuid(0), FromTime(reader, 1)));
            }

            return candidates;
        }, cancellationToken);
}
