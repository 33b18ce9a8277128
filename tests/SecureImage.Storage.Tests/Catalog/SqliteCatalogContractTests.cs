using Microsoft.Data.Sqlite;
using SecureImage.Core.Catalog;
using SecureImage.Storage.Sqlite;

namespace SecureImage.Storage.Tests.Catalog;

/// <summary>The catalog contract on SQLite, each test on its own database file.</summary>
public sealed class SqliteCatalogContractTests : CatalogContractTests, IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"secureimage-catalog-{Guid.NewGuid():N}");

    public SqliteCatalogContractTests() => Directory.CreateDirectory(_directory);

    private string DatabasePath => Path.Combine(_directory, "catalog.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    protected override async Task<IImageCatalog> CreateMigratedCatalogAsync()
    {
        var catalog = new SqliteImageCatalog(new SqliteCatalogOptions { ConnectionString = $"Data Source={DatabasePath}" });
        await catalog.MigrateAsync(CancellationToken.None);
        return catalog;
    }

    [Theory]
    [InlineData("UPDATE audit_events SET reason = 'rewritten';")]
    [InlineData("DELETE FROM audit_events;")]
    public async Task Audit_events_cannot_be_changed_or_deleted(string sql)
    {
        var catalog = await CreateMigratedCatalogAsync();
        var consent = await AddConsentAsync(catalog, "bot-a");
        var before = await catalog.GetHistoryAsync(consent.Id, CancellationToken.None);

        await using (var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False"))
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            var refused = await Assert.ThrowsAsync<SqliteException>(() => command.ExecuteNonQueryAsync());
            Assert.Contains("append-only", refused.Message, StringComparison.Ordinal);
        }

        Assert.Equal(before, await catalog.GetHistoryAsync(consent.Id, CancellationToken.None));
    }

    [Fact]
    public async Task Migrating_a_new_database_from_several_catalogs_at_once_applies_each_migration_once()
    {
        var catalogs = Enumerable.Range(0, 4)
            .Select(_ => new SqliteImageCatalog(new SqliteCatalogOptions { ConnectionString = $"Data Source={DatabasePath}" }))
            .ToArray();

        await Task.WhenAll(catalogs.Select(c => Task.Run(() => c.MigrateAsync(CancellationToken.None))));

        await using var connection = new SqliteConnection($"Data Source={DatabasePath};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM schema_migrations WHERE version = 1;";
        Assert.Equal(1L, await command.ExecuteScalarAsync());
    }
}
