using NpgsqlTypes;
using SecureImage.Core.Crypto;

namespace SecureImage.Storage.Postgres;

/// <summary>
/// Wrapped data keys for re-wrapping under a new key-encryption key version: originals' under their image id,
/// previews' under their preview id (what each is bound to); ids are random, so one id names one key.
/// </summary>
public sealed partial class PostgresImageCatalog : IWrappedKeyStore
{
    public Task<IReadOnlyList<StoredWrappedKey>> ListWrappedKeysAsync(Guid? afterId, int limit, CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyList<StoredWrappedKey>>(async connection =>
        {
            await using var command = Command(connection, null, """
                SELECT id, key_id, wrapped_key FROM (
                    SELECT id, key_id, wrapped_key FROM images WHERE wrapped_key IS NOT NULL AND state <> 'erased'
                    UNION ALL
                    SELECT preview_id, preview_key_id, preview_wrapped_key FROM images WHERE preview_wrapped_key IS NOT NULL AND state <> 'erased') AS keys
                 WHERE @after::uuid IS NULL OR id > @after::uuid
                 ORDER BY id LIMIT @limit;
                """);
            Add(command, "after", NpgsqlDbType.Uuid, afterId);
            Add(command, "limit", NpgsqlDbType.Integer, limit);
            var keys = new List<StoredWrappedKey>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                keys.Add(new StoredWrappedKey(reader.GetGuid(0), new WrappedKey(reader.GetString(1), (byte[])reader.GetValue(2))));
            }

            return keys;
        }, cancellationToken);

    public Task<bool> ReplaceWrappedKeyAsync(Guid imageId, string expectedKeyId, WrappedKey replacement, CancellationToken cancellationToken) =>
        RunAsync(async connection =>
        {
            ArgumentNullException.ThrowIfNull(replacement);
            await using var command = Command(connection, null, """
                UPDATE images SET key_id = @kid, wrapped_key = @wrapped
                 WHERE id = @id AND key_id = @expected AND wrapped_key IS NOT NULL AND state <> 'erased';
                UPDATE images SET preview_key_id = @kid, preview_wrapped_key = @wrapped
                 WHERE preview_id = @id AND preview_key_id = @expected AND preview_wrapped_key IS NOT NULL AND state <> 'erased';
                """);
            Add(command, "id", NpgsqlDbType.Uuid, imageId);
            Add(command, "expected", NpgsqlDbType.Text, expectedKeyId);
            Add(command, "kid", NpgsqlDbType.Text, replacement.KeyId);
            Add(command, "wrapped", NpgsqlDbType.Bytea, replacement.Ciphertext);
            return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
        }, cancellationToken);
}
