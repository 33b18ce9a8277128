using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using SecureImage.Core.Catalog;
using SecureImage.Core.Crypto;
using SecureImage.Core.Retention;
using SecureImage.Storage.Sqlite;

namespace SecureImage.Storage.Tests.Catalog;

/// <summary>
/// Crypto-shredding on the embedded default, checked on the bytes of every file in the database's folder
/// (catalog.db with its free pages and freed cells, -wal, -shm): once an erasure or a re-wrap returns, the old
/// wrapped key is in none of them. Live keys are always found, so the scan itself is proven to see them.
/// </summary>
public sealed class SqliteShreddingTests : IDisposable
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeMilliseconds(1_760_000_000_123);
    private readonly string _root = Directory.CreateTempSubdirectory("secureimage-shred-").FullName;

    private string Folder => Path.Combine(_root, "data");

    private string DatabasePath => Path.Combine(Folder, "catalog.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task Erased_images_leave_no_copy_of_their_wrapped_keys_in_any_file_of_the_database_folder()
    {
        var catalog = await NewCatalogAsync();
        var images = await AddImagesAsync(catalog, 30);

        // Claims rewrite the rows (claimed_until) while their keys are still live: old row copies are left behind too.
        var claimed = await catalog.ClaimExpiredAsync(T0.AddDays(4), 30, TimeSpan.FromMinutes(5), CancellationToken.None);
        Assert.Equal(30, claimed.Count);
        Assert.True(await catalog.MarkErasedAsync(images[0].Id, EraseReasons.DeletedByBot, "bot:bot-a", T0.AddDays(4), CancellationToken.None));
        Assert.Equal(19, await catalog.MarkErasedAsync([.. images[1..20].Select(i => new ErasedImage(i.Id, EraseReasons.Retention))], RetentionSweeper.Actor, T0.AddDays(4), CancellationToken.None));

        foreach (var erased in images[..20])
        {
            Assert.Empty(FilesHolding.Bytes(Folder, erased.WrappedKey!.Ciphertext));
        }

        foreach (var live in images[20..])
        {
            Assert.NotEmpty(FilesHolding.Bytes(Folder, live.WrappedKey!.Ciphertext));
        }
    }

    [Fact]
    public async Task Re_wrapping_leaves_no_copy_of_an_old_wrapped_key()
    {
        var catalog = await NewCatalogAsync();
        var images = await AddImagesAsync(catalog, 10);
        var replacements = new List<WrappedKey>();
        foreach (var image in images)
        {
            var replacement = new WrappedKey("kek-2", RandomNumberGenerator.GetBytes(61));
            Assert.True(await catalog.ReplaceWrappedKeyAsync(image.Id, image.WrappedKey!.KeyId, replacement, CancellationToken.None));
            replacements.Add(replacement);
        }

        Assert.All(images, image => Assert.Empty(FilesHolding.Bytes(Folder, image.WrappedKey!.Ciphertext)));
        Assert.All(replacements, key => Assert.NotEmpty(FilesHolding.Bytes(Folder, key.Ciphertext)));
    }

    [Fact]
    public async Task Erased_keys_an_older_version_left_in_free_space_are_zeroed_at_the_next_start()
    {
        var images = await AddImagesAsync(await NewCatalogAsync(), 10);
        SqliteConnection.ClearAllPools();

        // What an erasure did before secure_delete: the key is nulled, its bytes stay in the page's free space.
        await using (var old = new SqliteConnection($"Data Source={DatabasePath};Pooling=False"))
        {
            await old.OpenAsync();
            await using var command = old.CreateCommand();
            command.CommandText = "PRAGMA user_version = 0; UPDATE images SET wrapped_key = NULL, key_id = NULL, state = 'erased'; PRAGMA wal_checkpoint(TRUNCATE);";
            await command.ExecuteNonQueryAsync();
        }

        // Where a shorter row was written over the old one the key is gone by chance; elsewhere it survives.
        Assert.Contains(images, image => FilesHolding.Bytes(Folder, image.WrappedKey!.Ciphertext).Count > 0);

        await NewCatalogAsync();

        Assert.All(images, image => Assert.Empty(FilesHolding.Bytes(Folder, image.WrappedKey!.Ciphertext)));
    }

    [Fact]
    public async Task The_catalog_creates_its_folder_0700_and_its_database_and_side_files_0600()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var catalog = await NewCatalogAsync();
        await AddImagesAsync(catalog, 1);

        // The pooled connection keeps the log and shared-memory files open.
        Assert.Equal(PrivateFiles.FolderMode, File.GetUnixFileMode(Folder));
        foreach (var file in new[] { "catalog.db", "catalog.db-wal", "catalog.db-shm" })
        {
            Assert.Equal(PrivateFiles.FileMode, File.GetUnixFileMode(Path.Combine(Folder, file)));
        }
    }

    [Fact]
    public async Task A_catalog_file_an_older_version_made_readable_by_others_is_restricted_to_its_owner()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        Directory.CreateDirectory(Folder);
        await File.WriteAllBytesAsync(DatabasePath, []);
        File.SetUnixFileMode(DatabasePath, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        await NewCatalogAsync();

        Assert.Equal(PrivateFiles.FileMode, File.GetUnixFileMode(DatabasePath));
    }

    [Fact]
    public async Task An_erasure_that_a_reader_keeps_from_checkpointing_fails_and_the_next_sweep_claim_finishes_the_shredding()
    {
        var catalog = await NewCatalogAsync(checkpointBusyWait: TimeSpan.FromMilliseconds(200));
        var images = await AddImagesAsync(catalog, 2);

        // A reader whose snapshot still reads the log (an sqlite3 shell, a backup tool) holds the old frames.
        await using (var reader = new SqliteConnection($"Data Source={DatabasePath};Pooling=False"))
        {
            await reader.OpenAsync();
            await using var transaction = reader.BeginTransaction(deferred: true);
            await using (var read = reader.CreateCommand())
            {
                read.Transaction = transaction;
                read.CommandText = "SELECT COUNT(*) FROM images;";
                Assert.Equal(2L, await read.ExecuteScalarAsync());
            }

            await Assert.ThrowsAsync<CatalogUnavailableException>(() =>
                catalog.MarkErasedAsync(images[0].Id, EraseReasons.DeletedByBot, "bot:bot-a", T0.AddHours(1), CancellationToken.None));
            Assert.Equal(ImageState.Erased, (await catalog.FindImageAsync(images[0].Id, CancellationToken.None))!.State);
        }

        Assert.Empty(await catalog.ClaimExpiredAsync(T0.AddHours(1), 10, TimeSpan.FromMinutes(5), CancellationToken.None));

        Assert.Empty(FilesHolding.Bytes(Folder, images[0].WrappedKey!.Ciphertext));
        Assert.NotEmpty(FilesHolding.Bytes(Folder, images[1].WrappedKey!.Ciphertext));
    }

    private async Task<SqliteImageCatalog> NewCatalogAsync(TimeSpan? checkpointBusyWait = null)
    {
        var options = new SqliteCatalogOptions { ConnectionString = $"Data Source={DatabasePath}" };
        if (checkpointBusyWait is { } wait)
        {
            options.CheckpointBusyWait = wait;
        }

        var catalog = new SqliteImageCatalog(options);
        await catalog.MigrateAsync(CancellationToken.None);
        return catalog;
    }

    /// <summary>Images under one consent, each with its own random 61-byte wrapped key.</summary>
    private static async Task<ImageRecord[]> AddImagesAsync(SqliteImageCatalog catalog, int count)
    {
        var consent = new ConsentRecord(Guid.NewGuid(), "bot-a", new string('c', 64), "image-transfer", "2025-01", ConsentSources.Api, T0.AddMinutes(-10), WithdrawnAt: null);
        await catalog.AddConsentAsync(consent, CancellationToken.None);
        var images = new ImageRecord[count];
        for (var i = 0; i < count; i++)
        {
            images[i] = new ImageRecord(
                Guid.NewGuid(), consent.BotId, consent.SubjectHash, consent.Id, "image/jpeg", 12_345, 640, 480,
                Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()),
                new WrappedKey("kek-1", RandomNumberGenerator.GetBytes(61)),
                T0, T0.AddDays(3), ImageState.Active, ErasedAt: null, EraseReason: null, PendingEraseReason: null);
            Assert.True(await catalog.AddImageAsync(images[i], CancellationToken.None));
        }

        return images;
    }
}
