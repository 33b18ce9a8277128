using SecureImage.Core.Catalog;
using SecureImage.Core.Crypto;
using SecureImage.Core.Imaging;
using SecureImage.Core.Ingestion;
using SecureImage.Core.Tests.TestSupport;
using SecureImage.Storage.Sqlite;

namespace SecureImage.Core.Tests.Previews;

/// <summary>A real SQLite catalog with one consent, blobs in memory, and images ingested as uploads are.</summary>
public abstract class PreviewCatalogTest : IAsyncLifetime, IDisposable
{
    protected static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeMilliseconds(1_760_000_000_000);
    private readonly TemporaryDirectory _directory = new();
    private readonly ConsentRecord _consent = new(Guid.NewGuid(), "bot-a", new string('5', 64), "image-transfer", "2025-01", ConsentSources.Api, Now.AddMinutes(-5), WithdrawnAt: null);

    protected PreviewCatalogTest() =>
        Catalog = new SqliteImageCatalog(new SqliteCatalogOptions { ConnectionString = $"Data Source={_directory.File("catalog.db")}" });

    internal InMemoryBlobStore Blobs { get; } = new();

    internal LocalKeyEncryptionKey Kek { get; } = new(TestKeys.Ring("kek-1"));

    internal SqliteImageCatalog Catalog { get; }

    public async Task InitializeAsync()
    {
        await Catalog.MigrateAsync(CancellationToken.None);
        await Catalog.AddConsentAsync(_consent, CancellationToken.None);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose()
    {
        _directory.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Stores <paramref name="input"/> as an upload at <paramref name="at"/> (default <see cref="Now"/>) would.</summary>
    internal async Task<ImageRecord> IngestAsync(byte[] input, DateTimeOffset? at = null)
    {
        var ingestion = new ImageIngestion(new ContainerImageSanitizer(), Blobs, Kek, Catalog, new FakeTimeProvider(at ?? Now), new ImageIngestionOptions());
        var stored = await ingestion.StoreAsync(new MemoryStream(input), CancellationToken.None);
        return await ingestion.CommitAsync(stored, _consent, CancellationToken.None);
    }
}
