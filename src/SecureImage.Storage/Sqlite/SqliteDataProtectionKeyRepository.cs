using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace SecureImage.Storage.Sqlite;

/// <summary>
/// The ASP.NET Core data-protection key ring in the SQLite catalog's database (table from migration 0008, applied by the
/// catalog's migrator), so every process on the catalog, and the next one after a restart, uses the same keys.
/// </summary>
/// <remarks>
/// <see cref="IXmlRepository"/> is synchronous, so these are synchronous calls on the catalog's pool. That is cheap: the
/// library calls them rarely (reading the ring at start-up, on its refresh about every 24 hours and when a payload names
/// a key it has not seen; writing once per new key, about every 90 days), each is one short statement, and SQLite's
/// async API runs synchronously anyway.
/// </remarks>
public sealed class SqliteDataProtectionKeyRepository : IXmlRepository
{
    private readonly string _connectionString;

    public SqliteDataProtectionKeyRepository(SqliteCatalogOptions options) =>
        _connectionString = SqliteImageCatalog.PrepareConnectionString(options);

    public IReadOnlyCollection<XElement> GetAllElements() => SqliteImageCatalog.Run(_connectionString, DataProtectionKeyXml.ReadAll);

    public void StoreElement(XElement element, string friendlyName)
    {
        var xml = DataProtectionKeyXml.ToStored(element);
        SqliteImageCatalog.Run(_connectionString, connection =>
        {
            using var insert = SqliteImageCatalog.Command(connection, null, "INSERT INTO data_protection_keys (friendly_name, xml) VALUES ($name, $xml);");
            insert.Parameters.AddWithValue("$name", friendlyName ?? "");
            insert.Parameters.AddWithValue("$xml", xml);
            return insert.ExecuteNonQuery();
        });
    }
}
