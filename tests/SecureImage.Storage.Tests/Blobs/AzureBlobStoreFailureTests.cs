using System.Diagnostics;
using System.Diagnostics.Tracing;
using System.Net;
using System.Net.Sockets;
using Azure.Core;
using Azure.Core.Diagnostics;
using Azure.Core.Pipeline;
using SecureImage.Core.Blobs;
using SecureImage.Storage.AzureBlob;

namespace SecureImage.Storage.Tests.Blobs;

[Collection(BlobStoreCollection.Name)]
public sealed class AzureBlobStoreFailureTests
{
    [Fact]
    public async Task A_store_pointed_at_a_closed_port_throws_BlobStoreUnavailableException_after_bounded_retries()
    {
        var port = ClosedLoopbackPort();
        var counter = new AttemptCounter();
        var clientOptions = AzuriteStores.FastRetries(new AzureBlobClientOptions());
        clientOptions.AddPolicy(counter, HttpPipelinePosition.PerRetry);
        var store = new AzureBlobStore(new AzureBlobStoreOptions
        {
            ContainerName = "images",
            ConnectionString = $"AccountName={StorageConnectionString.DevelopmentAccountName};AccountKey={StorageConnectionString.DevelopmentAccountKey};BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1",
            ClientOptions = clientOptions,
        });
        var stopwatch = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<BlobStoreUnavailableException>(
            () => store.UploadAsync("x/closed", new PatternStream(10, seed: 1), TestTimeout.OneMinute));

        Assert.Equal("ServiceUnreachable", error.ErrorCode);
        Assert.Null(error.Status);
        Assert.Equal(1 + clientOptions.Retry.MaxRetries, counter.Attempts);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(30), $"Failing took {stopwatch.Elapsed}.");
        await Assert.ThrowsAsync<BlobStoreUnavailableException>(() => store.DownloadStreamingAsync("x/closed", TestTimeout.OneMinute));
        await Assert.ThrowsAsync<BlobStoreUnavailableException>(() => store.CheckAvailableAsync(TestTimeout.OneMinute));
    }

    [Fact]
    public async Task A_wrong_account_key_is_refused_with_status_403_and_the_storage_error_code()
    {
        var options = AzuriteStores.SharedKeyOptions(AzuriteStores.NewContainerName());
        options.ConnectionString = options.ConnectionString!.Replace(
            StorageConnectionString.DevelopmentAccountKey,
            Convert.ToBase64String(new byte[64]),
            StringComparison.Ordinal);
        var store = new AzureBlobStore(options);

        var error = await Assert.ThrowsAsync<BlobStoreUnavailableException>(() => store.CreateIfNotExistsAsync(TestTimeout.OneMinute));

        Assert.Equal(403, error.Status);
        Assert.False(string.IsNullOrEmpty(error.ErrorCode));
        Assert.Contains("refused the credentials", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Checking_a_container_that_does_not_exist_reports_the_store_unavailable_with_ContainerNotFound()
    {
        var store = new AzureBlobStore(AzuriteStores.SharedKeyOptions(AzuriteStores.NewContainerName()));

        var error = await Assert.ThrowsAsync<BlobStoreUnavailableException>(() => store.CheckAvailableAsync(TestTimeout.OneMinute));

        Assert.Equal(404, error.Status);
        Assert.Equal("ContainerNotFound", error.ErrorCode);
    }

    [Fact]
    public async Task Pipeline_logs_never_contain_the_Authorization_header_the_account_key_or_a_bearer_token_even_if_allow_listed()
    {
        var lines = new List<string>();
        using var listener = new AzureEventSourceListener(
            (_, message) =>
            {
                lock (lines)
                {
                    lines.Add(message);
                }
            },
            EventLevel.Verbose);
        var sharedKey = AzuriteStores.SharedKeyOptions(AzuriteStores.NewContainerName(), singlePutThresholdBytes: 100, blockSizeBytes: 64);
        // A careless caller widens the allow lists; the store must strip the secret-bearing names again.
        sharedKey.ClientOptions.Diagnostics.LoggedHeaderNames.Add("Authorization");
        sharedKey.ClientOptions.Diagnostics.LoggedQueryParameters.Add("sig");
        var token = AzuriteTokenCredential.Valid();
        var oauth = AzuriteStores.OAuthOptions(AzuriteStores.NewContainerName(), token);
        oauth.ClientOptions.Diagnostics.LoggedHeaderNames.Add("authorization");

        foreach (var store in new[] { new AzureBlobStore(sharedKey), new AzureBlobStore(oauth) })
        {
            await store.CreateIfNotExistsAsync(TestTimeout.OneMinute);
            await store.UploadAsync("l/blocks", new PatternStream(300, seed: 2), TestTimeout.OneMinute);
            await foreach (var _ in store.GetBlobsAsync("l/", TestTimeout.OneMinute))
            {
            }

            Assert.False(await store.DeleteIfExistsAsync("l/missing", TestTimeout.OneMinute));
        }

        string all;
        lock (lines)
        {
            all = string.Join("\n", lines);
        }

        Assert.Contains("x-ms-request-id", all, StringComparison.OrdinalIgnoreCase); // logging did happen
        Assert.Contains("REDACTED", all, StringComparison.Ordinal);
        Assert.DoesNotContain("SharedKey ", all, StringComparison.Ordinal);
        Assert.DoesNotContain("Bearer ", all, StringComparison.Ordinal);
        Assert.DoesNotContain(StorageConnectionString.DevelopmentAccountKey, all, StringComparison.Ordinal);
        Assert.DoesNotContain("blockid=MDAw", all, StringComparison.Ordinal);
    }

    private static int ClosedLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private sealed class AttemptCounter : HttpPipelineSynchronousPolicy
    {
        private int _attempts;

        public int Attempts => Volatile.Read(ref _attempts);

        public override void OnSendingRequest(HttpMessage message) => Interlocked.Increment(ref _attempts);
    }
}
