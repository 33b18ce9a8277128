using System.Diagnostics;
using Microsoft.Data.Sqlite;
using SecureImage.Core.Catalog;

namespace SecureImage.Storage.Sqlite;

/// <summary>
/// Crypto-shredding on SQLite: once an erasure (or a re-wrap, whose old wrapped key is key material too)
/// returns, no file of the database holds the old wrapped key. SQLite alone would keep it in three places:
/// the freed space of the row's page, free pages, and old frames of the write-ahead log. So every
/// connection runs with <c>secure_delete</c> (freed space and pages are zeroed), and the writer checkpoints
/// with TRUNCATE after the change: the current pages go to the database file and the log is cut to zero.
/// If readers keep the log busy longer than <see cref="SqliteCatalogOptions.CheckpointBusyWait"/>, the call
/// fails with <see cref="CatalogUnavailableException"/> (the row stays erased) and the checkpoint is
/// retried by the next erasure, the next sweep claim and the next start.
/// </summary>
public sealed partial class SqliteImageCatalog
{
    /// <summary>Per connection (SQLite keeps neither in the file): zero freed content; temporary tables and sorts in memory, never in temp files.</summary>
    internal const string ConnectionPragmas = "PRAGMA secure_delete = ON; PRAGMA temp_store = MEMORY;";

    /// <summary><c>PRAGMA user_version</c> once a VACUUM has rewritten a database that older versions wrote without <c>secure_delete</c>.</summary>
    private const long FreeSpaceZeroedVersion = 1;

    private volatile bool _checkpointPending;

    /// <summary>The database's folder (0700 if created here) and file (0600 if created here; SQLite gives -wal and -shm the file's mode).</summary>
    private static void PrepareFiles(SqliteConnectionStringBuilder builder)
    {
        var dataSource = builder.DataSource;
        if (string.IsNullOrEmpty(dataSource) || dataSource == ":memory:" || builder.Mode == SqliteOpenMode.Memory)
        {
            return;
        }

        var path = Path.GetFullPath(dataSource);
        var folder = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(folder))
        {
            PrivateFiles.CreateFolder(folder);
        }

        if (builder.Mode is SqliteOpenMode.ReadWriteCreate)
        {
            // An empty file is a valid new database; creating it here is what gives it mode 0600.
            using var _ = new FileStream(path, PrivateFiles.NewFile(FileMode.OpenOrCreate, FileAccess.Write));
        }

        foreach (var file in new[] { path, path + "-wal", path + "-shm", path + "-journal" })
        {
            PrivateFiles.RestrictToOwner(file);
        }
    }

    /// <summary>At start, once per database: zero the free space an older version (without <c>secure_delete</c>) left behind.</summary>
    private async Task ZeroFreeSpaceOnceAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await using var version = Command(connection, null, "PRAGMA user_version;");
        if ((long)(await version.ExecuteScalarAsync(cancellationToken))! >= FreeSpaceZeroedVersion)
        {
            return;
        }

        // VACUUM rebuilds every page (with temp_store in memory, not through a temp file) and cannot run in a transaction.
        await ExecuteAsync(connection, null, "VACUUM;", cancellationToken);
        await ExecuteAsync(connection, null, $"PRAGMA user_version = {FreeSpaceZeroedVersion};", cancellationToken);
    }

    /// <summary>Call before committing a change that drops a wrapped key; <see cref="ShredAsync"/> after it.</summary>
    private void ShredPending() => _checkpointPending = true;

    private Task ShredIfPendingAsync(SqliteConnection connection, CancellationToken cancellationToken) =>
        _checkpointPending ? ShredAsync(connection, cancellationToken) : Task.CompletedTask;

    /// <summary>Checkpoint with TRUNCATE, retried while readers hold old log frames, up to <see cref="SqliteCatalogOptions.CheckpointBusyWait"/>.</summary>
    private async Task ShredAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var pause = TimeSpan.FromMilliseconds(2);
        while (true)
        {
            await using (var checkpoint = Command(connection, null, "PRAGMA wal_checkpoint(TRUNCATE);"))
            await using (var reader = await checkpoint.ExecuteReaderAsync(cancellationToken))
            {
                // The first column is 1 when the checkpoint could not finish ("busy").
                if (await reader.ReadAsync(cancellationToken) && reader.GetInt64(0) == 0)
                {
                    _checkpointPending = false;
                    return;
                }
            }

            if (Stopwatch.GetElapsedTime(started) >= _checkpointBusyWait)
            {
                _checkpointPending = true;
                throw new CatalogUnavailableException("Readers kept the SQLite write-ahead log busy; the checkpoint that removes old wrapped keys is retried later.");
            }

            await Task.Delay(pause, cancellationToken);
            pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, TimeSpan.FromMilliseconds(100).Ticks));
        }
    }
}
