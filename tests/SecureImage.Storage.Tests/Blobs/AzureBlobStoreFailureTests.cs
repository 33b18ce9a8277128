using System.Net;
using System.Net.Sockets;
using Azure.Core;
using Azure.Core.Pipeline;
using SecureImage.Core.Blobs;
using SecureImage.Storage.AzureBlob;

namespace SecureImage.Storage.Tests.Blobs;

[Collection(BlobStoreCollection.Name)]
public sealed class AzureBlobStoreFailureTests
{
    [Fact]
    public async Task A_store_pointed_at_a_closed_port_throws_BlobStoreUnavailableException_after_the_configured_retries()
    {
        var port = ClosedLoopbackPort();
        var counter = new AttemptCounter();
        var options = AzuriteStores.FastRetries(new AzureBlobStoreOptions
        {
            ContainerName = "images",
            ConnectionString = $"AccountName={AzuriteStores.DevelopmentAccountName};AccountKey={AzuriteStores.DevelopmentAccountKey};BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1",
        });
        options.MaxRetries = 3;
        options.Policies.Add((counter, HttpPipelinePosition.PerRetry));
        var store = new AzureBlobStore(options);

        var error = await Assert.ThrowsAsync<BlobStoreUnavailableException>(
            () => store.UploadAsync("x/closed", new PatternStream(10, seed: 1), TestTimeout.OneMinute));

        Assert.Equal("ServiceUnreachable", error.ErrorCode);
        Assert.Null(error.Status);
        Assert.Equal(1 + 3, counter.Attempts);
        await Assert.ThrowsAsync<BlobStoreUnavailableException>(() => store.DownloadStreamingAsync("x/closed", TestTimeout.OneMinute));
        await Assert.ThrowsAsync<BlobStoreUnavailableException>(() => store.CheckAvailableAsync(TestTimeout.OneMinute));
        await Assert.ThrowsAsync<BlobStoreUnavailableException>(() => store.DeleteIfExistsAsync("x/closed", TestTimeout.OneMinute));
        await Assert.ThrowsAsync<BlobStoreUnavailableException>(async () =>
        {
            await foreach (var _ in store.GetBlobsAsync(null, TestTimeout.OneMinute))
            {
            }
        });
    }

    [Fact]
    public async Task A_service_that_accepts_connections_but_never_answers_is_a_Timeout_after_the_configured_network_timeout_and_retries()
    {
        // Accepts every connection and keeps it open without a byte of answer.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var held = new List<TcpClient>();
        var accepting = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    held.Add(await silent.AcceptTcpClientAsync());
                }
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                // The listener was stopped.
            }
        });
        var counter = new AttemptCounter();
        var options = AzuriteStores.FastRetries(new AzureBlobStoreOptions
        {
            ContainerName = "images",
            ConnectionString = $"AccountName={AzuriteStores.DevelopmentAccountName};AccountKey={AzuriteStores.DevelopmentAccountKey};BlobEndpoint=http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}/devstoreaccount1",
        });
        options.MaxRetries = 1;
        options.NetworkTimeout = TimeSpan.FromMilliseconds(300);
        options.Policies.Add((counter, HttpPipelinePosition.PerRetry));
        var store = new AzureBlobStore(options);
        var started = System.Diagnostics.Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<BlobStoreUnavailableException>(() => store.CheckAvailableAsync(TestTimeout.OneMinute));

        started.Stop();
        Assert.Equal("Timeout", error.ErrorCode);
        Assert.Null(error.Status);
        Assert.Equal(1 + 1, counter.Attempts);
        Assert.InRange(started.Elapsed, TimeSpan.FromMilliseconds(2 * 300), TimeSpan.FromSeconds(20));
        silent.Stop();
        await accepting;
        held.ForEach(client => client.Dispose());
    }

    [Fact]
    public async Task Every_request_names_the_pinned_service_version_and_none_waits_for_100_continue()
    {
        var versions = new VersionLog();
        var options = AzuriteStores.SharedKeyOptions(AzuriteStores.NewContainerName(), singlePutThresholdBytes: 100, blockSizeBytes: 64, listPageSize: 1);
        options.Policies.Add((versions, HttpPipelinePosition.BeforeTransport));
        var store = new AzureBlobStore(options);

        await store.CreateIfNotExistsAsync(TestTimeout.OneMinute);
        await store.UploadAsync("v/one", new PatternStream(50, seed: 1), TestTimeout.OneMinute);
        await store.UploadAsync("v/two", new PatternStream(300, seed: 2), TestTimeout.OneMinute);
        await (await store.DownloadStreamingAsync("v/two", TestTimeout.OneMinute)).DisposeAsync();
        await foreach (var _ in store.GetBlobsAsync("v/", TestTimeout.OneMinute))
        {
        }

        Assert.True(await store.DeleteIfExistsAsync("v/one", TestTimeout.OneMinute));
        await store.CheckAvailableAsync(TestTimeout.OneMinute);

        // Create, Put Blob, 5 x Put Block + Put Block List, Get Blob, 2 List pages (+1 empty), Delete, Get Properties.
        Assert.True(versions.Values.Count >= 12, $"{versions.Values.Count} requests");
        Assert.All(versions.Values, v => Assert.Equal("2026-06-06", v));

        // The SDK's Request100Continue mode Auto: the header only for a minute after a 429, 500 or 503, so a healthy
        // store gets every body at once, with no round trip spent waiting for "100 Continue".
        Assert.Equal(0, versions.ExpectContinue);
    }

    [Fact]
    public async Task A_wrong_account_key_is_refused_with_status_403_and_the_storage_error_code_without_retrying()
    {
        var counter = new AttemptCounter();
        var options = AzuriteStores.SharedKeyOptions(AzuriteStores.NewContainerName());
        options.ConnectionString = options.ConnectionString!.Replace(AzuriteStores.DevelopmentAccountKey, Convert.ToBase64String(new byte[64]), StringComparison.Ordinal);
        options.Policies.Add((counter, HttpPipelinePosition.PerRetry));
        var store = new AzureBlobStore(options);

        var error = await Assert.ThrowsAsync<BlobStoreUnavailableException>(() => store.CreateIfNotExistsAsync(TestTimeout.OneMinute));

        Assert.Equal(403, error.Status);
        Assert.Equal("AuthorizationFailure", error.ErrorCode);
        Assert.Contains("refused the credentials", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, counter.Attempts);
    }

    [Fact]
    public async Task A_container_that_does_not_exist_fails_the_check_and_uploads_with_ContainerNotFound_but_reads_as_no_blob()
    {
        var store = new AzureBlobStore(AzuriteStores.SharedKeyOptions(AzuriteStores.NewContainerName()));

        var check = await Assert.ThrowsAsync<BlobStoreUnavailableException>(() => store.CheckAvailableAsync(TestTimeout.OneMinute));
        var upload = await Assert.ThrowsAsync<BlobStoreUnavailableException>(() => store.UploadAsync("m/one", new PatternStream(10, seed: 1), TestTimeout.OneMinute));

        Assert.Equal((404, "ContainerNotFound"), (check.Status, check.ErrorCode));
        Assert.Equal((404, "ContainerNotFound"), (upload.Status, upload.ErrorCode));
        await Assert.ThrowsAsync<BlobNotFoundException>(() => store.DownloadStreamingAsync("m/one", TestTimeout.OneMinute));
        Assert.False(await store.DeleteIfExistsAsync("m/one", TestTimeout.OneMinute));
    }

    [Fact]
    public async Task A_caller_that_cancels_an_upload_gets_OperationCanceledException_not_an_outage()
    {
        var store = await NewStoreAsync();
        using var cancel = new CancellationTokenSource();

        // Cancelled while the body is being read, between two blocks.
        var body = new CancellingStream(new PatternStream(3 * 1024 * 1024, seed: 4), cancelAfterBytes: 2 * 1024 * 1024 + 1, cancel);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.UploadAsync("c/upload", body, cancel.Token));
        await Assert.ThrowsAsync<BlobNotFoundException>(() => store.DownloadStreamingAsync("c/upload", TestTimeout.OneMinute));
    }

    [Fact]
    public async Task A_caller_that_cancels_while_reading_a_download_gets_OperationCanceledException_not_an_outage()
    {
        var store = await NewStoreAsync();
        await store.UploadAsync("c/download", new PatternStream(8 * 1024 * 1024, seed: 5), TestTimeout.OneMinute);
        using var cancel = new CancellationTokenSource();
        await using var download = await store.DownloadStreamingAsync("c/download", cancel.Token);
        var buffer = new byte[64 * 1024];
        Assert.True(await download.ReadAsync(buffer, cancel.Token) > 0);

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            while (await download.ReadAsync(buffer, cancel.Token) > 0)
            {
            }
        });
    }

    [Fact]
    public async Task A_caller_that_cancels_before_a_download_or_a_listing_answers_gets_OperationCanceledException_not_an_outage()
    {
        var store = await NewStoreAsync();
        using var cancel = new CancellationTokenSource();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.DownloadStreamingAsync("c/none", cancel.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.CheckAvailableAsync(cancel.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.DeleteIfExistsAsync("c/none", cancel.Token));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in store.GetBlobsAsync(null, cancel.Token))
            {
            }
        });
    }

    [Fact]
    public async Task Downloads_given_up_half_read_or_not_found_give_their_connection_back()
    {
        // Two connections in all: a download that kept its connection would block every later request.
        var options = AzuriteStores.SharedKeyOptions(AzuriteStores.NewContainerName());
        options.Transport = new HttpClientTransport(new SocketsHttpHandler { MaxConnectionsPerServer = 2 });
        var store = new AzureBlobStore(options);
        await store.CreateIfNotExistsAsync(TestTimeout.OneMinute);
        await store.UploadAsync("p/big", new PatternStream(4 * 1024 * 1024, seed: 6), TestTimeout.OneMinute);

        for (var i = 0; i < 8; i++)
        {
            await using (var download = await store.DownloadStreamingAsync("p/big", TestTimeout.OneMinute))
            {
                Assert.True(await download.ReadAsync(new byte[1000], TestTimeout.OneMinute) > 0);
            }

            await (await store.DownloadStreamingAsync("p/big", TestTimeout.OneMinute)).DisposeAsync();
            await Assert.ThrowsAsync<BlobNotFoundException>(() => store.DownloadStreamingAsync("p/missing", TestTimeout.OneMinute));
        }

        await using var last = await store.DownloadStreamingAsync("p/big", TestTimeout.OneMinute);
        await PatternStream.AssertMatchesAsync(last, 4 * 1024 * 1024, seed: 6);
    }

    private static async Task<AzureBlobStore> NewStoreAsync()
    {
        var store = new AzureBlobStore(AzuriteStores.SharedKeyOptions(AzuriteStores.NewContainerName()));
        await store.CreateIfNotExistsAsync(TestTimeout.OneMinute);
        return store;
    }

    private static int ClosedLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>The x-ms-version header of every request as sent (a missing one is recorded as "none").</summary>
    private sealed class VersionLog : HttpPipelineSynchronousPolicy
    {
        public System.Collections.Concurrent.ConcurrentQueue<string> Values { get; } = new();

        private int _expectContinue;

        public int ExpectContinue => Volatile.Read(ref _expectContinue);

        public override void OnSendingRequest(HttpMessage message)
        {
            Values.Enqueue(message.Request.Headers.TryGetValue("x-ms-version", out var version) ? version : "none");
            if (message.Request.Headers.TryGetValue("Expect", out _))
            {
                Interlocked.Increment(ref _expectContinue);
            }
        }
    }

    internal sealed class AttemptCounter : HttpPipelineSynchronousPolicy
    {
        private int _attempts;

        public int Attempts => Volatile.Read(ref _attempts);

        public override void OnSendingRequest(HttpMessage message) => Interlocked.Increment(ref _attempts);
    }

    /// <summary>Passes the inner stream through and cancels the caller's token once so many bytes were read.</summary>
    private sealed class CancellingStream(Stream inner, long cancelAfterBytes, CancellationTokenSource cancel) : ForwardOnlyReadStream
    {
        private long _read;

        public override int Read(byte[] buffer, int offset, int count) => Counted(inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Counted(await inner.ReadAsync(buffer, cancellationToken));

        private int Counted(int read)
        {
            _read += read;
            if (_read >= cancelAfterBytes)
            {
                cancel.Cancel();
            }

            return read;
        }
    }
}
