using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Data.Sqlite;
using SecureImage.Storage.Postgres;
using SecureImage.Storage.Sqlite;

namespace SecureImage.Storage.Tests.DataProtection;

/// <summary>What both catalogs' data-protection key repositories must do.</summary>
public abstract class DataProtectionKeyRepositoryContractTests
{
    private static readonly XNamespace Dp = "http://schemas.asp.net/2015/03/dataProtection";

    /// <summary>Two repositories on one migrated catalog, as two instances have.</summary>
    protected abstract Task<(IXmlRepository First, IXmlRepository Second)> CreateMigratedPairAsync();

    [Fact]
    public async Task Elements_stored_by_one_instance_are_read_by_another_in_the_order_they_were_stored()
    {
        var (first, second) = await CreateMigratedPairAsync();
        Assert.Empty(second.GetAllElements());

        first.StoreElement(Key("11111111-1111-1111-1111-111111111111"), "key-11111111-1111-1111-1111-111111111111");
        second.StoreElement(new XElement("revocation", new XAttribute("version", 1), new XElement("reason", "rotated")), "revocation-20261202T090000Z");
        first.StoreElement(Key("22222222-2222-2222-2222-222222222222"), "key-22222222-2222-2222-2222-222222222222");

        foreach (var repository in new[] { first, second })
        {
            var elements = repository.GetAllElements().ToList();
            Assert.Equal(["key", "revocation", "key"], elements.Select(e => e.Name.LocalName));
            Assert.Equal("11111111-1111-1111-1111-111111111111", (string?)elements[0].Attribute("id"));
            Assert.Equal("sealed", elements[0].Descendants("value").Single().Value);
            Assert.Equal("22222222-2222-2222-2222-222222222222", (string?)elements[2].Attribute("id"));
        }
    }

    [Fact]
    public async Task A_key_whose_secret_was_not_encrypted_is_refused_and_not_stored()
    {
        var (first, second) = await CreateMigratedPairAsync();
        var plaintext = new XElement(
            "key",
            new XAttribute("id", Guid.NewGuid()),
            new XElement("descriptor", new XElement("masterKey", new XAttribute(Dp + "requiresEncryption", "true"), new XElement("value", "c2VjcmV0"))));

        Assert.Throws<InvalidOperationException>(() => first.StoreElement(plaintext, "key-plaintext"));

        Assert.Empty(second.GetAllElements());
    }

    private static XElement Key(string id) => new(
        "key",
        new XAttribute("id", id),
        new XAttribute("version", 1),
        new XElement("descriptor", new XElement("encryptedSecret", new XAttribute("decryptorType", "Some.Decryptor"), new XElement("value", "sealed"))));
}

public sealed class SqliteDataProtectionKeyRepositoryContractTests : DataProtectionKeyRepositoryContractTests, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("secureimage-dpkeys-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    protected override async Task<(IXmlRepository First, IXmlRepository Second)> CreateMigratedPairAsync()
    {
        var options = new SqliteCatalogOptions { ConnectionString = $"Data Source={Path.Combine(_directory, "catalog.db")}" };
        await new SqliteImageCatalog(options).MigrateAsync(CancellationToken.None);
        return (new SqliteDataProtectionKeyRepository(options), new SqliteDataProtectionKeyRepository(options));
    }
}

public sealed class PostgresDataProtectionKeyRepositoryContractTests : DataProtectionKeyRepositoryContractTests, IAsyncLifetime
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

    protected override async Task<(IXmlRepository First, IXmlRepository Second)> CreateMigratedPairAsync()
    {
        var first = _postgres!.NewCatalog();
        await first.MigrateAsync(TestTimeout.OneMinute);
        return (new PostgresDataProtectionKeyRepository(first), new PostgresDataProtectionKeyRepository(_postgres.NewCatalog()));
    }
}
