namespace SecureImage.Api.Tests.TestSupport;

/// <summary>
/// The production backends for one test: a fresh database on a PostgreSQL server and a unique container
/// on an Azurite server (by default the ones with-servers.sh starts), and service instances wired to
/// them that share one set of keys, as several instances behind a load balancer do.
/// </summary>
internal sealed class ProductionBackend : IAsyncDisposable
{
    private readonly Dictionary<string, string?> _keys = SecureImageFactory.NewKeySettings();
    private readonly List<SecureImageFactory> _instances = [];

    private ProductionBackend(PostgresTestDatabase database, string azuriteConnectionString)
    {
        Database = database;
        AzuriteConnectionString = azuriteConnectionString;
    }

    public PostgresTestDatabase Database { get; }

    public string AzuriteConnectionString { get; }

    public string Container { get; } = "e2e" + Guid.NewGuid().ToString("N");

    public static async Task<ProductionBackend> CreateAsync(string? postgresConnectionString = null, string? azuriteConnectionString = null) =>
        new(await PostgresTestDatabase.CreateAsync(postgresConnectionString), azuriteConnectionString ?? TestServers.AzuriteConnectionString);

    /// <summary>A new service instance (its own host, pools and clock) on this database and container.</summary>
    public SecureImageFactory NewInstance(IReadOnlyDictionary<string, string?>? extraSettings = null)
    {
        var settings = new Dictionary<string, string?>(_keys)
        {
            ["SecureImage:Catalog:Provider"] = "Postgres",
            ["SecureImage:Catalog:ConnectionString"] = Database.ConnectionString,
            ["SecureImage:Blobs:Provider"] = "AzureBlob",
            ["SecureImage:Blobs:ConnectionString"] = AzuriteConnectionString,
            ["SecureImage:Blobs:Container"] = Container,
        };
        foreach (var (key, value) in extraSettings ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        var instance = new SecureImageFactory("Testing", settings);
        _instances.Add(instance);
        return instance;
    }

    /// <summary>The blob name the catalog recorded for an image (the service never shows it to clients).</summary>
    public async Task<string> BlobNameOfAsync(Guid imageId) =>
        (string)(await Database.ScalarAsync($"SELECT blob_name FROM images WHERE id = '{imageId}';"))!;

    public async Task<long> CountAsync(string sqlFromWhere) =>
        (long)(await Database.ScalarAsync($"SELECT COUNT(*) {sqlFromWhere};"))!;

    public async ValueTask DisposeAsync()
    {
        foreach (var instance in _instances)
        {
            await instance.DisposeAsync();
        }

        await Database.DisposeAsync();
    }
}
