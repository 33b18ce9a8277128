using Microsoft.Data.Sqlite;
using SecureImage.Core.Blobs;
using SecureImage.Core.Catalog;
using SecureImage.Storage.AzureBlob;
using SecureImage.Storage.FileSystem;
using SecureImage.Storage.Sqlite;
using SecureImage.Storage.Tests.Blobs;

namespace SecureImage.Storage.Tests.Retention;

/// <summary>Retention on the embedded default: SQLite catalog, blobs as files.</summary>
public sealed class SqliteFileSystemRetentionTests : RetentionContractTests, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("secureimage-retention-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    protected override async Task<IImageCatalog> CreateMigratedCatalogAsync()
    {
        var catalog = new SqliteImageCatalog(new SqliteCatalogOptions { ConnectionString = $"Data Source={Path.Combine(_directory, "catalog.db")}" });
        await catalog.MigrateAsync(CancellationToken.None);
        return catalog;
    }

    protected override async Task<IBlobStore> CreateBlobStoreAsync()
    {
        var store = new FileSystemBlobStore(new FileSystemBlobStoreOptions { RootPath = Path.Combine(_directory, "blobs") });
        await store.CreateIfNotExistsAsync(CancellationToken.None);
        return store;
    }
}

/// <summary>Retention with blobs in Azurite: the sweep's deletes go over the Blob REST API.</summary>
public sealed class SqliteAzuriteRetentionTests : RetentionContractTests, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("secureimage-retention-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    protected override async Task<IImageCatalog> CreateMigratedCatalogAsync()
    {
        var catalog = new SqliteImageCatalog(new SqliteCatalogOptions { ConnectionString = $"Data Source={Path.Combine(_directory, "catalog.db")}" });
        await catalog.MigrateAsync(CancellationToken.None);
        return catalog;
    }

    protected override async Task<IBlobStore> CreateBlobStoreAsync()
    {
        var store = new AzureBlobStore(AzuriteStores.SharedKeyOptions(AzuriteStores.NewContainerName()));
        await store.CreateIfNotExistsAsync(CancellationToken.None);
        return store;
    }
}
