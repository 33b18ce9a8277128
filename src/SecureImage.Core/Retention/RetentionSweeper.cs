using System.Collections.Concurrent;
using SecureImage.Core.Blobs;
using SecureImage.Core.Catalog;

namespace SecureImage.Core.Retention;

public sealed class RetentionSweepOptions
{
    /// <summary>Images claimed per batch.</summary>
    public int BatchSize { get; set; } = 500;

    /// <summary>Upper bound on batches per run, so one run cannot take unbounded time.</summary>
    public int MaxBatchesPerRun { get; set; } = 200;

    /// <summary>How long a claim keeps other sweepers away; a failed erase is retried after it.</summary>
    public TimeSpan ClaimLease { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Blob deletes in flight at once.</summary>
    public int BlobDeleteParallelism { get; set; } = 16;

    /// <summary>
    /// Upper bound on blob deletes per second over a run, 0 for none. A blob store that pays much for
    /// a delete (Azurite: a few tens of ms of its only thread each) otherwise serves uploads late while
    /// a large sweep runs; it must stay above the sustained upload rate or the sweep lag grows.
    /// </summary>
    public double MaxBlobDeletesPerSecond { get; set; }

    /// <summary>
    /// While client requests are in flight: one blob delete at a time, at most this many per second; 0 to let the
    /// sweep run at full parallelism whatever the load. Ignored without an <see cref="IRequestActivity"/>.
    /// </summary>
    public double BusyBlobDeletesPerSecond { get; set; }
}

public sealed record SweepResult(int Erased, int Failed, TimeSpan? Lag, string? FirstErrorCode)
{
    /// <summary>How many of <see cref="Erased"/> were erased for each reason (retention, or a reason requested earlier).</summary>
    public IReadOnlyDictionary<string, int> ErasedByReason { get; init; } = new Dictionary<string, int>();
}

/// <summary>
/// The retention sweep: claim expired images in batches (the claim commits them to erasure, so a report
/// arriving meanwhile cannot put on hold an image whose blob is being deleted), delete their blobs in parallel (a missing
/// blob counts as deleted), then mark the batch erased in one catalog transaction per erase reason (key shredded,
/// one audit event each). A failing blob never blocks the rest: its claim lapses and the next run
/// retries it. Interrupted between blob delete and catalog update, the next run completes the erase
/// and still writes exactly one audit event.
/// </summary>
public sealed class RetentionSweeper
{
    public const string Actor = "retention-job";
    private readonly IRetentionCatalog _catalog;
    private readonly IBlobStore _blobs;
    private readonly TimeProvider _time;
    private readonly RetentionSweepOptions _options;
    private readonly SweepDeleteGate? _gate;

    public RetentionSweeper(IRetentionCatalog catalog, IBlobStore blobs, TimeProvider timeProvider, RetentionSweepOptions options, IRequestActivity? activity = null)
    {
        _catalog = catalog;
        _blobs = blobs;
        _time = timeProvider;
        _options = options;

        // One gate for the sweeper's lifetime, not one per run: the quiet it waits for before full parallelism spans runs
        // (a run starting at an instant with nothing in flight must not burst into a steady load).
        _gate = activity is not null && options.BusyBlobDeletesPerSecond > 0
            ? new SweepDeleteGate(activity, timeProvider, options.BlobDeleteParallelism, options.BusyBlobDeletesPerSecond)
            : null;
    }

    public async Task<SweepResult> SweepAsync(CancellationToken cancellationToken)
    {
        var erased = 0;
        var failed = 0;
        var byReason = new Dictionary<string, int>(StringComparer.Ordinal);
        string? firstError = null;
        var pacer = _options.MaxBlobDeletesPerSecond > 0 ? new DeletePacer(_time, _options.MaxBlobDeletesPerSecond) : null;
        var gate = _gate;
        for (var batch = 0; batch < _options.MaxBatchesPerRun; batch++)
        {
            var claimed = await _catalog.ClaimExpiredAsync(_time.UtcNowMilliseconds(), _options.BatchSize, _options.ClaimLease, cancellationToken);
            if (claimed.Count == 0)
            {
                break;
            }

            var blobsGone = new ConcurrentBag<ErasedImage>();
            var errors = new ConcurrentBag<string>();
            await Parallel.ForEachAsync(
                claimed,
                new ParallelOptions { MaxDegreeOfParallelism = _options.BlobDeleteParallelism, CancellationToken = cancellationToken },
                async (image, token) =>
                {
                    try
                    {
                        if (pacer is not null)
                        {
                            await pacer.WaitTurnAsync(token);
                        }

                        var turn = gate is null ? default : await gate.EnterAsync(token);

                        try
                        {
                            await _blobs.DeleteIfExistsAsync(image.BlobName, token);
                            if (image.PreviewBlobName is { } preview)
                            {
                                await _blobs.DeleteIfExistsAsync(preview, token);
                            }
                        }
                        finally
                        {
                            gate?.Exit(turn);
                        }

                        blobsGone.Add(new ErasedImage(image.ImageId, image.Reason));
                    }
                    catch (BlobStoreUnavailableException ex)
                    {
                        errors.Add(ex.ErrorCode ?? "BlobStoreUnavailable");
                    }
                });

            // One transaction per reason in the batch (nearly always just "retention"), so each erasure is counted under its reason.
            foreach (var reason in blobsGone.GroupBy(e => e.Reason, StringComparer.Ordinal))
            {
                var count = await _catalog.MarkErasedAsync([.. reason], Actor, _time.UtcNowMilliseconds(), cancellationToken);
                erased += count;
                byReason[reason.Key] = byReason.GetValueOrDefault(reason.Key) + count;
            }

            failed += errors.Count;
            firstError ??= errors.FirstOrDefault();
            if (claimed.Count < _options.BatchSize)
            {
                break;
            }
        }

        var now = _time.UtcNowMilliseconds();
        var oldest = await _catalog.OldestOverdueExpiryAsync(now, cancellationToken);
        return new SweepResult(erased, failed, oldest is null ? TimeSpan.Zero : now - oldest.Value, firstError) { ErasedByReason = byReason };
    }
}

/// <summary>Spaces blob deletes evenly over a run: the n-th may start n / rate seconds after the first.</summary>
internal sealed class DeletePacer(TimeProvider timeProvider, double deletesPerSecond)
{
    private readonly long _started = timeProvider.GetTimestamp();
    private long _issued = -1;

    public Task WaitTurnAsync(CancellationToken cancellationToken)
    {
        var due = TimeSpan.FromSeconds(Interlocked.Increment(ref _issued) / deletesPerSecond) - timeProvider.GetElapsedTime(_started);
        return due > TimeSpan.Zero ? Task.Delay(due, timeProvider, cancellationToken) : Task.CompletedTask;
    }
}
