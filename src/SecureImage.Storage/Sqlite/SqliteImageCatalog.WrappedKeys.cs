using Microsoft.Data.Sqlite;
using SecureImage.Core.Crypto;

namespace SecureImage.Storage.Sqlite;

/// <summary>
/// Wrapped data keys for re-wrapping under a new key-encryption key version: originals' under their image id,
/// previews' under their preview id (what each is bound to); ids are random, so one id names one key.
/// </summary>
public sealed partial class SqliteImageCatalog : IWrappedKeyStore
{
    public Task<IReadOnlyList<StoredWrappedKey>> ListWrappedKeysAsync(Guid? afterId, int limit, CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyList<StoredWrappedKey>>(async connection =>
        {
            await using var command = Command(connection, null, """
                SELECT id, key_id, wrapped_key FROM (
                    SELECT id, key_id, wrapped_key FROM images WHERE wrapped_key IS NOT NULL AND state <> 'erased'
                    UNION ALL
                    SELECT preview_id, preview_key_id, preview_wrapped_key FROM images WHERE preview_wrapped_key IS NOT NULL AND state <> 'erased')
                 WHERE $after IS NULL OR id > $after
                 ORDER BY id LIMIT $limit;
                """);
            command.Parameters.AddWithValue("$after", afterId is { } after ? Id(after) : DBNull.Value);
            command.Parameters.AddWithValue("$limit", limit);
            var keys = new List<StoredWrappedKey>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                keys.Add(new StoredWrappedKey(Guid.Parse(reader.GetString(0)), new WrappedKey(reader.GetString(1), (byte[])reader.GetValue(2))));
            }

            return keys;
        });

    public Task<bool> ReplaceWrappedKeyAsync(Guid imageId, string expectedKeyId, WrappedKey replacement, CancellationToken cancellationToken) =>
        RunAsync(async connection =>
        {
            ArgumentNullException.ThrowIfNull(replacement);
            await using var command = Command(connection, null, """
                UPDATE images SET key_id = $kid, wrapped_key = $wrapped
                 WHERE id = $id AND key_id = $expected AND wrapped_key IS NOT NULL AND state <> 'erased';
                UPDATE images SET preview_key_id = $kid, preview_wrapped_key = $wrapped
                 WHERE preview_id = $id AND preview_key_id = $expected AND preview_wrapped_key IS NOT NULL AND state <> 'erased';
                """);
            command.Parameters.AddWithValue("$id", Id(imageId));
            command.Parameters.AddWithValue("$expected", expectedKeyId);
            command.Parameters.AddWithValue("$kid", replacement.KeyId);
            command.Parameters.Add("$wrapped", SqliteType.Blob).Value = replacement.Ciphertext;
            if (await command.ExecuteNonQueryAsync(cancellationToken) != 1)
            {
                return false;
            }

            // The old wrapped key is key material too: its copies go before this returns.
            ShredPending();
            await ShredAsync(connection, cancellationToken);
            return true;
        });
}
