using SecureImage.Core.Previews;

namespace SecureImage.Storage.Sqlite;

/// <summary>The preview backlog on SQLite: a walk of the partial index <c>ix_images_preview_backlog</c>.</summary>
public sealed partial class SqliteImageCatalog : IPreviewBacklog
{
    public Task<IReadOnlyList<PreviewCandidate>> FindImagesWithoutPreviewAsync(DateTimeOffset now, PreviewCandidate? after, int limit, CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyList<PreviewCandidate>>(async connection =>
        {
            // The index's predicate is repeated word for word, so that SQLite uses it; the cursor is (created_at, id).
            await using var command = Command(connection, null, """
                SELECT id, created_at FROM images
                 WHERE preview_state IS NULL AND state <> 'erased' AND pending_erase_reason IS NULL
                   AND expires_at > $now AND (created_at > $at OR (created_at = $at AND id > $id))
                 ORDER BY created_at, id LIMIT $limit;
                """);
            command.Parameters.AddWithValue("$now", Time(now));
            command.Parameters.AddWithValue("$at", after is null ? long.MinValue : Time(after.CreatedAt));
            command.Parameters.AddWithValue("$id", after is null ? "" : Id(after.ImageId));
            command.Parameters.AddWithValue("$limit", limit);
            var candidates = new List<PreviewCandidate>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                candidates.Add(new PreviewCandidate(Guid.Parse(reader.GetString(0)), FromTime(reader.GetInt64(1))));
            }

            return candidates;
        });
}
