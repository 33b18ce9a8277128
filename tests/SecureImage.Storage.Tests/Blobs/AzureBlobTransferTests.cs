using System.Collections.Concurrent;
using Azure.Core;
using Azure.Core.Pipeline;
using SecureImage.Storage.AzureBlob;

namespace SecureImage.Storage.Tests.Blobs;

/// <summary>The requests an upload makes at the default transfer and block sizes: what bounds memory per upload.</summary>
[Collection(BlobStoreCollection.Name)]
public sealed class AzureBlobTransferTests
{
    private const int Size = AzureBlobStoreOptions.DefaultTransferSizeBytes;
    private const int Block = AzureBlobStoreOptions.DefaultBlockSizeBytes;

    public static TheoryData<long, string[]> Uploads => new()
    {
        { 0, [$"PUT blob 0"] },
        { Size - 1, [$"PUT blob {Size - 1}"] },
        { Size, [$"PUT block {Block}", $"PUT block {Block}", "PUT blocklist"] },
        { Size + 1, [$"PUT block {Block}", $"PUT block {Block}", "PUT block 1", "PUT blocklist"] },
        { (8L * Size) + 5, [.. Enumerable.Repeat($"PUT block {Block}", 16), "PUT block 5", "PUT blocklist"] },
    };

    /// <summary>Declared length, then the real one: a declaration is a hint, the content decides.</summary>
    public static TheoryData<long, long, string[]> DeclaredUploads => new()
    {
        { 16L * 1024 * 1024, (3L * Block) + 7, [$"PUT block {Block}", $"PUT block {Block}", $"PUT block {Block}", "PUT block 7", "PUT blocklist"] },
        { Size, 100, ["PUT block 100", "PUT blocklist"] },
        { Size, 0, ["PUT blocklist"] },

        // Declared short: the head is read as for an undeclared length.
        { Size - 1, Size - 1, [$"PUT blob {Size - 1}"] },
        { 1000, Size + 1, [$"PUT block {Block}", $"PUT block {Block}", "PUT block 1", "PUT blocklist"] },
    };

    [Theory]
    [MemberData(nameof(Uploads))]
    public async Task Bodies_shorter_than_the_transfer_size_take_one_Put_Blob_and_longer_ones_blocks_of_the_block_size(long length, string[] expected)
    {
        var (store, logged, requests) = await StoresAsync();

        await logged.UploadAsync("t/one", new PatternStream(length, seed: 9), TestTimeout.OneMinute);

        Assert.Equal(expected, requests.Lines);
        await using var download = await store.DownloadStreamingAsync("t/one", TestTimeout.OneMinute);
        await PatternStream.AssertMatchesAsync(download, length, seed: 9);
    }

    [Theory]
    [MemberData(nameof(DeclaredUploads))]
    public async Task An_upload_declared_longer_than_the_transfer_size_goes_up_in_blocks_without_first_reading_a_head(long declared, long length, string[] expected)
    {
        var (store, logged, requests) = await StoresAsync();

        await logged.UploadAsync("t/one", new PatternStream(length, seed: 4), declared, TestTimeout.OneMinute);

        Assert.Equal(expected, requests.Lines);
        await using var download = await store.DownloadStreamingAsync("t/one", TestTimeout.OneMinute);
        await PatternStream.AssertMatchesAsync(download, length, seed: 4);
    }

    private static async Task<(AzureBlobStore Store, AzureBlobStore Logged, RequestLog Requests)> StoresAsync()
    {
        var requests = new RequestLog();
        var options = AzuriteStores.SharedKeyOptions(AzuriteStores.NewContainerName());
        var store = new AzureBlobStore(options);
        await store.CreateIfNotExistsAsync(TestTimeout.OneMinute);
        options.Policies.Add((requests, HttpPipelinePosition.BeforeTransport));
        return (store, new AzureBlobStore(options), requests);
    }

    /// <summary>Method, kind (blob, block, blocklist) and body length of every request, in order.</summary>
    private sealed class RequestLog : HttpPipelineSynchronousPolicy
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public string[] Lines => [.. _lines];

        public override void OnSendingRequest(HttpMessage message)
        {
            var request = message.Request;
            var query = request.Uri.Query;
            var kind = query.Contains("comp=blocklist", StringComparison.Ordinal) ? "blocklist" : query.Contains("comp=block", StringComparison.Ordinal) ? "block" : "blob";
            var length = kind == "blocklist" ? "" : request.Content is not null && request.Content.TryComputeLength(out var bytes) ? $" {bytes}" : " ?";
            _lines.Enqueue($"{request.Method} {kind}{length}");
        }
    }
}
