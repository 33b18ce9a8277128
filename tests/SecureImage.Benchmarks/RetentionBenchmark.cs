using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using SecureImage.Core.Blobs;
using SecureImage.Core.Catalog;
using SecureImage.Core.Retention;
using SecureImage.Storage.AzureBlob;
using SecureImage.Storage.Sqlite;

namespace SecureImage.Benchmarks;

/// <summary>
/// `retention --blobs N --rows M [--catalog sqlite]`: erase rate of the retention sweep end to end
/// (catalog claim + blob delete + batch erase) over N expired images with blobs in Azurite, next to raw
/// Azurite DELETE of N blobs through the same client at the same parallelism, in the same run; then the
/// catalog-only erase rate over M expired rows. Needs SECUREIMAGE_TEST_AZURITE (see infra/local/bench-retention.sh).
/// </summary>
internal static class RetentionBenchmark
{
    private const int Parallelism = 16;

    public static async Task<int> RunAsync(string[] args)
    {
        var blobs = Argument(args, "--blobs", 10_000);
        var rows = Argument(args, "--rows", 100_000);
        var postgres = args.Contains("--postgres");
        var azurite = Environment.GetEnvironmentVariable("SECUREIMAGE_TEST_AZURITE") ?? throw new InvalidOperationException("Set SECUREIMAGE_TEST_AZURITE (run through infra/local/bench-retention.sh).");
        var folder = Directory.CreateTempSubdirectory("secureimage-bench-").FullName;
        try
        {
            // Raw peer: DELETE of N blobs, same client, same parallelism.
            var rawStore = await NewStoreAsync(azurite);
            var rawNames = await SeedBlobsAsync(rawStore, blobs);
            var raw = Stopwatch.StartNew();
            await Parallel.ForEachAsync(rawNames, new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, async (name, token) => await rawStore.DeleteIfExistsAsync(name, token));
            raw.Stop();

            // Service: N expired images with blobs, erased by the sweeper.
            var serviceStore = await NewStoreAsync(azurite);
            var now = DateTimeOffset.UtcNow;
            var catalog = postgres
                ? await BenchmarkCatalogs.PostgresAsync(await SeedBlobsAsync(serviceStore, blobs), now)
                : await BenchmarkCatalogs.SqliteAsync(Path.Combine(folder, "with-blobs.db"), await SeedBlobsAsync(serviceStore, blobs), now);
            var sweep = Stopwatch.StartNew();
            var erased = await SweepAllAsync(catalog, serviceStore, now);
            sweep.Stop();

            // Catalog only: M expired rows, blob deletes answered at once.
            var rowNames = Enumerable.Range(0, rows).Select(i => $"r{i:x8}").ToArray();
            var rowsCatalog = postgres
                ? await BenchmarkCatalogs.PostgresAsync(rowNames, now)
                : await BenchmarkCatalogs.SqliteAsync(Path.Combine(folder, "rows-only.db"), rowNames, now);
            var catalogOnly = Stopwatch.StartNew();
            var rowsErased = await SweepAllAsync(rowsCatalog, new NoBlobStore(), now);
            catalogOnly.Stop();

            var rawRate = blobs / raw.Elapsed.TotalSeconds;
            var sweepRate = erased / sweep.Elapsed.TotalSeconds;
            var rowRate = rowsErased / catalogOnly.Elapsed.TotalSeconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"raw Azurite DELETE      {blobs,8} blobs  {raw.Elapsed.TotalSeconds,8:F2} s  {rawRate,10:F0} /s"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"service sweep ({(postgres ? "pg" : "sqlite"),-6}) {erased,8} images {sweep.Elapsed.TotalSeconds,8:F2} s  {sweepRate,10:F0} /s"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ratio service/raw       {sweepRate / rawRate,8:F2}   (goal >= 0.80)"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"catalog-only erase      {rowsErased,8} rows   {catalogOnly.Elapsed.TotalSeconds,8:F2} s  {rowRate,10:F0} /s   (goal > 50000 /s)"));
            return erased == blobs && rowsErased == rows ? 0 : 1;
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task<int> SweepAllAsync(IRetentionCatalog catalog, IBlobStore store, DateTimeOffset now)
    {
        var sweeper = new RetentionSweeper(catalog, store, new FixedClock(now), new RetentionSweepOptions { BatchSize = 1000, MaxBatchesPerRun = int.MaxValue, BlobDeleteParallelism = Parallelism });
        return (await sweeper.SweepAsync(CancellationToken.None)).Erased;
    }

    private static async Task<AzureBlobStore> NewStoreAsync(string connectionString)
    {
        var store = new AzureBlobStore(new AzureBlobStoreOptions { ConnectionString = connectionString, ContainerName = "bench" + Guid.NewGuid().ToString("N")[..12] });
        await store.CreateIfNotExistsAsync(CancellationToken.None);
        return store;
    }

    private static async Task<string[]> SeedBlobsAsync(IBlobStore store, int count)
    {
        var names = Enumerable.Range(0, count).Select(_ => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))).ToArray();
        var body = RandomNumberGenerator.GetBytes(1024);
        await Parallel.ForEachAsync(names, new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, async (name, token) => await store.UploadAsync(name, new MemoryStream(body), token));
        return names;
    }

    private static int Argument(string[] args, string name, int fallback)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? int.Parse(args[index + 1], CultureInfo.InvariantCulture) : fallback;
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    private sealed class NoBlobStore : IBlobStore
    {
        public Task CreateIfNotExistsAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task UploadAsync(string blobName, Stream content, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task<Stream> DownloadStreamingAsync(string blobName, CancellationToken cancellationToken) => throw new BlobNotFoundException();

        public Task<bool> DeleteIfExistsAsync(string blobName, CancellationToken cancellationToken) => Task.FromResult(false);

        public async IAsyncEnumerable<BlobItem> GetBlobsAsync(string? prefix, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.CompletedTask;
            yield break;
        }

        public Task CheckAvailableAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
