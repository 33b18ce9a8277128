using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using SecureImage.Core.Blobs;
using SecureImage.Core.Catalog;
using SecureImage.Core.Crypto;
using SecureImage.Core.Diagnostics;
using SecureImage.Core.Imaging;
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
    private readonly ConcurrentDictionary<Guid, Lazy<Task<ImageRecord?>>> _running = new();

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
    /// <paramref name="cancellationToken"/>; the run itself finishes for whoever asks next.
    /// </summary>
    public Task<ImageRecord?> EnsureAsync(Guid imageId, CancellationToken cancellationToken)
    {
        Lazy<Task<ImageRecord?>>? mine = null;
        mine = new Lazy<Task<ImageRecord?>>(() => RunOnceAsync(imageId, mine!));
        return _running.GetOrAdd(imageId, mine).Value.WaitAsync(cancellationToken);
    }

    private async Task<ImageRecord?> RunOnceAsync(Guid imageId, Lazy<Task<ImageRecord?>> entry)
    {
        try
        {
            // Yield first, so the entry is in the map before any work (and its removal) can run.
            await Task.Yield();
            return await MakeAsync(imageId, CancellationToken.None);
        }
        finally
        {
            _running.TryRemove(new KeyValuePair<Guid, Lazy<Task<ImageRecord?>>>(imageId, entry));
        }
    }

    private async Task<ImageRecord?> MakeAsync(Guid imageId, CancellationToken cancellationToken)
    {
        RenderedPreview? preview;
        ImageRecord? image;
        using var activity = Tracing.Source.StartActivity("secureimage.preview.make");
        activity?.SetTag(Tracing.Tags.ImageId, imageId);
        try
        {
            // The decode turn comes before the original is read: an original is decrypted only inside a turn, so at most
            // Imaging:MaxConcurrentDecodes of them are in memory, however many previews are asked for at once.
            using (var turn = await _renderer.WaitForTurnAsync(cancellationToken))
            {
                image = await _catalog.FindImageAsync(imageId, cancellationToken);
                if (image is null || image.PreviewState is not null || image.State == ImageState.Erased || image.PendingEraseReason is not null || image.WrappedKey is null)
                {
                    activity?.SetTag(Tracing.Tags.Outcome, "not-needed");
                    return image;
                }

                if (!ImageFormats.TryParseContentType(image.ContentType, out var format) || image.Bytes > int.MaxValue)
                {
                    return await MarkUnavailableAsync(imageId, activity, "format", cancellationToken);
                }

                try
                {
                    preview = await RenderOriginalAsync(image, format, turn, cancellationToken);
                }
                catch (PreviewUnavailableException ex)
                {
                    return await MarkUnavailableAsync(imageId, activity, ex.InnerException?.GetType().Name ?? "preview-unavailable", cancellationToken);
                }
            }

            if (preview is null)
            {
                // Erased between the read of the row and the read of the blob.
                return await _catalog.FindImageAsync(imageId, cancellationToken);
            }

            using (preview)
            {
                await StoreAsync(image, preview, cancellationToken);
            }

            activity?.SetTag(Tracing.Tags.Outcome, "stored");
            return await _catalog.FindImageAsync(imageId, cancellationToken);
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
        catch (PreviewUnavailableException ex) when (ex.InnerException is TimeoutException)
        {
            // An abandoned decode may still read the buffer: zeroed, but never handed to another image.
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
}
