using System.Data.Common;
using System.Globalization;
using Microsoft.Data.Sqlite;
using SecureImage.Core.Catalog;
using SecureImage.Core.Crypto;
using SecureImage.Core.Retention;

namespace SecureImage.Storage.Sqlite;

/// <summary>The catalog on SQLite, for the embedded default. Every change and its audit event share one transaction.</summary>
public sealed partial class SqliteImageCatalog : IImageCatalog, IRetentionCatalog
{
    private const string ImageColumns =
        "id, bot_id, subject_hash, consent_id, content_type, bytes, width, height, blob_name, key_id, wrapped_key, created_at, expires_at, state, erased_at, erase_reason, pending_erase_reason";

    /// <summary>What a read returns: the inserted columns and the preview's (set later, by <see cref="RecordPreviewAsync"/>).</summary>
    private const string ImageReadColumns = ImageColumns +
        ", preview_state, preview_id, preview_content_type, preview_bytes, preview_width, preview_height, preview_blob_name, preview_key_id, preview_wrapped_key";

    private const string ConsentColumns = "id, bot_id, subject_hash, purpose, policy_version, source, granted_at, withdrawn_at";

    private readonly string _connectionString;
    private readonly TimeSpan _checkpointBusyWait;

    public SqliteImageCatalog(SqliteCatalogOptions options)
    {
        _connectionString = PrepareConnectionString(options);
        _checkpointBusyWait = options.CheckpointBusyWait;
    }

    public Task MigrateAsync(CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await ExecuteAsync(connection, null, "PRAGMA journal_mode = WAL;", cancellationToken);
        await ZeroFreeSpaceOnceAsync(connection, cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, transaction, "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL);", cancellationToken);
        var applied = new HashSet<long>();
        await using (var command = Command(connection, transaction, "SELECT version FROM schema_migrations;"))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                applied.Add(reader.GetInt64(0));
            }
        }

        foreach (var migration in Migration.Load("Sqlite.Migrations").Where(m => !applied.Contains(m.Version)))
        {
            await ExecuteAsync(connection, transaction, migration.Sql, cancellationToken);
            await using var record = Command(connection, transaction, "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($v, $n, $t);");
            record.Parameters.AddWithValue("$v", migration.Version);
            record.Parameters.AddWithValue("$n", migration.Name);
            record.Parameters.AddWithValue("$t", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            await record.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);

        // Whatever a crash left in the log (an erasure's old frames among it) goes now.
        ShredPending();
        try
        {
            await ShredAsync(connection, cancellationToken);
        }
        catch (CatalogUnavailableException)
        {
            // Another process's readers hold the log: no reason to refuse the start; the next sweep claim retries.
        }

        return true;
    });

    public Task AddConsentAsync(ConsentRecord consent, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        ArgumentNullException.ThrowIfNull(consent);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await using (var command = Command(connection, transaction, $"INSERT INTO consents ({ConsentColumns}) VALUES ($id, $bot, $subject, $purpose, $policy, $source, $granted, $withdrawn);"))
        {
            command.Parameters.AddWithValue("$id", Id(consent.Id));
            command.Parameters.AddWithValue("$bot", consent.BotId);
            command.Parameters.AddWithValue("$subject", consent.SubjectHash);
            command.Parameters.AddWithValue("$purpose", consent.Purpose);
            command.Parameters.AddWithValue("$policy", consent.PolicyVersion);
            command.Parameters.AddWithValue("$source", consent.Source);
            command.Parameters.AddWithValue("$granted", Time(consent.GrantedAt));
            command.Parameters.AddWithValue("$withdrawn", Time(consent.WithdrawnAt));
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await InsertAuditAsync(connection, transaction, new AuditEvent(consent.GrantedAt, AuditKinds.ConsentGranted, consent.BotId, null, consent.Id, $"bot:{consent.BotId}", consent.Source), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    });

    public Task<ConsentRecord?> FindConsentAsync(Guid consentId, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await using var command = Command(connection, null, $"SELECT {ConsentColumns} FROM consents WHERE id = $id;");
        command.Parameters.AddWithValue("$id", Id(consentId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadConsent(reader) : null;
    });

    public Task<ConsentWithdrawal?> WithdrawConsentAsync(Guid consentId, string actor, DateTimeOffset at, CancellationToken cancellationToken) => RunAsync<ConsentWithdrawal?>(async connection =>
    {
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        string? botId;
        long? withdrawnAt;
        await using (var find = Command(connection, transaction, "SELECT bot_id, withdrawn_at FROM consents WHERE id = $id;"))
        {
            find.Parameters.AddWithValue("$id", Id(consentId));
            await using var reader = await find.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }

            botId = reader.GetString(0);
            withdrawnAt = reader.IsDBNull(1) ? null : reader.GetInt64(1);
        }

        if (withdrawnAt is null)
        {
            await using (var withdraw = Command(connection, transaction, "UPDATE consents SET withdrawn_at = $at WHERE id = $id;"))
            {
                withdraw.Parameters.AddWithValue("$id", Id(consentId));
                withdraw.Parameters.AddWithValue("$at", Time(at));
                await withdraw.ExecuteNonQueryAsync(cancellationToken);
            }

            await InsertAuditAsync(connection, transaction, new AuditEvent(at, AuditKinds.ConsentWithdrawn, botId, null, consentId, actor, null), cancellationToken);
        }

        // The state each row had when its pending reason was set decides: held rows keep their blob.
        var toErase = new List<ImageToErase>();
        var held = 0;
        await using (var expire = Command(connection, transaction, """
            UPDATE images
               SET expires_at = MIN(expires_at, $at),
                   pending_erase_reason = COALESCE(pending_erase_reason, 'consent-withdrawn')
             WHERE consent_id = $id AND state <> 'erased'
            RETURNING id, blob_name, pending_erase_reason, state, preview_blob_name;
            """))
        {
            expire.Parameters.AddWithValue("$id", Id(consentId));
            expire.Parameters.AddWithValue("$at", Time(at));
            await using var reader = await expire.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                if (ImageStates.Parse(reader.GetString(3)) == ImageState.Held)
                {
                    held++;
                }
                else
                {
                    toErase.Add(ReadImageToErase(reader));
                }
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return new ConsentWithdrawal(toErase, held);
    });

    public Task<bool> AddImageAsync(ImageRecord image, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        ArgumentNullException.ThrowIfNull(image);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await using (var insert = Command(connection, transaction, $"""
            INSERT INTO images ({ImageColumns})
            SELECT $id, $bot, $subject, $consent, $type, $bytes, $width, $height, $blob, $kid, $wrapped, $created, $expires, $state, NULL, NULL, NULL
             WHERE EXISTS (SELECT 1 FROM consents WHERE id = $consent AND bot_id = $bot AND withdrawn_at IS NULL);
            """))
        {
            insert.Parameters.AddWithValue("$id", Id(image.Id));
            insert.Parameters.AddWithValue("$bot", image.BotId);
            insert.Parameters.AddWithValue("$subject", image.SubjectHash);
            insert.Parameters.AddWithValue("$consent", Id(image.ConsentId));
            insert.Parameters.AddWithValue("$type", image.ContentType);
            insert.Parameters.AddWithValue("$bytes", image.Bytes);
            insert.Parameters.AddWithValue("$width", image.Width);
            insert.Parameters.AddWithValue("$height", image.Height);
            insert.Parameters.AddWithValue("$blob", image.BlobName);
            insert.Parameters.AddWithValue("$kid", (object?)image.WrappedKey?.KeyId ?? DBNull.Value);
            insert.Parameters.AddWithValue("$wrapped", (object?)image.WrappedKey?.Ciphertext ?? DBNull.Value);
            insert.Parameters.AddWithValue("$created", Time(image.CreatedAt));
            insert.Parameters.AddWithValue("$expires", Time(image.ExpiresAt));
            insert.Parameters.AddWithValue("$state", ImageStates.ToText(image.State));
            if (await insert.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                return false;
            }
        }

        await InsertAuditAsync(connection, transaction, new AuditEvent(image.CreatedAt, AuditKinds.ImageUploaded, image.BotId, image.Id, image.ConsentId, $"bot:{image.BotId}", null), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    });

    public Task<ImageRecord?> FindImageAsync(Guid imageId, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await using var command = Command(connection, null, $"SELECT {ImageReadColumns} FROM images WHERE id = $id;");
        command.Parameters.AddWithValue("$id", Id(imageId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadImage(reader) : null;
    });

    public async Task<ImageRecord?> FindImageForDownloadAsync(Guid imageId, DateTimeOffset at, string actor, string? reason, CancellationToken cancellationToken)
    {
        // In-process: two statements cost no round trip. The event follows the read, as it did before the combined call.
        var image = await FindImageAsync(imageId, cancellationToken);
        if (image is { State: ImageState.Active } && !image.IsGone(at))
        {
            await AppendAuditAsync(new AuditEvent(at, AuditKinds.ImageDownloaded, image.BotId, image.Id, image.ConsentId, actor, reason), cancellationToken);
        }

        return image;
    }

    public Task<EraseDecision> RequestEraseAsync(Guid imageId, string reason, string actor, DateTimeOffset at, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        // BEGIN IMMEDIATE (the default here) holds the write lock from the start: the state returned is
        // the state the pending reason was set in, and no hold can come in between.
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        (string BotId, EraseDecision Decision)? requested = null;
        await using (var update = Command(connection, transaction, """
            UPDATE images
               SET expires_at = MIN(expires_at, $at),
                   pending_erase_reason = COALESCE(pending_erase_reason, $reason)
             WHERE id = $id AND state <> 'erased'
            RETURNING id, blob_name, pending_erase_reason, state, bot_id, preview_blob_name;
            """))
        {
            update.Parameters.AddWithValue("$id", Id(imageId));
            update.Parameters.AddWithValue("$at", Time(at));
            update.Parameters.AddWithValue("$reason", reason);
            await using var reader = await update.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                requested = (reader.GetString(4), ImageStates.EraseDecisionFor(reader.GetString(3), ReadImageToErase(reader)));
            }
        }

        if (requested is not { } found)
        {
            return ImageStates.NothingToErase(await ExistsAsync(connection, transaction, imageId, cancellationToken));
        }

        await InsertAuditAsync(connection, transaction, new AuditEvent(at, AuditKinds.EraseRequested, found.BotId, imageId, null, actor, reason), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return found.Decision;
    });

    public async Task<bool> MarkErasedAsync(Guid imageId, string reason, string actor, DateTimeOffset at, CancellationToken cancellationToken) =>
        await MarkErasedAsync([new ErasedImage(imageId, reason)], actor, at, cancellationToken) == 1;

    public Task<bool> RecordPreviewAsync(Guid imageId, ImagePreview preview, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        ArgumentNullException.ThrowIfNull(preview);
        ArgumentNullException.ThrowIfNull(preview.WrappedKey);
        await using var command = Command(connection, null, """
            UPDATE images
               SET preview_state = 'ready', preview_id = $pid, preview_content_type = $type, preview_bytes = $bytes, preview_width = $width,
                   preview_height = $height, preview_blob_name = $blob, preview_key_id = $kid, preview_wrapped_key = $wrapped
             WHERE id = $id AND preview_state IS NULL AND state <> 'erased' AND pending_erase_reason IS NULL;
            """);
        command.Parameters.AddWithValue("$id", Id(imageId));
        command.Parameters.AddWithValue("$pid", Id(preview.Id));
        command.Parameters.AddWithValue("$type", preview.ContentType);
        command.Parameters.AddWithValue("$bytes", preview.Bytes);
        command.Parameters.AddWithValue("$width", preview.Width);
        command.Parameters.AddWithValue("$height", preview.Height);
        command.Parameters.AddWithValue("$blob", preview.BlobName);
        command.Parameters.AddWithValue("$kid", preview.WrappedKey.KeyId);
        command.Parameters.AddWithValue("$wrapped", preview.WrappedKey.Ciphertext);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    });

    public Task<bool> MarkPreviewUnavailableAsync(Guid imageId, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await using var command = Command(connection, null, "UPDATE images SET preview_state = 'unavailable' WHERE id = $id AND preview_state IS NULL;");
        command.Parameters.AddWithValue("$id", Id(imageId));
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    });

    public Task AppendAuditAsync(AuditEvent auditEvent, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await InsertAuditAsync(connection, null, auditEvent, cancellationToken);
        return true;
    });

    public Task<IReadOnlyList<AuditEvent>> GetHistoryAsync(Guid objectId, CancellationToken cancellationToken) => RunAsync<IReadOnlyList<AuditEvent>>(async connection =>
    {
        await using var command = Command(connection, null, """
            SELECT at, kind, bot_id, image_id, consent_id, actor, reason FROM audit_events
             WHERE image_id = $id OR consent_id = $id ORDER BY seq;
            """);
        command.Parameters.AddWithValue("$id", Id(objectId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var events = new List<AuditEvent>();
        while (await reader.ReadAsync(cancellationToken))
        {
            events.Add(new AuditEvent(
                FromTime(reader.GetInt64(0)),
                reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.IsDBNull(3) ? null : Guid.Parse(reader.GetString(3)),
                reader.IsDBNull(4) ? null : Guid.Parse(reader.GetString(4)),
                reader.GetString(5),
                reader.IsDBNull(6) ? null : reader.GetString(6)));
        }

        return events;
    });

    public Task CheckAvailableAsync(CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await ExecuteAsync(connection, null, "SELECT 1 FROM schema_migrations LIMIT 1;", cancellationToken);
        return true;
    });

    private Task<T> RunAsync<T>(Func<SqliteConnection, Task<T>> work) => RunAsync(_connectionString, work);

    /// <summary>Runs <paramref name="work"/> on a fresh pooled connection; SQLite failures become <see cref="CatalogUnavailableException"/> (shared with the Kakao fetch queue, which lives in the same database).</summary>
    internal static async Task<T> RunAsync<T>(string connectionString, Func<SqliteConnection, Task<T>> work)
    {
        try
        {
            await using var connection = new SqliteConnection(connectionString);
            await connection.OpenAsync();
            await using (var pragmas = Command(connection, null, ConnectionPragmas))
            {
                await pragmas.ExecuteNonQueryAsync();
            }

            return await work(connection);
        }
        catch (SqliteException ex)
        {
            throw new CatalogUnavailableException("The SQLite catalog failed.", ex);
        }
    }

    /// <summary>
    /// <see cref="RunAsync{T}(string, Func{SqliteConnection, Task{T}})"/> for callers whose interface is synchronous (the
    /// data-protection key repository), on the same pool, pragmas and failure mapping.
    /// </summary>
    internal static T Run<T>(string connectionString, Func<SqliteConnection, T> work)
    {
        try
        {
            using var connection = new SqliteConnection(connectionString);
            connection.Open();
            using (var pragmas = Command(connection, null, ConnectionPragmas))
            {
                pragmas.ExecuteNonQuery();
            }

            return work(connection);
        }
        catch (SqliteException ex)
        {
            throw new CatalogUnavailableException("The SQLite catalog failed.", ex);
        }
    }

    /// <summary>The connection string every adapter on the catalog's database uses, with the database's folder and file prepared.</summary>
    internal static string PrepareConnectionString(SqliteCatalogOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.ConnectionString);
        var builder = new SqliteConnectionStringBuilder(options.ConnectionString) { ForeignKeys = true, Pooling = true, DefaultTimeout = 30 };
        PrepareFiles(builder);
        return builder.ToString();
    }

    internal static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }

    private static async Task ExecuteAsync(SqliteConnection connection, SqliteTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, sql);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private const string MarkErasedSql = """
        UPDATE images
           SET state = 'erased', wrapped_key = NULL, key_id = NULL, preview_wrapped_key = NULL, preview_key_id = NULL, erased_at = $at, erase_reason = $reason,
               pending_erase_reason = NULL, claimed_until = NULL, expires_at = MIN(expires_at, $at)
         WHERE id = $id AND state NOT IN ('erased', 'held')
        RETURNING bot_id, consent_id;
        """;

    private static async Task InsertAuditAsync(SqliteConnection connection, SqliteTransaction? transaction, AuditEvent e, CancellationToken cancellationToken)
    {
        await using var command = AuditInsertCommand(connection, transaction);
        SetAudit(command, e);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static SqliteCommand AuditInsertCommand(SqliteConnection connection, SqliteTransaction? transaction)
    {
        var command = Command(connection, transaction, """
            INSERT INTO audit_events (at, kind, bot_id, image_id, consent_id, actor, reason)
            VALUES ($at, $kind, $bot, $image, $consent, $actor, $reason);
            """);
        foreach (var name in new[] { "$at", "$kind", "$bot", "$image", "$consent", "$actor", "$reason" })
        {
            command.Parameters.Add(name, SqliteType.Text);
        }

        return command;
    }

    private static void SetAudit(SqliteCommand command, AuditEvent e)
    {
        command.Parameters["$at"].Value = Time(e.At);
        command.Parameters["$kind"].Value = e.Kind;
        command.Parameters["$bot"].Value = (object?)e.BotId ?? DBNull.Value;
        command.Parameters["$image"].Value = e.ImageId is { } image ? Id(image) : DBNull.Value;
        command.Parameters["$consent"].Value = e.ConsentId is { } consent ? Id(consent) : DBNull.Value;
        command.Parameters["$actor"].Value = e.Actor;
        command.Parameters["$reason"].Value = (object?)e.Reason ?? DBNull.Value;
    }

    private static async Task<bool> ExistsAsync(SqliteConnection connection, SqliteTransaction transaction, Guid imageId, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, "SELECT 1 FROM images WHERE id = $id;");
        command.Parameters.AddWithValue("$id", Id(imageId));
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    /// <summary>Reads (id, blob_name, pending_erase_reason) from the first three columns, and the column preview_blob_name.</summary>
    private static ImageToErase ReadImageToErase(DbDataReader r) => new(Guid.Parse(r.GetString(0)), r.GetString(1), r.GetString(2))
    {
        PreviewBlobName = r.IsDBNull(r.GetOrdinal("preview_blob_name")) ? null : r.GetString(r.GetOrdinal("preview_blob_name")),
    };

    private static ConsentRecord ReadConsent(DbDataReader r) => new(
        Guid.Parse(r.GetString(0)),
        r.GetString(1),
        r.GetString(2),
        r.GetString(3),
        r.GetString(4),
        r.GetString(5),
        FromTime(r.GetInt64(6)),
        r.IsDBNull(7) ? null : FromTime(r.GetInt64(7)));

    private static ImageRecord ReadImage(DbDataReader r) => new(
        Guid.Parse(r.GetString(0)),
        r.GetString(1),
        r.GetString(2),
        Guid.Parse(r.GetString(3)),
        r.GetString(4),
        r.GetInt64(5),
        r.GetInt32(6),
        r.GetInt32(7),
        r.GetString(8),
        r.IsDBNull(10) ? null : new WrappedKey(r.GetString(9), (byte[])r.GetValue(10)),
        FromTime(r.GetInt64(11)),
        FromTime(r.GetInt64(12)),
        ImageStates.Parse(r.GetString(13)),
        r.IsDBNull(14) ? null : FromTime(r.GetInt64(14)),
        r.IsDBNull(15) ? null : r.GetString(15),
        r.IsDBNull(16) ? null : r.GetString(16))
    {
        PreviewState = r.IsDBNull(17) ? null : ImageStates.ParsePreview(r.GetString(17)),
        Preview = r.IsDBNull(18) ? null : new ImagePreview(
            Guid.Parse(r.GetString(18)),
            r.GetString(19),
            r.GetInt64(20),
            r.GetInt32(21),
            r.GetInt32(22),
            r.GetString(23),
            r.IsDBNull(25) ? null : new WrappedKey(r.GetString(24), (byte[])r.GetValue(25))),
    };

    private static string Id(Guid id) => id.ToString("D", CultureInfo.InvariantCulture);

    private static long Time(DateTimeOffset at) => at.ToUnixTimeMilliseconds();

    private static object Time(DateTimeOffset? at) => at is { } value ? value.ToUnixTimeMilliseconds() : DBNull.Value;

    private static DateTimeOffset FromTime(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);
}
