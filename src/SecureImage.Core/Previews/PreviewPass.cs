using SecureImage.Core.Diagnostics;
using SecureImage.Core.Retention;
using SecureImage.Core.Threading;

namespace SecureImage.Core.Previews;

/// <summary>Settings of <see cref="PreviewPass"/>, validated by the host at start-up.</summary>
/// <param name="MaxDeferral">
/// How long after its upload a preview may wait for a moment without client requests; past that it is made anyway
/// (its decode still at the lowest CPU priority), so a service that is never quiet still gets its previews.
/// </param>
/// <param name="BatchSize">Backlog rows read per catalog query.</param>
/// <param name="MaxAttempts">Storage failures after which this process stops trying an image (the first preview request still makes it).</param>
public sealed record PreviewPassOptions(TimeSpan MaxDeferral, int BatchSize = 50, int MaxAttempts = 3);

/// <summary>What one pass did.</summary>
/// <param name="Made">Previews stored.</param>
/// <param name="Unavailable">Images whose pixels did not decode (or not in time): marked, not retried.</param>
/// <param name="Overdue">Of those made or marked, how many ran while requests were in flight because they had waited <see cref="PreviewPassOptions.MaxDeferral"/>.</param>
/// <param name="Failed">Attempts that failed on storage (retried by a later pass, up to <see cref="PreviewPassOptions.MaxAttempts"/>).</param>
/// <param name="FirstErrorCode">The first failure's type, for the log.</param>
/// <param name="Yielded">Decodes stopped because requests arrived before they were done (each tried again in a later quiet moment).</param>
public sealed record PreviewPassResult(int Made, int Unavailable, int Overdue, int Failed, string? FirstErrorCode, int Yielded = 0);

/// <summary>
/// Makes the previews the catalog lists as missing (<see cref="IPreviewBacklog"/>), oldest upload first, one at a time,
/// each only while no client request is in flight (<see cref="IRequestActivity"/>, the same count the retention sweep
/// yields to) or once it has waited <see cref="PreviewPassOptions.MaxDeferral"/>. A decode started in a quiet moment stops
/// when requests arrive before it is done and is tried again later, so its memory never adds to theirs. An upload costs nothing more than its
/// commit: the image's own row is the to-do entry, so nothing is lost in a restart, and no job store is written per image.
/// One pass at a time per process (the host also keeps one per deployment); a preview a link asks for meanwhile is made on
/// the spot by the same <see cref="PreviewMaker"/>, which never decodes one image twice at once.
/// </summary>
public sealed class PreviewPass
{
    /// <summary>How often a deferred preview looks again whether the service is quiet.</summary>
    public static readonly TimeSpan BusyPollInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// After a decode gave way to requests, the next try waits for this many quiet polls in a row (a second), not for the
    /// first gap between two requests: under steady load a decode started in every gap would be thrown away each time.
    /// </summary>
    public const int QuietPollsAfterYield = 20;

    /// <summary>The longest quiet a retry waits for, after repeated yields (a minute): traffic spaced just over the quiet
    /// period would otherwise restart a large decode every second or two until its maximum deferral.</summary>
    public const int MaxQuietPollsAfterYield = 1200;

    /// <summary>How long no request must have been in flight before the pass gives back held memory (<see cref="HeldMemory"/>).</summary>
    public static readonly TimeSpan QuietBeforeRelease = TimeSpan.FromSeconds(1);

    /// <summary>Quiet polls in a row before a try: one at first, then a second, doubling per yield of the same image.</summary>
    public static int QuietPollsBefore(int yields) =>
        yields <= 0 ? 1 : (int)Math.Min(MaxQuietPollsAfterYield, (long)QuietPollsAfterYield << Math.Min(yields - 1, 16));

    private readonly IPreviewBacklog _backlog;
    private readonly PreviewMaker _maker;
    private readonly IRequestActivity _activity;
    private readonly TimeProvider _time;
    private readonly PreviewPassOptions _options;
    private readonly Dictionary<Guid, int> _failures = [];
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);
    private readonly HeldMemory? _heldMemory;

    /// <param name="heldMemory">Given back before a decode started in a quiet moment, so the decode's pixels do not add to what the last burst left committed; null to leave the GC alone.</param>
    public PreviewPass(IPreviewBacklog backlog, PreviewMaker maker, IRequestActivity activity, TimeProvider timeProvider, PreviewPassOptions options, HeldMemory? heldMemory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxDeferral, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BatchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxAttempts, 1);
        _backlog = backlog;
        _maker = maker;
        _activity = activity;
        _time = timeProvider;
        _options = options;
        _heldMemory = heldMemory;
    }

    /// <summary>
    /// Works through the backlog to its end, and again while a walk made something: images committed meanwhile (by
    /// another instance, whose own request for a pass found this one running) are made by this pass, not left for the
    /// next. Catalog failures while reading the backlog propagate.
    /// </summary>
    public async Task<PreviewPassResult> RunAsync(CancellationToken cancellationToken)
    {
        await _oneAtATime.WaitAsync(cancellationToken);
        try
        {
            // An image that failed in this run waits for the next run, not for the next walk.
            var failedThisRun = new HashSet<Guid>();
            var total = await WalkAsync(failedThisRun, cancellationToken);
            for (var walk = total; walk.Made + walk.Unavailable > 0;)
            {
                walk = await WalkAsync(failedThisRun, cancellationToken);
                total = new PreviewPassResult(
                    total.Made + walk.Made, total.Unavailable + walk.Unavailable, total.Overdue + walk.Overdue, total.Failed + walk.Failed, total.FirstErrorCode ?? walk.FirstErrorCode, total.Yielded + walk.Yielded);
            }

            return total;
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    private async Task<PreviewPassResult> WalkAsync(HashSet<Guid> failedThisRun, CancellationToken cancellationToken)
    {
        var (made, unavailable, overdue, failed, yieldedCount) = (0, 0, 0, 0, 0);
        string? firstError = null;
        var seen = new HashSet<Guid>();
        PreviewCandidate? cursor = null;
        IReadOnlyList<PreviewCandidate> batch;
        do
        {
            batch = await _backlog.FindImagesWithoutPreviewAsync(_time.GetUtcNow(), cursor, _options.BatchSize, cancellationToken);
            foreach (var candidate in batch)
            {
                cursor = candidate;
                seen.Add(candidate.ImageId);
                if (_failures.GetValueOrDefault(candidate.ImageId) >= _options.MaxAttempts || failedThisRun.Contains(candidate.ImageId))
                {
                    continue;
                }

                var wasOverdue = false;
                string? error;
                try
                {
                    Catalog.ImageRecord? image;
                    bool yielded;
                    var yieldedHere = 0;
                    do
                    {
                        // Started in a quiet moment, a decode gives way to requests that arrive before it is done, and is
                        // tried again at the next quiet moment; once overdue it runs to its end.
                        wasOverdue = await WaitUntilQuietOrDueAsync(candidate, QuietPollsBefore(yieldedHere), cancellationToken);
                        if (wasOverdue)
                        {
                            (image, yielded) = (await _maker.EnsureAsync(candidate.ImageId, cancellationToken), false);
                        }
                        else
                        {
                            // Only in a real quiet moment, not a gap in a steady load: the collection stops every thread.
                            if (_activity.IsQuietFor(_time, QuietBeforeRelease))
                            {
                                _heldMemory?.ReleaseIfHeld();
                            }

                            (image, yielded) = await _maker.EnsureWhileQuietAsync(candidate.ImageId, _activity, BusyPollInterval, cancellationToken);
                        }

                        yieldedCount += yielded ? 1 : 0;
                        yieldedHere += yielded ? 1 : 0;
                    }
                    while (yielded);

                    (error, made, unavailable) = image?.PreviewState switch
                    {
                        Catalog.PreviewState.Ready => ((string?)null, made + 1, unavailable),
                        Catalog.PreviewState.Unavailable => (null, made, unavailable + 1),

                        // Erased or committed to erasure meanwhile (the backlog no longer lists it), or its blob is missing.
                        _ => (image is null || image.IsGone(_time.GetUtcNow()) || image.PendingEraseReason is not null ? null : "not-made", made, unavailable),
                    };
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    throw;
                }
                catch (Exception ex)
                {
                    // Storage outages, and anything unexpected: this image waits for a later pass, the pass goes on.
                    error = Tracing.CodeOf(ex);
                }

                if (error is null)
                {
                    overdue += wasOverdue ? 1 : 0;
                    _failures.Remove(candidate.ImageId);
                }
                else
                {
                    failed++;
                    firstError ??= error;
                    _failures[candidate.ImageId] = _failures.GetValueOrDefault(candidate.ImageId) + 1;
                    failedThisRun.Add(candidate.ImageId);
                }
            }
        }
        while (batch.Count == _options.BatchSize);

        // Images that left the backlog (made on the spot, erased) are forgotten.
        foreach (var gone in _failures.Keys.Where(id => !seen.Contains(id)).ToList())
        {
            _failures.Remove(gone);
        }

        return new PreviewPassResult(made, unavailable, overdue, failed, firstError, yieldedCount);
    }

    /// <summary>
    /// Waits until <paramref name="quietPolls"/> polls in a row find no client request in flight, up to the candidate's
    /// deadline; true when that deadline ended the wait.
    /// </summary>
    private async Task<bool> WaitUntilQuietOrDueAsync(PreviewCandidate candidate, int quietPolls, CancellationToken cancellationToken)
    {
        var due = candidate.CreatedAt + _options.MaxDeferral;
        for (var quiet = 0; ;)
        {
            quiet = _activity.RequestsInFlight > 0 ? 0 : quiet + 1;
            if (quiet >= quietPolls)
            {
                return false;
            }

            if (_time.GetUtcNow() >= due)
            {
                return true;
            }

            await Task.Delay(BusyPollInterval, _time, cancellationToken);
        }
    }
}
