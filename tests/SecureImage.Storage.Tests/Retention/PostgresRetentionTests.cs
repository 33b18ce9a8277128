using SecureImage.Core.Blobs;
using SecureImage.Core.Catalog;
using SecureImage.Storage.AzureBlob;
using SecureImage.Storage.Postgres;
using SecureImage.Storage.Tests.Blobs;
using SecureImage.Tests.Shared;

namespace SecureImage.Storage.Tests.Retention;

/// <summary>Retention in production shape: PostgreSQL catalog (claims with FOR UPDATE SKIP LOCKED), blobs in Azurite.</summary>
public sealed class PostgresAzuriteRetentionTests : RetentionContractTests, IAsyncLifetime
{
    private readonly List<PostgresImageCatalog> _catalogs = [];
    private PostgresTestDatabase? _database;

    public async Task InitializeAsync() => _database = await PostgresTestDatabase.CreateAsync();

    public async Task DisposeAsync()
    {
        foreach (var catalog in _catalogs)
        {
            await catalog.DisposeAsync();
        }

        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }

    protected override async Task<IImageCatalog> CreateMigratedCatalogAsync()
    {
        var catalog = new PostgresImageCatalog(new PostgresCatalogOptions { ConnectionString = _database!.ConnectionString });
        _catalogs.Add(catalog);
        await catalog.MigrateAsync(TestTimeout.OneMinute);
        return catalog;
    }

    protected override async Task<IBlobStore> CreateBlobStoreAsync()
    {
        var store = new AzureBlobStore(AzuriteStores.SharedKeyOptions(AzuriteStores.NewContainerName()));
        await store.CreateIfNotExistsAsync(CancellationToken.None);
        return store;
    }
}
