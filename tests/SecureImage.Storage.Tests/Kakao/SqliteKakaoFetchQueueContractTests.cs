using Microsoft.Data.Sqlite;
using SecureImage.Core.Catalog;
using SecureImage.Core.Kakao;
using SecureImage.Storage.Sqlite;

namespace SecureImage.Storage.Tests.Kakao;

/// <summary>The Kakao fetch queue contract on SQLite, each test on its own database file.</summary>
public sealed class SqliteKakaoFetchQueueContractTests : KakaoFetchQueueContractTests, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("secureimage-kakao-queue-").FullName;

    private string ConnectionString => $"Data Source={Path.Combine(_directory, "catalog.db")}";

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    protected override async Task<(IImageCatalog Catalog, IKakaoFetchQueue Queue)> CreateMigratedQueueAsync()
    {
        var options = new SqliteCatalogOptions { ConnectionString = ConnectionString };
        var catalog = new SqliteImageCatalog(options);
        await catalog.MigrateAsync(CancellationToken.None);
        return (catalog, new SqliteKakaoFetchQueue(options));
    }

    protected override async Task<long> ScalarAsync(string sql)
    {
        await using var connection = new SqliteConnection($"{ConnectionString};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync() is long value ? value : 0;
    }
}
