using Microsoft.Data.Sqlite;
using SecureImage.Core.Blobs;
using SecureImage.Core.Catalog;
using SecureImage.Storage.AzureBlob;
using SecureImage.Storage.FileSystem;
using SecureImage.Storage.Sqlite;
using SecureImage.Storage.Tests.Blobs;

namespace SecureImage.Storage.Tests.Retention;

/// <summary>Retention with a SQLite catalog in a temp folder of its own; subclasses pick the blob store.</summary>
public abstract class SqliteRetentionTests : RetentionContractTests, IDisposable
{
    protected string Folder { get; } = Directory.CreateTempSubdirectory("secureimage-retention-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(Folder, recursive: true);
        GC.SuppressFinalize(this);
    }

    protected override async Task<IImageCatalog> CreateMigratedCatalogAsync()
    {
        var catalog = new SqliteImageCatalog(new SqliteCatalogOptions { ConnectionString = $"Data Source={Path.Combine(Folder, "catalog.db")}" });
        await catalog.MigrateAsync(CancellationToken.None);
        return catalog;
    }
}

/// <summary>Retention on the embedded default: SQLite catalog, blobs as files.</summary>
public sealed class SqliteFileSystemRetentionTests : SqliteRetentionTests
{
    protected override async Task<IBlobStore> CreateBlobStoreAsync()
    {
        var store = new FileSystemBlobStore(new FileSystemBlobStoreOptions { RootPath = Path.Combine(Folder, "blobs") });
        await store.CreateIfNotExistsAsync(CancellationToken.None);
        return store;
    }
}

/// <summary>Retention with blobs in Azurite: the sweep's deletes go over the Blob REST API.</summary>
public sealed class SqliteAzuriteRetentionTests : SqliteRetentionTests
{
    protected override async Task<IBlobStore> CreateBlobStoreAsync()
    {
        var store = new AzureBlobStore(AzuriteStores.SharedKeyOptions(AzuriteStores.NewContainerName()));
        await store.CreateIfNotExistsAsync(CancellationToken.None);
        return store;
    }
}
