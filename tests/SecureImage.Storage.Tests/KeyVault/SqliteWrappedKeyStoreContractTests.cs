using Microsoft.Data.Sqlite;
using SecureImage.Core.Catalog;
using SecureImage.Storage.Sqlite;

namespace SecureImage.Storage.Tests.KeyVault;

/// <summary>The re-wrap store contract on SQLite, each test on its own database file.</summary>
public sealed class SqliteWrappedKeyStoreContractTests : WrappedKeyStoreContractTests, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("secureimage-rewrap-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    protected override async Task<IImageCatalog> CreateMigratedCatalogAsync()
    {
        var catalog = new SqliteImageCatalog(new SqliteCatalogOptions { ConnectionString = $"Data Source={Path.Combine(_directory, "catalog.db")}" });
        await catalog.MigrateAsync(TestTimeout.OneMinute);
        return catalog;
    }
}
