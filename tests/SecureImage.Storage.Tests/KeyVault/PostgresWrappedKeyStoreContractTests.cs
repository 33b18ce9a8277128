using SecureImage.Core.Catalog;

namespace SecureImage.Storage.Tests.KeyVault;

/// <summary>The re-wrap store contract on the real PostgreSQL that with-servers.sh starts, each test in a database of its own.</summary>
public sealed class PostgresWrappedKeyStoreContractTests : WrappedKeyStoreContractTests, IAsyncLifetime
{
    private PostgresCatalogs? _postgres;

    public async Task InitializeAsync() => _postgres = await PostgresCatalogs.CreateAsync();

    public async Task DisposeAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }

    protected override async Task<IImageCatalog> CreateMigratedCatalogAsync()
    {
        var catalog = (_postgres ?? throw new InvalidOperationException("InitializeAsync has not run.")).NewCatalog();
        await catalog.MigrateAsync(TestTimeout.OneMinute);
        return catalog;
    }
}
