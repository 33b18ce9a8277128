using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;
using NpgsqlTypes;

namespace SecureImage.Storage.Postgres;

/// <summary>
/// The ASP.NET Core data-protection key ring in the PostgreSQL catalog's database (table from migration 0009, applied by
/// the catalog's migrator), on the catalog's connection pool and failure mapping: every instance on the catalog uses the
/// same keys, so a form or an OIDC callback may reach any replica, and keys outlive restarts and redeployments.
/// </summary>
/// <remarks>
/// <see cref="IXmlRepository"/> is synchronous, so these use Npgsql's synchronous I/O. That is cheap: the library calls
/// them rarely (reading the ring at start-up, on its refresh about every 24 hours and when a payload names a key it has
/// not seen; writing once per new key, about every 90 days), and each is one short statement on an index-free table of
/// a few rows.
/// </remarks>
public sealed class PostgresDataProtectionKeyRepository : IXmlRepository
{
    private readonly PostgresImageCatalog _catalog;

    /// <summary>Keys on <paramref name="catalog"/>'s database and pool; the catalog owns (and disposes) the pool.</summary>
    public PostgresDataProtectionKeyRepository(PostgresImageCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        _catalog = catalog;
    }

    public IReadOnlyCollection<XElement> GetAllElements() => _catalog.Run(DataProtectionKeyXml.ReadAll);

    public void StoreElement(XElement element, string friendlyName)
    {
        var xml = DataProtectionKeyXml.ToStored(element);
        _catalog.Run(connection =>
        {
            using var insert = PostgresImageCatalog.Command(connection, null, "INSERT INTO data_protection_keys (friendly_name, xml) VALUES (@name, @xml);");
            PostgresImageCatalog.Add(insert, "name", NpgsqlDbType.Text, friendlyName ?? "");
            PostgresImageCatalog.Add(insert, "xml", NpgsqlDbType.Text, xml);
            return insert.ExecuteNonQuery();
        });
    }
}
