using System.Data.Common;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;
using SecureImage.Core.Catalog;
using SecureImage.Core.Retention;
using SecureImage.Core.Crypto;

namespace SecureImage.Storage.Postgres;

/// <summary>
/// The catalog on PostgreSQL, for production and several instances side by side. Same meaning as
/// SqliteImageCatalog and the same method order: every change and its audit event share
/// one transaction. Connection failures surface as <see cref="CatalogUnavailableException"/> and clear
/// the pool, so the catalog recovers on its own when the server is back.
/// </summary>
public sealed partial class PostgresImageCatalog : IImageCatalog, IRetentionCatalog, IAsyncDisposable, IDisposable
{
    private const string ImageColumns =
        "id, bot_id, subject_hash, consent_id, content_type, bytes, width, height, blob_name, key_id, wrapped_key, created_at, expires_at, state, erased_at, erase_reason, pending_erase_reason";

    /// <summary>What a read returns: the inserted columns and the preview's (set later, by <see cref="RecordPreviewAsync"/>).</summary>
    private const string ImageReadColumns = ImageColumns +
        ", preview_state, preview_id, preview_content_type, preview_bytes, preview_width, preview_height, preview_blob_name, preview_key_id, preview_wrapped_key";

    private const string ConsentColumns = "id, bot_id, subject_hash, purpose, policy_version, source, granted_at, withdrawn_at";

    /// <summary>Key of the transaction-level advisory lock that serializes migrations across instances ("SIMG" + 1).</summary>
    private const long MigrationLockKey = 0x53494D47_00000001;

    private readonly NpgsqlDataSource _dataSource;
    private readonly ILogger _logger;

    public PostgresImageCatalog(PostgresCatalogOptions options, ILogger<PostgresImageCatalog>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.ConnectionString);
        _dataSource = NpgsqlDataSource.Create(EffectiveConnectionString(options.ConnectionString));
        _logger = logger ?? NullLogger<PostgresImageCatalog>.Instance;
    }

    /// <summary>Statements each connection prepares automatically unless the connection string sets <c>Max Auto Prepare</c>.</summary>
    public const int DefaultMaxAutoPrepare = 32;

    /// <summary>
    /// The operator's connection string with the catalog's defaults where it says nothing: an application name, and
    /// automatic preparation. The catalog runs a few fixed statements per request, so each connection parses and plans
    /// them once instead of on every request (PostgreSQL's CPU per request is as large as the service's). An operator
    /// behind a pooler that cannot keep prepared statements (PgBouncer in transaction mode before 1.21) sets
    /// <c>Max Auto Prepare=0</c>.
    /// </summary>
    public static string EffectiveConnectionString(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (string.IsNullOrEmpty(builder.ApplicationName))
        {
            builder.ApplicationName = "SecureImage";
        }

        // The keys as written (Npgsql's own builder lists every keyword it knows): an explicit 0 is the operator's choice.
        var written = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        if (!written.Keys.Cast<string>().Any(key => string.Equals(key.Replace(" ", "", StringComparison.Ordinal), "MaxAutoPrepare", StringComparison.OrdinalIgnoreCase)))
        {
            builder.MaxAutoPrepare = DefaultMaxAutoPrepare;
        }

        return builder.ConnectionString;
    }

    public Task MigrateAsync(CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        // One transaction under an advisory lock: instances starting at once apply each migration once,
        // and a failed migration leaves nothing half-applied.
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var command = Command(connection, transaction, "SELECT pg_advisory_xact_lock(@key);"))
        {
            Add(command, "key", NpgsqlDbType.Bigint, MigrationLockKey);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await ExecuteAsync(connection, transaction, "CREATE TABLE IF NOT EXISTS schema_migrations (version integer NOT NULL PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL);", cancellationToken);
        var applied = new HashSet<long>();
        await using (var command = Command(connection, transaction, "SELECT version FROM schema_migrations;"))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                applied.Add(reader.GetInt32(0));
            }
        }

        foreach (var migration in Migration.Load("Postgres.Migrations").Where(m => !applied.Contains(m.Version)))
        {
            await ExecuteAsync(connection, transaction, migration.Sql, cancellationToken);
            await using var record = Command(connection, transaction, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (@v, @n, now());");
            Add(record, "v", NpgsqlDbType.Integer, migration.Version);
            Add(record, "n", NpgsqlDbType.Text, migration.Name);
            await record.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return true;
    }, cancellationToken);

    public Task AddConsentAsync(ConsentRecord consent, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        ArgumentNullException.ThrowIfNull(consent);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var command = Command(connection, transaction, $"INSERT INTO consents ({ConsentColumns}) VALUES (@id, @bot, @subject, @purpose, @policy, @source, @granted, @withdrawn);"))
        {
            Add(command, "id", NpgsqlDbType.Uuid, consent.Id);
            Add(command, "bot", NpgsqlDbType.Text, consent.BotId);
            Add(command, "subject", NpgsqlDbType.Text, consent.SubjectHash);
            Add(command, "purpose", NpgsqlDbType.Text, consent.Purpose);
            Add(command, "policy", NpgsqlDbType.Text, consent.PolicyVersion);
            Add(command, "source", NpgsqlDbType.Text, consent.Source);
            Add(command, "granted", NpgsqlDbType.TimestampTz, Time(consent.GrantedAt));
            Add(command, "withdrawn", NpgsqlDbType.TimestampTz, Time(consent.WithdrawnAt));
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await InsertAuditAsync(connection, transaction, new AuditEvent(consent.GrantedAt, AuditKinds.ConsentGranted, consent.BotId, null, consent.Id, $"bot:{consent.BotId}", consent.Source), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }, cancellationToken);

    public Task<ConsentRecord?> FindConsentAsync(Guid consentId, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await using var command = Command(connection, null, $"SELECT {ConsentColumns} FROM consents WHERE id = @id;");
        Add(command, "id", NpgsqlDbType.Uuid, consentId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadConsent(reader) : null;
    }, cancellationToken);

    public Task<ConsentWithdrawal?> WithdrawConsentAsync(Guid consentId, string actor, DateTimeOffset at, CancellationToken cancellationToken) => RunAsync<ConsentWithdrawal?>(async connection =>
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        string botId;
        bool alreadyWithdrawn;

        // FOR UPDATE: concurrent withdrawals audit once, and an upload committing under this consent
        // (which takes FOR SHARE on it) either finishes first and is expired below, or sees it withdrawn.
        await using (var find = Command(connection, transaction, "SELECT bot_id, withdrawn_at IS NOT NULL FROM consents WHERE id = @id FOR UPDATE;"))
        {
            Add(find, "id", NpgsqlDbType.Uuid, consentId);
            await using var reader = await find.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }

            botId = reader.GetString(0);
            alreadyWithdrawn = reader.GetBoolean(1);
        }

        if (!alreadyWithdrawn)
        {
            await using (var withdraw = Command(connection, transaction, "UPDATE consents SET withdrawn_at = @at WHERE id = @id;"))
            {
                Add(withdraw, "id", NpgsqlDbType.Uuid, consentId);
                Add(withdraw, "at", NpgsqlDbType.TimestampTz, Time(at));
                await withdraw.ExecuteNonQueryAsync(cancellationToken);
            }

            await InsertAuditAsync(connection, transaction, new AuditEvent(at, AuditKinds.ConsentWithdrawn, botId, null, consentId, actor, null), cancellationToken);
        }

        // The UPDATE locks each row, so the state it returns is the state the pending reason was set in
        // (a hold racing it waits, then sees the reason): held rows keep their blob.
        var toErase = new List<ImageToErase>();
        var held = 0;
        await using (var expire = Command(connection, transaction, """
            UPDATE images
               SET expires_at = LEAST(expires_at, @at),
                   pending_erase_reason = COALESCE(pending_erase_reason, 'consent-withdrawn')
             WHERE consent_id = @id AND state <> 'erased'
            RETURNING id, blob_name, pending_erase_reason, state, preview_blob_name;
            """))
        {
            Add(expire, "id", NpgsqlDbType.Uuid, consentId);
            Add(expire, "at", NpgsqlDbType.TimestampTz, Time(at));
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
    }, cancellationToken);

    public Task<bool> AddImageAsync(ImageRecord image, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        ArgumentNullException.ThrowIfNull(image);

        // One statement, one round trip, its own transaction: the consent check, the row and its audit event land
        // together or not at all. FOR SHARE holds off a concurrent withdrawal until it commits (see WithdrawConsentAsync).
        await using var insert = Command(connection, null, $"""
            WITH inserted AS (
                INSERT INTO images ({ImageColumns})
                SELECT @id, @bot, @subject, @consent, @type, @bytes, @width, @height, @blob, @kid, @wrapped, @created, @expires, @state, NULL, NULL, NULL
                 WHERE EXISTS (SELECT 1 FROM consents WHERE id = @consent AND bot_id = @bot AND withdrawn_at IS NULL FOR SHARE)
                RETURNING id)
            INSERT INTO audit_events (at, kind, bot_id, image_id, consent_id, actor, reason)
            SELECT @created, @kind, @bot, id, @consent, @actor, NULL FROM inserted;
            """);
        Add(insert, "id", NpgsqlDbType.Uuid, image.Id);
        Add(insert, "bot", NpgsqlDbType.Text, image.BotId);
        Add(insert, "subject", NpgsqlDbType.Text, image.SubjectHash);
        Add(insert, "consent", NpgsqlDbType.Uuid, image.ConsentId);
        Add(insert, "type", NpgsqlDbType.Text, image.ContentType);
        Add(insert, "bytes", NpgsqlDbType.Bigint, image.Bytes);
        Add(insert, "width", NpgsqlDbType.Integer, image.Width);
        Add(insert, "height", NpgsqlDbType.Integer, image.Height);
        Add(insert, "blob", NpgsqlDbType.Text, image.BlobName);
        Add(insert, "kid", NpgsqlDbType.Text, image.WrappedKey?.KeyId);
        Add(insert, "wrapped", NpgsqlDbType.Bytea, image.WrappedKey?.Ciphertext);
        Add(insert, "created", NpgsqlDbType.TimestampTz, Time(image.CreatedAt));
        Add(insert, "expires", NpgsqlDbType.TimestampTz, Time(image.ExpiresAt));
        Add(insert, "state", NpgsqlDbType.Text, ImageStates.ToText(image.State));
        Add(insert, "kind", NpgsqlDbType.Text, AuditKinds.ImageUploaded);
        Add(insert, "actor", NpgsqlDbType.Text, $"bot:{image.BotId}");
        try
        {
            return await insert.ExecuteNonQueryAsync(cancellationToken) == 1;
        }
        catch (Exception ex) when (IsUnavailable(ex) && ex is not PostgresException && !cancellationToken.IsCancellationRequested)
        {
            // The statement was sent and no answer came: the server may have committed it. The caller must keep the
            // blob (reconciliation removes it if the row never landed). An error the server reported rolled it back.
            ClearPoolOnConnectionFailure(ex);
            throw new CatalogUnavailableException("The PostgreSQL catalog did not confirm the commit.", ex) { MayHaveCommitted = true };
        }
    }, cancellationToken);

    public Task<ImageRecord?> FindImageAsync(Guid imageId, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await using var command = Command(connection, null, $"SELECT {ImageReadColumns} FROM images WHERE id = @id;");
        Add(command, "id", NpgsqlDbType.Uuid, imageId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadImage(reader) : null;
    }, cancellationToken);

    public Task<ImageRecord?> FindImageForDownloadAsync(Guid imageId, DateTimeOffset at, string actor, string? reason, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        // The INSERT sees the same snapshot as the SELECT: the event is written exactly when the row read is servable.
        await using var command = Command(connection, null, $"""
            WITH image AS (SELECT {ImageReadColumns} FROM images WHERE id = @id),
                 audit AS (INSERT INTO audit_events (at, kind, bot_id, image_id, consent_id, actor, reason)
                           SELECT @at, @kind, bot_id, id, consent_id, @actor, @reason FROM image
                            WHERE state = 'active' AND expires_at > @at)
            SELECT {ImageReadColumns} FROM image;
            """);
        Add(command, "id", NpgsqlDbType.Uuid, imageId);
        Add(command, "at", NpgsqlDbType.TimestampTz, Time(at));
        Add(command, "kind", NpgsqlDbType.Text, AuditKinds.ImageDownloaded);
        Add(command, "actor", NpgsqlDbType.Text, actor);
        Add(command, "reason", NpgsqlDbType.Text, reason);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadImage(reader) : null;
    }, cancellationToken);

    public Task<EraseDecision> RequestEraseAsync(Guid imageId, string reason, string actor, DateTimeOffset at, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        // The UPDATE locks the row until commit: the state it returns is the state the pending reason
        // was set in, and a hold asked for meanwhile waits and then sees the reason.
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        (string BotId, EraseDecision Decision)? requested = null;
        await using (var update = Command(connection, transaction, """
            UPDATE images
               SET expires_at = LEAST(expires_at, @at),
                   pending_erase_reason = COALESCE(pending_erase_reason, @reason)
             WHERE id = @id AND state <> 'erased'
            RETURNING id, blob_name, pending_erase_reason, state, bot_id, preview_blob_name;
            """))
        {
            Add(update, "id", NpgsqlDbType.Uuid, imageId);
            Add(update, "at", NpgsqlDbType.TimestampTz, Time(at));
            Add(update, "reason", NpgsqlDbType.Text, reason);
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
    }, cancellationToken);

    public async Task<bool> MarkErasedAsync(Guid imageId, string reason, string actor, DateTimeOffset at, CancellationToken cancellationToken) =>
        await MarkErasedAsync([new ErasedImage(imageId, reason)], actor, at, cancellationToken) == 1;

    public Task<bool> RecordPreviewAsync(Guid imageId, ImagePreview preview, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        ArgumentNullException.ThrowIfNull(preview);
        ArgumentNullException.ThrowIfNull(preview.WrappedKey);

        // The row lock this UPDATE takes orders it with an erase request or a sweep claim: whichever comes second sees the other.
        await using var command = Command(connection, null, """
            UPDATE images
               SET preview_state = 'ready', preview_id = @pid, preview_content_type = @type, preview_bytes = @bytes, preview_width = @width,
                   preview_height = @height, preview_blob_name = @blob, preview_key_id = @kid, preview_wrapped_key = @wrapped
             WHERE id = @id AND preview_state IS NULL AND state <> 'erased' AND pending_erase_reason IS NULL;
            """);
        Add(command, "id", NpgsqlDbType.Uuid, imageId);
        Add(command, "pid", NpgsqlDbType.Uuid, preview.Id);
        Add(command, "type", NpgsqlDbType.Text, preview.ContentType);
        Add(command, "bytes", NpgsqlDbType.Bigint, preview.Bytes);
        Add(command, "width", NpgsqlDbType.Integer, preview.Width);
        Add(command, "height", NpgsqlDbType.Integer, preview.Height);
        Add(command, "blob", NpgsqlDbType.Text, preview.BlobName);
        Add(command, "kid", NpgsqlDbType.Text, preview.WrappedKey.KeyId);
        Add(command, "wrapped", NpgsqlDbType.Bytea, preview.WrappedKey.Ciphertext);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }, cancellationToken);

    public Task<bool> MarkPreviewUnavailableAsync(Guid imageId, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await using var command = Command(connection, null, "UPDATE images SET preview_state = 'unavailable' WHERE id = @id AND preview_state IS NULL;");
        Add(command, "id", NpgsqlDbType.Uuid, imageId);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }, cancellationToken);

    public Task AppendAuditAsync(AuditEvent auditEvent, CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await InsertAuditAsync(connection, null, auditEvent, cancellationToken);
        return true;
    }, cancellationToken);

    public Task<IReadOnlyList<AuditEvent>> GetHistoryAsync(Guid objectId, CancellationToken cancellationToken) => RunAsync<IReadOnlyList<AuditEvent>>(async connection =>
    {
        await using var command = Command(connection, null, """
            SELECT at, kind, bot_id, image_id, consent_id, actor, reason FROM audit_events
             WHERE image_id = @id OR consent_id = @id ORDER BY seq;
            """);
        Add(command, "id", NpgsqlDbType.Uuid, objectId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var events = new List<AuditEvent>();
        while (await reader.ReadAsync(cancellationToken))
        {
            events.Add(new AuditEvent(
                FromTime(reader, 0),
                reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetGuid(3),
                reader.IsDBNull(4) ? null : reader.GetGuid(4),
                reader.GetString(5),
                reader.IsDBNull(6) ? null : reader.GetString(6)));
        }

        return events;
    }, cancellationToken);

    public Task CheckAvailableAsync(CancellationToken cancellationToken) => RunAsync(async connection =>
    {
        await ExecuteAsync(connection, null, "SELECT 1 FROM schema_migrations LIMIT 1;", cancellationToken);
        return true;
    }, cancellationToken);

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    public void Dispose() => _dataSource.Dispose();

    /// <summary>Runs <paramref name="work"/> on a pooled connection; failures become <see cref="CatalogUnavailableException"/> (shared with <see cref="PostgresKakaoFetchQueue"/>, which lives in the same database and pool).</summary>
    internal async Task<T> RunAsync<T>(Func<NpgsqlConnection, Task<T>> work, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
            return await work(connection);
        }
        catch (Exception ex) when (IsUnavailable(ex) && !cancellationToken.IsCancellationRequested)
        {
            throw Unavailable(ex);
        }
    }

    /// <summary>
    /// <see cref="RunAsync{T}"/> for callers whose interface is synchronous (the data-protection key repository): Npgsql's
    /// own synchronous I/O on the same pool and failure mapping, not a blocked wait on an async call.
    /// </summary>
    internal T Run<T>(Func<NpgsqlConnection, T> work)
    {
        try
        {
            using var connection = _dataSource.OpenConnection();
            return work(connection);
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            throw Unavailable(ex);
        }
    }

    private CatalogUnavailableException Unavailable(Exception ex)
    {
        ClearPoolOnConnectionFailure(ex);
        return new CatalogUnavailableException("The PostgreSQL catalog is not answering.", ex);
    }

    private void ClearPoolOnConnectionFailure(Exception ex)
    {
        if (IsConnectionFailure(ex))
        {
            // Idle pooled connections died with the server (restart, failover): drop them all so the
            // next call opens fresh ones instead of failing once per stale connection.
            _dataSource.Clear();
            LogPoolCleared(_logger, ex.GetType().Name, (ex as PostgresException)?.SqlState ?? "none");
        }
    }

    /// <summary>Like the SQLite adapter, every database failure reaches clients as "unavailable" (503), never as a 500.</summary>
    private static bool IsUnavailable(Exception ex) => ex is NpgsqlException or SocketException or TimeoutException or IOException;

    /// <summary>The connection itself failed (network, timeout, server shut down or not accepting connections yet).</summary>
    private static bool IsConnectionFailure(Exception ex) => ex switch
    {
        PostgresException pg => pg.SqlState.StartsWith("08", StringComparison.Ordinal) // connection exception
            || pg.SqlState.StartsWith("57P", StringComparison.Ordinal) // admin/crash shutdown, cannot connect now
            || pg.SqlState == PostgresErrorCodes.TooManyConnections,
        _ => true,
    };

    internal static NpgsqlCommand Command(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql) => new(sql, connection, transaction);

    internal static void Add(NpgsqlCommand command, string name, NpgsqlDbType type, object? value) =>
        command.Parameters.Add(new NpgsqlParameter(name, type) { Value = value ?? DBNull.Value });

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, sql);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task InsertAuditAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, AuditEvent e, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, """
            INSERT INTO audit_events (at, kind, bot_id, image_id, consent_id, actor, reason)
            VALUES (@at, @kind, @bot, @image, @consent, @actor, @reason);
            """);
        Add(command, "at", NpgsqlDbType.TimestampTz, Time(e.At));
        Add(command, "kind", NpgsqlDbType.Text, e.Kind);
        Add(command, "bot", NpgsqlDbType.Text, e.BotId);
        Add(command, "image", NpgsqlDbType.Uuid, e.ImageId);
        Add(command, "consent", NpgsqlDbType.Uuid, e.ConsentId);
        Add(command, "actor", NpgsqlDbType.Text, e.Actor);
        Add(command, "reason", NpgsqlDbType.Text, e.Reason);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<bool> ExistsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid imageId, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, "SELECT 1 FROM images WHERE id = @id;");
        Add(command, "id", NpgsqlDbType.Uuid, imageId);
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    /// <summary>Reads (id, blob_name, pending_erase_reason) from the first three columns, and the column preview_blob_name.</summary>
    private static ImageToErase ReadImageToErase(DbDataReader r) => new(r.GetGuid(0), r.GetString(1), r.GetString(2))
    {
        PreviewBlobName = r.IsDBNull(r.GetOrdinal("preview_blob_name")) ? null : r.GetString(r.GetOrdinal("preview_blob_name")),
    };

    private static ConsentRecord ReadConsent(DbDataReader r) => new(
        r.GetGuid(0),
        r.GetString(1),
        r.GetString(2),
        r.GetString(3),
        r.GetString(4),
        r.GetString(5),
        FromTime(r, 6),
        r.IsDBNull(7) ? null : FromTime(r, 7));

    private static ImageRecord ReadImage(DbDataReader r) => new(
        r.GetGuid(0),
        r.GetString(1),
        r.GetString(2),
        r.GetGuid(3),
        r.GetString(4),
        r.GetInt64(5),
        r.GetInt32(6),
        r.GetInt32(7),
        r.GetString(8),
        r.IsDBNull(10) ? null : new WrappedKey(r.GetString(9), r.GetFieldValue<byte[]>(10)),
        FromTime(r, 11),
        FromTime(r, 12),
        ImageStates.Parse(r.GetString(13)),
        r.IsDBNull(14) ? null : FromTime(r, 14),
        r.IsDBNull(15) ? null : r.GetString(15),
        r.IsDBNull(16) ? null : r.GetString(16))
    {
        PreviewState = r.IsDBNull(17) ? null : ImageStates.ParsePreview(r.GetString(17)),
        Preview = r.IsDBNull(18) ? null : new ImagePreview(
            r.GetGuid(18),
            r.GetString(19),
            r.GetInt64(20),
            r.GetInt32(21),
            r.GetInt32(22),
            r.GetString(23),
            r.IsDBNull(25) ? null : new WrappedKey(r.GetString(24), r.GetFieldValue<byte[]>(25))),
    };

    /// <summary>Npgsql writes timestamptz only from UTC values; the instant is what matters.</summary>
    internal static DateTimeOffset Time(DateTimeOffset at) => at.ToUniversalTime();

    private static DateTimeOffset? Time(DateTimeOffset? at) => at?.ToUniversalTime();

    internal static DateTimeOffset FromTime(DbDataReader r, int ordinal) => r.GetFieldValue<DateTimeOffset>(ordinal);

    [LoggerMessage(Level = LogLevel.Warning, Message = "PostgreSQL connection failed ({ExceptionType}, SQLSTATE {SqlState}); the connection pool was cleared.")]
    private static partial void LogPoolCleared(ILogger logger, string exceptionType, string sqlState);
}
