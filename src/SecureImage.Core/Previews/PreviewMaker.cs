using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using SecureImage.Core.Blobs;
using SecureImage.Core.Catalog;
using SecureImage.Core.Crypto;
using SecureImage.Core.Diagnostics;
using SecureImage.Core.Imaging;
using SecureImage.Core.Retention;
using SecureImage.Core.Threading;

namespace SecureImage.Core.Previews;

/// <summary>
/// Makes an image's preview once: takes a decode turn (so at most as many originals as decode slots are decrypted at
/// once), decrypts the original into a pooled buffer, renders it
/// (<see cref="PreviewRenderer"/>), encrypts the rendition as its own envelope under a fresh data key
/// bound to a fresh preview id, writes it as its own blob and records it beside the original. Nothing
/// plaintext leaves memory; the buffers are zeroed. Requests for one image that arrive while it is being
/// made wait for that one run (no second decode on this instance; across instances the catalog's
/// conditional record keeps the first and the loser deletes its blob). A rendering failure is recorded as
/// <see cref="PreviewState.Unavailable"/>; storage failures propagate and leave no preview recorded.
/// </summary>
public sealed class PreviewMaker
{
    private readonly IImageCatalog _catalog;
    private readonly IBlobStore _blobs;
    private readonly IKeyEncryptionKey _kek;
    private readonly PreviewRenderer _renderer;
    private readonly TimeProvider _time;
    private readonly TimeSpan _storeTimeout;
    private readonly ConcurrentDictionary<Guid, Run> _running = new();

    /// <param name="storeTimeout">
    /// From the start of the blob write to the catalog record: orphan reconciliation waits longer than this
    /// (the upload timeout) before it takes a blob without a row, so a later record could point at a deleted blob.
    /// </param>
    public PreviewMaker(IImageCatalog catalog, IBlobStore blobs, IKeyEncryptionKey kek, PreviewRenderer renderer, TimeProvider timeProvider, TimeSpan storeTimeout)
    {
        _catalog = catalog;
        _blobs = blobs;
        _kek = kek;
        _renderer = renderer;
        _time = timeProvider;
        _storeTimeout = storeTimeout;
    }

    /// <summary>
    /// The image's row once its preview is made or found impossible (or as it stands, when it is erased or
    /// committed to erasure); null when the image does not exist. Waiting callers can stop waiting with
    /// <paramref name="cancellationToken"/>; the run itself finishes for whoever asks next. A run the preview pass
    /// started is kept going from here on; one it already gave up is made anew once it has stopped.
    /// </summary>
    public async Task<ImageRecord?> EnsureAsync(Guid imageId, CancellationToken cancellationToken)
    {
        while (true)
        {
            var run = Join(imageId, yieldable: false);
            if (run.Keep())
            {
                return await run.Completion.WaitAsync(cancellationToken);
            }

            await run.Stopped.WaitAsync(cancellationToken);
        }
    }

    /// <summary>
    /// For the preview pass, which starts one only when no client request is in flight: like <see cref="EnsureAsync"/>,
    /// but if requests arrive before the render is done (polled every <paramref name="pollInterval"/>), the decode is
    /// stopped and its memory given back, so a preview's pixels (72 MiB for a 25 MP photo) never add to the requests'
    /// own. Returns once the run has stopped; <c>Yielded</c> then says the preview is still to be made. A run someone
    /// else asked for (<see cref="EnsureAsync"/>) is never stopped.
    /// </summary>
    public async Task<(ImageRecord? Image, bool Yielded)> EnsureWhileQuietAsync(Guid imageId, IRequestActivity activity, TimeSpan pollInterval, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(activity);
        var run = Join(imageId, yieldable: true);
        var completion = run.Completion;
        while (!completion.IsCompleted && !(activity.RequestsInFlight > 0 && run.TryYield()))
        {
            await Task.WhenAny(run.Stopped, Task.Delay(pollInterval, _time, CancellationToken.None));
            if (cancellationToken.IsCancellationRequested)
            {
                // The pass is stopping (shutdown): its decode stops too, unless a link waits for it.
                run.TryYield();
                cancellationToken.ThrowIfCancellationRequested();
            }
        }

        try
        {
            return (await completion.WaitAsync(cancellationToken), false);
        }
        catch (OperationCanceledException) when (run.Yielded && !cancellationToken.IsCancellationRequested)
        {
            return (null, true);
        }
    }

    private Run Join(Guid imageId, bool yieldable)
    {
        Run? mine = null;
        mine = new Run(yieldable, () => RunOnceAsync(imageId, mine!));
        return _running.GetOrAdd(imageId, mine);
    }

    private async Task<ImageRecord?> RunOnceAsync(Guid imageId, Run run)
    {
        try
        {
            // Yield first, so the entry is in the map before any work (and its removal) can run.
            await Task.Yield();
            return await MakeAsync(imageId, run.YieldToken);
        }
        finally
        {
            _running.TryRemove(new KeyValuePair<Guid, Run>(imageId, run));
        }
    }

    /// <summary>
    /// <paramref name="yieldToken"/> stops the run up to the end of its render (the preview pass giving way to
    /// requests); what follows, the blob write and its record, always runs to its end.
    /// </summary>
    private async Task<ImageRecord?> MakeAsync(Guid imageId, CancellationToken yieldToken)
    {
        RenderedPreview? preview;
        ImageRecord? image;
        using var activity = Tracing.Source.StartActivity("secureimage.preview.make");
        activity?.SetTag(Tracing.Tags.ImageId, imageId);
        try
        {
            // The decode turn comes before the original is read: an original is decrypted only inside a turn, so at most
            // Imaging:MaxConcurrentDecodes of them are in memory, however many previews are asked for at once.
            using (var turn = await _renderer.WaitForTurnAsync(yieldToken))
            {
                image = await _catalog.FindImageAsync(imageId, yieldToken);
                if (image is null || image.PreviewState is not null || image.State == ImageState.Erased || image.PendingEraseReason is not null || image.WrappedKey is null)
                {
                    activity?.SetTag(Tracing.Tags.Outcome, "not-needed");
                    return image;
                }

                if (!ImageFormats.TryParseContentType(image.ContentType, out var format) || image.Bytes > int.MaxValue)
                {
                    return await MarkUnavailableAsync(imageId, activity, "format", CancellationToken.None);
                }

                try
                {
                    preview = await RenderOriginalAsync(image, format, turn, yieldToken);
                }
                catch (PreviewUnavailableException ex)
                {
                    return await MarkUnavailableAsync(imageId, activity, ex.InnerException?.GetType().Name ?? "preview-unavailable", CancellationToken.None);
                }
            }

            if (preview is null)
            {
                // Erased between the read of the row and the read of the blob.
                return await _catalog.FindImageAsync(imageId, CancellationToken.None);
            }

            using (preview)
            {
                await StoreAsync(image, preview, CancellationToken.None);
            }

            activity?.SetTag(Tracing.Tags.Outcome, "stored");
            return await _catalog.FindImageAsync(imageId, CancellationToken.None);
        }
        catch (Exception ex)
        {
            activity.Fail(Tracing.CodeOf(ex));
            throw;
        }
    }

    private async Task<ImageRecord?> MarkUnavailableAsync(Guid imageId, Activity? activity, string code, CancellationToken cancellationToken)
    {
        activity?.SetTag(Tracing.Tags.Outcome, "unavailable");
        activity?.SetTag(Tracing.Tags.Reason, code);
        await _catalog.MarkPreviewUnavailableAsync(imageId, cancellationToken);
        return await _catalog.FindImageAsync(imageId, cancellationToken);
    }

    /// <summary>
    /// Decrypts the original into a pooled buffer and renders it in <paramref name="turn"/>; null when its blob is gone.
    /// The plaintext is zeroed before this returns (the preview is stored after the turn, with the original gone).
    /// </summary>
    private async Task<RenderedPreview?> RenderOriginalAsync(ImageRecord image, ImageFormat format, DeadlineWork.Turn turn, CancellationToken cancellationToken)
    {
        var length = (int)image.Bytes;
        var plaintext = ArrayPool<byte>.Shared.Rent(length);
        var reusable = true;
        try
        {
            if (!await ReadOriginalAsync(image, plaintext, cancellationToken))
            {
                return null;
            }

            return await _renderer.RenderAsync(turn, plaintext.AsMemory(0, length), format, image.Width, image.Height, cancellationToken);
        }
        catch (Exception ex) when (ex is OperationCanceledException || (ex is PreviewUnavailableException && ex.InnerException is TimeoutException))
        {
            // An abandoned or stopping decode may still read the buffer: zeroed, but never handed to another image.
            reusable = false;
            throw;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext.AsSpan(0, length));
            if (reusable)
            {
                ArrayPool<byte>.Shared.Return(plaintext);
            }
        }
    }

    /// <summary>Decrypts the original into <paramref name="plaintext"/>; false when its blob is gone.</summary>
    private async Task<bool> ReadOriginalAsync(ImageRecord image, byte[] plaintext, CancellationToken cancellationToken)
    {
        var dataKey = await _kek.UnwrapKeyAsync(image.WrappedKey!, image.Id, cancellationToken);
        try
        {
            Stream blob;
            try
            {
                blob = await _blobs.DownloadStreamingAsync(image.BlobName, cancellationToken);
            }
            catch (BlobNotFoundException)
            {
                return false;
            }

            await using var decrypted = new EnvelopeDecryptingStream(blob, dataKey, image.Id);
            await decrypted.ReadExactlyAsync(plaintext.AsMemory(0, (int)image.Bytes), cancellationToken);
            return true;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey);
        }
    }

    private async Task StoreAsync(ImageRecord image, RenderedPreview preview, CancellationToken cancellationToken)
    {
        var startedAt = _time.GetUtcNow();
        var previewId = Guid.NewGuid();
        var blobName = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var dataKey = RandomNumberGenerator.GetBytes(EnvelopeFormat.DataKeySize);
        using var ciphertext = new MemoryStream();
        WrappedKey wrappedKey;
        try
        {
            wrappedKey = await _kek.WrapKeyAsync(dataKey, previewId, cancellationToken);
            await using (var envelope = new EnvelopeEncryptingStream(ciphertext, dataKey, previewId, wrappedKey.KeyId))
            {
                preview.Content.Position = 0;
                await preview.Content.CopyToAsync(envelope, cancellationToken);
                await envelope.CompleteAsync(cancellationToken);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey);
        }

        ciphertext.Position = 0;
        await _blobs.UploadAsync(blobName, ciphertext, cancellationToken);
        var record = new ImagePreview(previewId, preview.Format.ContentType(), preview.Content.Length, preview.Width, preview.Height, blobName, wrappedKey);
        bool recorded;
        try
        {
            // Later than the upload timeout, reconciliation may already count the blob as an orphan.
            recorded = _time.GetUtcNow() - startedAt <= _storeTimeout && await _catalog.RecordPreviewAsync(image.Id, record, cancellationToken);
        }
        catch (CatalogUnavailableException ex) when (ex.MayHaveCommitted)
        {
            throw;
        }
        catch
        {
            await DeleteQuietlyAsync(blobName);
            throw;
        }

        if (!recorded)
        {
            // Another instance recorded one first, or the image was committed to erasure meanwhile.
            await DeleteQuietlyAsync(blobName);
        }
    }

    private async Task DeleteQuietlyAsync(string blobName)
    {
        try
        {
            await _blobs.DeleteIfExistsAsync(blobName, CancellationToken.None);
        }
        catch (BlobStoreUnavailableException)
        {
            // Ciphertext whose key is recorded nowhere; reconciliation removes it.
        }
    }

    /// <summary>One image's run on this instance, and whether the preview pass may still stop it.</summary>
    private sealed class Run
    {
        private readonly Lock _gate = new();
        private readonly CancellationTokenSource? _yield;
        private readonly Lazy<Task<ImageRecord?>> _completion;
        private readonly Lazy<Task> _stopped;
        private bool _kept;

        public Run(bool yieldable, Func<Task<ImageRecord?>> start)
        {
            _yield = yieldable ? new CancellationTokenSource() : null;
            _kept = !yieldable;
            _completion = new Lazy<Task<ImageRecord?>>(start);
            _stopped = new Lazy<Task>(() => Completion.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default));
        }

        public Task<ImageRecord?> Completion => _completion.Value;

        /// <summary>Completes when the run has ended, however it ended.</summary>
        public Task Stopped => _stopped.Value;

        public CancellationToken YieldToken => _yield?.Token ?? CancellationToken.None;

        public bool Yielded { get; private set; }

        /// <summary>Someone waits for this run's result: it may no longer be stopped. False when it already was.</summary>
        public bool Keep()
        {
            lock (_gate)
            {
                if (Yielded)
                {
                    return false;
                }

                _kept = true;
                return true;
            }
        }

        /// <summary>Stops the run for the requests in flight, unless someone waits for it.</summary>
        public bool TryYield()
        {
            lock (_gate)
            {
                if (_kept || Yielded)
                {
                    return false;
                }

                Yielded = true;
            }

            _yield!.Cancel();
            return true;
        }
    }
}
