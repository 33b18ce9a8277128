using Npgsql;
using SecureImage.Storage.Postgres;

namespace SecureImage.Storage.Tests;

/// <summary>
/// A fresh database on the test PostgreSQL and the catalogs a test opens on it; disposing closes the
/// catalogs' pools, then drops the database.
/// </summary>
internal sealed class PostgresCatalogs : IAsyncDisposable
{
    private readonly List<PostgresImageCatalog> _catalogs = [];

    private PostgresCatalogs(PostgresTestDatabase database) => Database = database;

    public PostgresTestDatabase Database { get; }

    public static async Task<PostgresCatalogs> CreateAsync() => new(await PostgresTestDatabase.CreateAsync());

    /// <summary>A catalog (with a pool of its own, as another instance would have) on the database, or on <paramref name="connectionString"/>.</summary>
    public PostgresImageCatalog NewCatalog(string? connectionString = null)
    {
        var catalog = new PostgresImageCatalog(new PostgresCatalogOptions { ConnectionString = connectionString ?? Database.ConnectionString });
        _catalogs.Add(catalog);
        return catalog;
    }

    /// <summary>The database's connection string with a port nothing listens on (bound, then released) and a short timeout.</summary>
    public string RefusedConnectionString()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return new NpgsqlConnectionStringBuilder(Database.ConnectionString) { Port = port, Timeout = 5 }.ConnectionString;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var catalog in _catalogs)
        {
            await catalog.DisposeAsync();
        }

        await Database.DisposeAsync();
    }
}
