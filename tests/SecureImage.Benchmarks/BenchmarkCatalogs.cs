using Microsoft.Data.Sqlite;
using Npgsql;
using SecureImage.Core.Retention;
using SecureImage.Storage.Postgres;
using SecureImage.Storage.Sqlite;

namespace SecureImage.Benchmarks;

/// <summary>Catalogs filled with expired rows straight through SQL: seeding is not what is measured.</summary>
internal static class BenchmarkCatalogs
{
    public static async Task<IRetentionCatalog> SqliteAsync(string path, string[] blobNames, DateTimeOffset now)
    {
        var catalog = new SqliteImageCatalog(new SqliteCatalogOptions { ConnectionString = $"Data Source={path}" });
        await catalog.MigrateAsync(CancellationToken.None);
        await using var connection = new SqliteConnection($"Data Source={path}");
        await connection.OpenAsync();
        await using var transaction = connection.BeginTransaction();
        var consent = Guid.NewGuid().ToString();
        await using (var insertConsent = connection.CreateCommand())
        {
            insertConsent.Transaction = transaction;
            insertConsent.CommandText = "INSERT INTO consents VALUES ($id, 'bench', 'h', 'p', 'v', 'api', 0, NULL);";
            insertConsent.Parameters.AddWithValue("$id", consent);
            await insertConsent.ExecuteNonQueryAsync();
        }

        await using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = """
            INSERT INTO images (id, bot_id, subject_hash, consent_id, content_type, bytes, width, height, blob_name, key_id, wrapped_key, created_at, expires_at, state)
            VALUES ($id, 'bench', 'h', $consent, 'image/jpeg', 1024, 1, 1, $blob, 'k', $key, $created, $expires, 'active');
            """;
        var id = insert.Parameters.Add("$id", SqliteType.Text);
        var blob = insert.Parameters.Add("$blob", SqliteType.Text);
        var expires = insert.Parameters.Add("$expires", SqliteType.Integer);
        insert.Parameters.AddWithValue("$consent", consent);
        insert.Parameters.AddWithValue("$key", new byte[61]);
        insert.Parameters.AddWithValue("$created", now.AddDays(-3).ToUnixTimeMilliseconds());
        for (var i = 0; i < blobNames.Length; i++)
        {
            id.Value = Guid.NewGuid().ToString();
            blob.Value = blobNames[i];
            expires.Value = now.AddMilliseconds(-1 - i).ToUnixTimeMilliseconds();
            await insert.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
        return catalog;
    }

    /// <summary>A fresh database on the server SECUREIMAGE_TEST_POSTGRES names (left for the server's temp dir to drop).</summary>
    public static async Task<IRetentionCatalog> PostgresAsync(string[] blobNames, DateTimeOffset now)
    {
        var server = Environment.GetEnvironmentVariable("SECUREIMAGE_TEST_POSTGRES") ?? throw new InvalidOperationException("Set SECUREIMAGE_TEST_POSTGRES.");
        var name = $"bench_{Guid.NewGuid():N}";
        await using (var admin = new NpgsqlConnection(server))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {name};", admin);
            await create.ExecuteNonQueryAsync();
        }

        var connectionString = new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString;
        var catalog = new PostgresImageCatalog(new PostgresCatalogOptions { ConnectionString = connectionString });
        await catalog.MigrateAsync(CancellationToken.None);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var consent = Guid.NewGuid();
        await using var seed = new NpgsqlCommand("""
            INSERT INTO consents VALUES (@consent, 'bench', 'h', 'p', 'v', 'api', @now, NULL);
            INSERT INTO images (id, bot_id, subject_hash, consent_id, content_type, bytes, width, height, blob_name, key_id, wrapped_key, created_at, expires_at, state)
            SELECT gen_random_uuid(), 'bench', 'h', @consent, 'image/jpeg', 1024, 1, 1, n, 'k', '\x00'::bytea, @now - interval '3 days',
                   @now - (ordinality * interval '1 millisecond'), 'active'
              FROM unnest(@names) WITH ORDINALITY AS t(n, ordinality);
            """, connection);
        seed.Parameters.AddWithValue("consent", consent);
        seed.Parameters.AddWithValue("now", now);
        seed.Parameters.AddWithValue("names", blobNames);
        await seed.ExecuteNonQueryAsync();
        return catalog;
    }
}
