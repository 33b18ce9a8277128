using System.Net.Sockets;
using Hangfire.PostgreSql;
using Npgsql;
using SecureImage.Core.Catalog;

namespace SecureImage.Api.Jobs;

/// <summary>
/// Hangfire's connections on PostgreSQL, built from the catalog's connection string (no second setting to
/// keep in sync): the same database, a pool of its own (so a busy job store never starves the request path,
/// nor the other way round) and a separate application name in <c>pg_stat_activity</c>. <see cref="Sessions"/>
/// opens unpooled connections for session locks, which must end with the connection that holds them.
/// </summary>
internal sealed class JobsDatabase : IConnectionFactory, IAsyncDisposable
{
    /// <summary>Advisory lock key ("SIMG" + 4) that serializes the creation of Hangfire's schema across instances starting at once.</summary>
    private const long SchemaLockKey = 0x53494D47_00000004;

    private readonly NpgsqlDataSource _pool;

    public JobsDatabase(string catalogConnectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(catalogConnectionString) { ApplicationName = "SecureImage jobs" };
        _pool = NpgsqlDataSource.Create(builder);
        Sessions = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(builder.ConnectionString) { Pooling = false });
    }

    /// <summary>Unpooled connections: closing one ends its session and every session lock it took.</summary>
    public NpgsqlDataSource Sessions { get; }

    public NpgsqlConnection GetOrCreateConnection() => _pool.CreateConnection();

    /// <summary>
    /// Creates or upgrades Hangfire's schema with Hangfire.PostgreSql's own installer, once at a time across
    /// instances. Runs at start-up after the catalog's migrations, so a database that is down stops the start
    /// there; the storage itself is told not to install (it would retry for half a minute, then go on without).
    /// </summary>
    public async Task InstallSchemaAsync(string schema, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await Sessions.OpenConnectionAsync(cancellationToken);
            await using (var command = new NpgsqlCommand("SELECT pg_advisory_lock(@key);", connection))
            {
                command.Parameters.AddWithValue("key", SchemaLockKey);
                await command.ExecuteNonQueryAsync(cancellationToken);
            }

            // Hangfire.PostgreSql's installer is synchronous; it runs once per start.
            PostgreSqlObjectsInstaller.Install(connection, schema);
        }
        catch (Exception ex) when (IsUnavailable(ex) && !cancellationToken.IsCancellationRequested)
        {
            throw new CatalogUnavailableException("The PostgreSQL database did not take Hangfire's schema.", ex);
        }
    }

    /// <summary>Database failures, as the catalog counts them (Hangfire's lock timeouts included).</summary>
    public static bool IsUnavailable(Exception ex) =>
        ex is NpgsqlException or SocketException or TimeoutException or IOException or PostgreSqlDistributedLockException or Hangfire.Storage.DistributedLockTimeoutException;

    public async ValueTask DisposeAsync()
    {
        await _pool.DisposeAsync();
        await Sessions.DisposeAsync();
    }
}
