using SecureImage.Core.Blobs;

namespace SecureImage.Storage.Tests.Blobs;

/// <summary>Runs every blob store test in one non-parallel collection, so memory measurements see only their own test.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class BlobStoreCollection
{
    public const string Name = "Blob stores";
}

/// <summary>What every <see cref="IBlobStore"/> adapter must do, run against each of them.</summary>
public abstract class BlobStoreContractTests
{
    protected const int Threshold = 1024;
    protected const int BlockSize = 256;

    /// <summary>A fresh, empty store (its own container or folder) with the given upload and list sizes.</summary>
    protected abstract IBlobStore CreateStore(int singlePutThresholdBytes, int blockSizeBytes, int listPageSize);

    private static CancellationToken Timeout => TestTimeout.After(TimeSpan.FromMinutes(2));

    private async Task<IBlobStore> NewStoreAsync(int singlePutThresholdBytes = Threshold, int blockSizeBytes = BlockSize, int listPageSize = 5000)
    {
        var store = CreateStore(singlePutThresholdBytes, blockSizeBytes, listPageSize);
        await store.CreateIfNotExistsAsync(Timeout);
        return store;
    }

    private static string NewName(string prefix = "") => prefix + Guid.NewGuid().ToString("N");

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(Threshold - 1)]
    [InlineData(Threshold)]
    [InlineData(Threshold + 1)]
    [InlineData(Threshold + (3 * BlockSize) + 7)]
    [InlineData(8 * BlockSize)]
    public async Task A_blob_of_any_size_around_the_single_put_threshold_reads_back_byte_for_byte(int size)
    {
        var store = await NewStoreAsync();
        var name = NewName("a/");

        await store.UploadAsync(name, new PatternStream(size, seed: size), Timeout);

        await using var download = await store.DownloadStreamingAsync(name, Timeout);
        await PatternStream.AssertMatchesAsync(download, size, seed: size);
    }

    [Fact]
    public async Task A_64_MiB_body_from_a_non_seekable_stream_round_trips_without_memory_growing_with_its_size()
    {
        const long size = 64L * 1024 * 1024 + 12345;
        var store = await NewStoreAsync(singlePutThresholdBytes: 1024 * 1024, blockSizeBytes: 4 * 1024 * 1024);
        var name = NewName();
        // Warm up pools, connections and JIT so the measurement sees only what scales with size.
        await store.UploadAsync(NewName(), new PatternStream(9 * 1024 * 1024, seed: 1), Timeout);

        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        await store.UploadAsync(name, new PatternStream(size, seed: 7), Timeout);
        await using (var download = await store.DownloadStreamingAsync(name, Timeout))
        {
            await PatternStream.AssertMatchesAsync(download, size, seed: 7);
        }

        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        Assert.True(allocated < 16L * 1024 * 1024, $"Uploading and downloading {size} bytes allocated {allocated} bytes: the body was buffered.");
    }

    [Fact]
    public async Task Downloading_a_blob_that_does_not_exist_throws_BlobNotFoundException()
    {
        var store = await NewStoreAsync();

        await Assert.ThrowsAsync<BlobNotFoundException>(() => store.DownloadStreamingAsync(NewName(), Timeout));
    }

    [Fact]
    public async Task Deleting_a_blob_that_does_not_exist_returns_false()
    {
        var store = await NewStoreAsync();

        Assert.False(await store.DeleteIfExistsAsync(NewName(), Timeout));
    }

    [Fact]
    public async Task Deleting_a_blob_returns_true_and_it_can_no_longer_be_read_or_listed()
    {
        var store = await NewStoreAsync();
        var name = NewName("d/");
        await store.UploadAsync(name, new PatternStream(Threshold + 1, seed: 3), Timeout);

        Assert.True(await store.DeleteIfExistsAsync(name, Timeout));

        await Assert.ThrowsAsync<BlobNotFoundException>(() => store.DownloadStreamingAsync(name, Timeout));
        Assert.Empty(await ListAsync(store, "d/"));
        Assert.False(await store.DeleteIfExistsAsync(name, Timeout));
    }

    [Fact]
    public async Task Listing_by_prefix_follows_continuations_and_returns_every_matching_blob_once_with_its_length()
    {
        var store = await NewStoreAsync(listPageSize: 3);
        var expected = new SortedDictionary<string, long>(StringComparer.Ordinal);
        for (var i = 0; i < 7; i++)
        {
            var name = $"in/{i:D2}-{NewName()}";
            expected[name] = i * 100;
            await store.UploadAsync(name, new PatternStream(i * 100, seed: i), Timeout);
        }

        await store.UploadAsync("out/" + NewName(), new PatternStream(10, seed: 0), Timeout);
        var startedAt = DateTimeOffset.UtcNow;

        var listed = await ListAsync(store, "in/");

        Assert.Equal(expected.Keys, listed.Select(b => b.Name).Order(StringComparer.Ordinal));
        Assert.All(listed, b => Assert.Equal(expected[b.Name], b.ContentLength));
        Assert.All(listed, b => Assert.InRange(b.CreatedOn, startedAt.AddMinutes(-5), startedAt.AddMinutes(5)));
        Assert.Equal(8, (await ListAsync(store, null)).Count);
    }

    [Fact]
    public async Task Concurrent_uploads_of_different_blobs_each_read_back_intact()
    {
        var store = await NewStoreAsync();
        var sizes = Enumerable.Range(0, 12).Select(i => (i * 377) % (4 * Threshold)).ToArray();
        var names = sizes.Select(_ => NewName("c/")).ToArray();

        await Task.WhenAll(sizes.Select((size, i) => store.UploadAsync(names[i], new PatternStream(size, seed: i), Timeout)));

        for (var i = 0; i < sizes.Length; i++)
        {
            await using var download = await store.DownloadStreamingAsync(names[i], Timeout);
            await PatternStream.AssertMatchesAsync(download, sizes[i], seed: i);
        }
    }

    [Fact]
    public async Task Creating_the_container_twice_is_not_an_error_and_the_store_then_answers_a_check()
    {
        var store = await NewStoreAsync();

        await store.CreateIfNotExistsAsync(Timeout);
        await store.CheckAvailableAsync(Timeout);
    }

    private static async Task<List<BlobItem>> ListAsync(IBlobStore store, string? prefix)
    {
        var items = new List<BlobItem>();
        await foreach (var item in store.GetBlobsAsync(prefix, Timeout))
        {
            items.Add(item);
        }

        return items;
    }
}
