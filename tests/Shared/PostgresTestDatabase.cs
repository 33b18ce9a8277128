using Npgsql;

namespace SecureImage.Tests.Shared;

/// <summary>
/// A fresh, uniquely named database on the test PostgreSQL (<see cref="TestServers.PostgresConnectionString"/>),
/// dropped again on dispose, so tests never see each other's rows whatever order they run in.
/// </summary>
internal sealed class PostgresTestDatabase : IAsyncDisposable
{
    private readonly string _serverConnectionString;

    private PostgresTestDatabase(string serverConnectionString, string name)
    {
        _serverConnectionString = serverConnectionString;
        Name = name;
        ConnectionString = new NpgsqlConnectionStringBuilder(serverConnectionString) { Database = name }.ConnectionString;
    }

    public string Name { get; }

    /// <summary>Connection string of the new database, with the test server's credentials.</summary>
    public string ConnectionString { get; }

    /// <summary>Creates a database on the server that <paramref name="serverConnectionString"/> (default: the test server) names.</summary>
    public static async Task<PostgresTestDatabase> CreateAsync(string? serverConnectionString = null)
    {
        var database = new PostgresTestDatabase(serverConnectionString ?? TestServers.PostgresConnectionString, $"t_{Guid.NewGuid():N}");
        await database.ExecuteOnServerAsync($"CREATE DATABASE {database.Name};");
        return database;
    }

    /// <summary>Runs one statement in this database on a connection of its own (outside any catalog's pool).</summary>
    public async Task<object?> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(ConnectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync(TestTimeout.OneMinute);
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync(TestTimeout.OneMinute);
    }

    public async ValueTask DisposeAsync()
    {
        // FORCE: a host under test may still hold pooled connections to it.
        await ExecuteOnServerAsync($"DROP DATABASE IF EXISTS {Name} WITH (FORCE);");
    }

    private async Task ExecuteOnServerAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(_serverConnectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync(TestTimeout.OneMinute);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(TestTimeout.OneMinute);
    }
}
