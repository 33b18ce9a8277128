using System.Diagnostics;
using System.IO.Pipelines;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using SecureImage.Core.Blobs;
using SecureImage.Core.Catalog;
using SecureImage.Core.Crypto;
using SecureImage.Core.Diagnostics;
using SecureImage.Core.Imaging;
using SecureImage.Core.Retention;

namespace SecureImage.Core.Ingestion;

public sealed class ImageIngestionOptions
{
    public ImageLimits Limits { get; set; } = ImageLimits.Default;

    public TimeSpan RetentionPeriod { get; set; } = RetentionPolicy.DefaultPeriod;

    /// <summary>
    /// From the start of <see cref="ImageIngestion.StoreAsync"/> to the end of <see cref="ImageIngestion.CommitAsync"/>.
    /// Orphan reconciliation must wait longer than this before it takes a blob without a row for an orphan.
    /// </summary>
    public TimeSpan UploadTimeout { get; set; } = DefaultUploadTimeout;

    public static TimeSpan DefaultUploadTimeout { get; } = TimeSpan.FromMinutes(10);
}

/// <summary>An image sanitized, encrypted and written to the blob store, not yet in the catalog.</summary>
public sealed record StoredImage(Guid ImageId, string BlobName, WrappedKey WrappedKey, SanitizedImage Image)
{
    /// <summary>When its upload began (the ingestion's clock); the commit must follow within the upload timeout.</summary>
    public DateTimeOffset StartedAt { get; init; }
}

/// <summary>The upload did not reach its commit within <see cref="ImageIngestionOptions.UploadTimeout"/>; nothing was kept.</summary>
public sealed class UploadTimedOutException : Exception
{
    public UploadTimedOutException()
        : base("The upload did not finish within the upload timeout.")
    {
    }

    public UploadTimedOutException(string message)
        : base(message)
    {
    }

    public UploadTimedOutException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The consent was withdrawn (or never in force) when the image was about to be committed.</summary>
public sealed class ConsentNotInForceException : Exception
{
    public ConsentNotInForceException()
        : base("The consent is not in force.")
    {
    }

    public ConsentNotInForceException(string message)
        : base(message)
    {
    }

    public ConsentNotInForceException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// The one path every image takes into the service, whatever brought it (upload, Kakao fetch):
/// <list type="number">
/// <item><see cref="StoreAsync"/>: sanitize → encrypt under a fresh data key → stream into a new blob;</item>
/// <item><see cref="CommitAsync"/>: commit the catalog row (wrapped key, expiry) under a consent in force.</item>
/// </list>
/// The blob is written before the row commits; a failure in between deletes the blob, unless the
/// catalog may have committed (reply lost). A crash in between, or such an unconfirmed commit that did
/// not land, leaves a blob whose key was never stored, which reconciliation removes.
/// </summary>
public sealed class ImageIngestion
{
    // The pipe between sanitizer and blob upload holds a few segments at most. Its buffers are as large
    // as an envelope segment: with the default 4 KiB, every sealed segment took 17 pool rentals, more
    // than the shared pool keeps, so a 1 MiB upload allocated ~260 fresh arrays (profile in docs/PERFORMANCE.md).
    private static readonly PipeOptions PipeOptions = new(
        pauseWriterThreshold: 256 * 1024, resumeWriterThreshold: 128 * 1024, minimumSegmentSize: EnvelopeFormat.DefaultSegmentSize, useSynchronizationContext: false);
    private readonly IImageSanitizer _sanitizer;
    private readonly IBlobStore _blobs;
    private readonly IKeyEncryptionKey _kek;
    private readonly IImageCatalog _catalog;
    private readonly TimeProvider _time;
    private readonly ImageIngestionOptions _options;

    public ImageIngestion(IImageSanitizer sanitizer, IBlobStore blobs, IKeyEncryptionKey kek, IImageCatalog catalog, TimeProvider timeProvider, ImageIngestionOptions options)
    {
        _sanitizer = sanitizer;
        _blobs = blobs;
        _kek = kek;
        _catalog = catalog;
        _time = timeProvider;
        _options = options;
    }

    /// <summary>Sanitizes <paramref name="source"/>, encrypts it and writes the blob. Nothing is written in the catalog.</summary>
    /// <exception cref="ImageRejectedException">Not an accepted, well-formed image.</exception>
    /// <exception cref="UploadTooLargeException">From a size-limited <paramref name="source"/>.</exception>
    /// <exception cref="BlobStoreUnavailableException">The blob store failed; nothing was kept.</exception>
    /// <exception cref="UploadTimedOutException">The source did not end within the upload timeout; nothing was kept.</exception>
    public Task<StoredImage> StoreAsync(Stream source, CancellationToken cancellationToken) =>
        StoreAsync(source, expectedLength: null, cancellationToken);

    /// <summary>
    /// <see cref="StoreAsync(Stream, CancellationToken)"/> with the length the source declared (an upload's
    /// Content-Length), passed to the blob store as a hint: the stored envelope is about as long as the image.
    /// </summary>
    public async Task<StoredImage> StoreAsync(Stream source, long? expectedLength, CancellationToken cancellationToken)
    {
        var startedAt = _time.GetUtcNow();
        using var deadline = new CancellationTokenSource(_options.UploadTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        try
        {
            return await StoreAsync(source, expectedLength, startedAt, linked.Token);
        }
        catch (OperationCanceledException ex) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new UploadTimedOutException("The upload did not finish within the upload timeout.", ex);
        }
    }

    private async Task<StoredImage> StoreAsync(Stream source, long? expectedLength, DateTimeOffset startedAt, CancellationToken cancellationToken)
    {
        var imageId = Guid.NewGuid();
        var blobName = NewBlobName();
        var dataKey = RandomNumberGenerator.GetBytes(EnvelopeFormat.DataKeySize);
        using var activity = Tracing.Source.StartActivity("secureimage.image.store");
        activity?.SetTag(Tracing.Tags.ImageId, imageId);
        try
        {
            var wrappedKey = await WrapAsync(dataKey, imageId, cancellationToken);
            using var uploadFailed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var pipe = new Pipe(PipeOptions);
            var upload = UploadAsync(pipe.Reader, blobName, expectedLength, uploadFailed, cancellationToken);
            SanitizedImage sanitized;
            var sanitizing = Tracing.Source.StartActivity("secureimage.sanitize");
            try
            {
                // The sanitizer writes into the encryptor, which seals segments into the pipe the blob upload reads.
                await using var envelope = new EnvelopeEncryptingStream(pipe.Writer.AsStream(leaveOpen: true), dataKey, imageId, wrappedKey.KeyId);
                sanitized = await _sanitizer.SanitizeAsync(source, envelope, _options.Limits, uploadFailed.Token);
                sanitizing?.SetTag(Tracing.Tags.Format, Tracing.FormatOf(sanitized.ContentType));
                sanitizing?.SetTag(Tracing.Tags.Bytes, sanitized.Bytes);
                await envelope.CompleteAsync(uploadFailed.Token);
                sanitizing?.AddEvent(new ActivityEvent("secureimage.encrypted"));
                await pipe.Writer.CompleteAsync();
            }
            catch (Exception ex)
            {
                sanitizing.Fail(Tracing.CodeOf(ex));
                sanitizing?.Dispose();
                await pipe.Writer.CompleteAsync(ex);
                var uploadError = await DiscardAsync(upload, blobName);
                if (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested && uploadError is not null)
                {
                    // The blob store failed first; report that rather than the cancellation it caused.
                    ExceptionDispatchInfo.Throw(uploadError);
                }

                throw;
            }

            sanitizing?.Dispose();
            try
            {
                await upload;
            }
            catch
            {
                await DeleteQuietlyAsync(blobName);
                throw;
            }

            activity?.SetTag(Tracing.Tags.Format, Tracing.FormatOf(sanitized.ContentType));
            activity?.SetTag(Tracing.Tags.Bytes, sanitized.Bytes);
            return new StoredImage(imageId, blobName, wrappedKey, sanitized) { StartedAt = startedAt };
        }
        catch (Exception ex)
        {
            activity.Fail(Tracing.CodeOf(ex));
            throw;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey);
        }
    }

    /// <summary>
    /// Commits the catalog row for a stored image under <paramref name="consent"/>. If the consent is
    /// no longer in force at commit time, the blob is deleted and <see cref="ConsentNotInForceException"/> thrown;
    /// past the upload timeout, the blob is deleted and <see cref="UploadTimedOutException"/> thrown.
    /// </summary>
    public async Task<ImageRecord> CommitAsync(StoredImage stored, ConsentRecord consent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stored);
        ArgumentNullException.ThrowIfNull(consent);
        var now = _time.UtcNowMilliseconds();
        if (now - stored.StartedAt > _options.UploadTimeout)
        {
            // Reconciliation may already count this blob as an orphan: a row committed now could point at a deleted blob.
            await DeleteQuietlyAsync(stored.BlobName);
            throw new UploadTimedOutException("The upload was committed later than the upload timeout allows.");
        }

        var record = new ImageRecord(
            stored.ImageId,
            consent.BotId,
            consent.SubjectHash,
            consent.Id,
            stored.Image.ContentType,
            stored.Image.Bytes,
            stored.Image.Width,
            stored.Image.Height,
            stored.BlobName,
            stored.WrappedKey,
            now,
            RetentionPolicy.ExpiresAt(now, _options.RetentionPeriod),
            ImageState.Active,
            ErasedAt: null,
            EraseReason: null,
            PendingEraseReason: null);
        using var activity = Tracing.Source.StartActivity("secureimage.catalog.commit");
        activity?.SetTag(Tracing.Tags.ImageId, stored.ImageId);
        bool committed;
        try
        {
            committed = !consent.IsWithdrawn && await _catalog.AddImageAsync(record, cancellationToken);
        }
        catch (Exception ex)
        {
            activity.Fail(Tracing.CodeOf(ex));

            // Unless the row may exist (the reply was lost, or the wait for it cancelled): it would point
            // at a deleted blob. If it does not, the blob is an orphan whose key was never stored, which
            // reconciliation removes.
            if (ex is not (CatalogUnavailableException { MayHaveCommitted: true } or OperationCanceledException))
            {
                await DeleteQuietlyAsync(stored.BlobName);
            }

            throw;
        }

        if (!committed)
        {
            activity.Fail("consent-not-in-force");
            await DeleteQuietlyAsync(stored.BlobName);
            throw new ConsentNotInForceException();
        }

        activity?.SetTag(Tracing.Tags.Outcome, "committed");
        return record;
    }

    /// <summary>Deletes a stored image's blob when it will not be committed (e.g. the request was refused after storing).</summary>
    public Task DiscardAsync(StoredImage stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        return DeleteQuietlyAsync(stored.BlobName);
    }

    private async Task<WrappedKey> WrapAsync(byte[] dataKey, Guid imageId, CancellationToken cancellationToken)
    {
        using var activity = Tracing.Source.StartActivity("secureimage.kek.wrap");
        try
        {
            return await _kek.WrapKeyAsync(dataKey, imageId, cancellationToken);
        }
        catch (Exception ex)
        {
            activity.Fail(Tracing.CodeOf(ex));
            throw;
        }
    }

    private async Task UploadAsync(PipeReader reader, string blobName, long? expectedLength, CancellationTokenSource uploadFailed, CancellationToken cancellationToken)
    {
        // Runs beside the sanitizer: a sibling span of secureimage.sanitize. The blob name is random but never recorded.
        using var activity = Tracing.Source.StartActivity("secureimage.blob.put");
        try
        {
            await using var content = reader.AsStream(leaveOpen: true);
            await _blobs.UploadAsync(blobName, content, expectedLength, cancellationToken);
            await reader.CompleteAsync();
        }
        catch (Exception ex)
        {
            activity.Fail(Tracing.CodeOf(ex));
            await reader.CompleteAsync(ex);
            await uploadFailed.CancelAsync();
            throw;
        }
    }

    /// <summary>Waits for the upload to end, deletes what it may have written, and returns its failure if any.</summary>
    private async Task<Exception?> DiscardAsync(Task upload, string blobName)
    {
        Exception? failure = null;
        try
        {
            await upload;
        }
        catch (Exception ex)
        {
            failure = ex;
        }

        await DeleteQuietlyAsync(blobName);
        return failure;
    }

    private async Task DeleteQuietlyAsync(string blobName)
    {
        try
        {
            await _blobs.DeleteIfExistsAsync(blobName, CancellationToken.None);
        }
        catch (BlobStoreUnavailableException)
        {
            // Ciphertext whose key was never stored; reconciliation removes it.
        }
    }

    /// <summary>Random, and nothing in it links to the image, the bot or the subject.</summary>
    private static string NewBlobName() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
}
