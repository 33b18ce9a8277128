using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using SecureImage.Core.Blobs;

namespace SecureImage.Core.Tests.TestSupport;

/// <summary>
/// Blobs in a dictionary. It models the least forgiving store: an upload that fails part-way keeps
/// what arrived, so only the caller's clean-up removes it. With <see cref="FailAfterBytes"/> set it
/// fails mid-upload like an outage.
/// </summary>
internal sealed class InMemoryBlobStore : IBlobStore
{
    private readonly ConcurrentDictionary<string, byte[]> _blobs = new(StringComparer.Ordinal);

    /// <summary>Throw <see cref="BlobStoreUnavailableException"/> once an upload has received more than this many bytes.</summary>
    public long? FailAfterBytes { get; init; }

    public IReadOnlyDictionary<string, byte[]> Blobs => _blobs;

    /// <summary>Every name an upload was started for, in order.</summary>
    public ConcurrentQueue<string> UploadsStarted { get; } = new();

    /// <summary>The length each upload was declared with (null: none), in order.</summary>
    public ConcurrentQueue<long?> DeclaredLengths { get; } = new();

    public Task CreateIfNotExistsAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task UploadAsync(string blobName, Stream content, long? expectedLength, CancellationToken cancellationToken)
    {
        DeclaredLengths.Enqueue(expectedLength);
        return ReceiveAsync(blobName, content, cancellationToken);
    }

    public Task UploadAsync(string blobName, Stream content, CancellationToken cancellationToken)
    {
        DeclaredLengths.Enqueue(null);
        return ReceiveAsync(blobName, content, cancellationToken);
    }

    private async Task ReceiveAsync(string blobName, Stream content, CancellationToken cancellationToken)
    {
        UploadsStarted.Enqueue(blobName);
        var received = new MemoryStream();
        var buffer = new byte[8192];
        try
        {
            int read;
            while ((read = await content.ReadAsync(buffer, cancellationToken)) > 0)
            {
                received.Write(buffer, 0, read);
                if (received.Length > FailAfterBytes)
                {
                    throw new BlobStoreUnavailableException("The test store is down.", "ServerBusy", 503);
                }
            }
        }
        finally
        {
            _blobs[blobName] = received.ToArray();
        }
    }

    /// <summary>How long each download takes to start answering (so that downloads a caller allows to overlap do).</summary>
    public TimeSpan DownloadDelay { get; init; }

    /// <summary>The most downloads open at once so far (from the call to the disposal of its stream).</summary>
    public int MostDownloadsOpen => Volatile.Read(ref _mostOpen);

    private int _open;
    private int _mostOpen;

    public async Task<Stream> DownloadStreamingAsync(string blobName, CancellationToken cancellationToken)
    {
        if (!_blobs.TryGetValue(blobName, out var bytes))
        {
            throw new BlobNotFoundException("No such blob.");
        }

        var open = Interlocked.Increment(ref _open);
        for (var most = _mostOpen; open > most && Interlocked.CompareExchange(ref _mostOpen, open, most) != most; most = _mostOpen)
        {
        }

        try
        {
            await Task.Delay(DownloadDelay, cancellationToken);
        }
        catch
        {
            Interlocked.Decrement(ref _open);
            throw;
        }

        return new OpenDownload(bytes, () => Interlocked.Decrement(ref _open));
    }

    public Task<bool> DeleteIfExistsAsync(string blobName, CancellationToken cancellationToken) =>
        Task.FromResult(_blobs.TryRemove(blobName, out _));

    public async IAsyncEnumerable<BlobItem> GetBlobsAsync(string? prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var (name, bytes) in _blobs.Where(b => b.Key.StartsWith(prefix ?? "", StringComparison.Ordinal)))
        {
            await Task.Yield();
            yield return new BlobItem(name, bytes.Length, DateTimeOffset.UnixEpoch);
        }
    }

    public Task CheckAvailableAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>A download's body; counts itself closed once.</summary>
internal sealed class OpenDownload(byte[] bytes, Action closed) : MemoryStream(bytes, writable: false)
{
    private int _closed;

    protected override void Dispose(bool disposing)
    {
        if (Interlocked.Exchange(ref _closed, 1) == 0)
        {
            closed();
        }

        base.Dispose(disposing);
    }
}
