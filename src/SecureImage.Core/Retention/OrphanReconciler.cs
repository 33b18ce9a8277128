using SecureImage.Core.Blobs;

namespace SecureImage.Core.Retention;

public sealed class OrphanReconciliationOptions
{
    /// <summary>Blobs younger than this are left alone: their upload may still be committing.</summary>
    public TimeSpan GracePeriod { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Blob names checked against the catalog per round trip.</summary>
    public int PageSize { get; set; } = 500;
}

public sealed record ReconciliationResult(int Examined, int Deleted, int Failed, string? FirstErrorCode);

/// <summary>
/// Deletes blobs that no live catalog row points at and that are older than the grace period: they
/// come from a crash between blob write and catalog commit (their key was never stored) or from a
/// copy restored after an erase.
/// </summary>
public sealed class OrphanReconciler
{
    private readonly IRetentionCatalog _catalog;
    private readonly IBlobStore _blobs;
    private readonly TimeProvider _time;
    private readonly OrphanReconciliationOptions _options;

    public OrphanReconciler(IRetentionCatalog catalog, IBlobStore blobs, TimeProvider timeProvider, OrphanReconciliationOptions options)
    {
        _catalog = catalog;
        _blobs = blobs;
        _time = timeProvider;
        _options = options;
    }

    public async Task<ReconciliationResult> ReconcileAsync(CancellationToken cancellationToken)
    {
        var cutoff = _time.GetUtcNow() - _options.GracePeriod;
        var examined = 0;
        var deleted = 0;
        var failed = 0;
        string? firstError = null;
        var page = new List<BlobItem>(_options.PageSize);
        await foreach (var blob in _blobs.GetBlobsAsync(prefix: null, cancellationToken))
        {
            examined++;
            if (blob.CreatedOn < cutoff)
            {
                page.Add(blob);
            }

            if (page.Count == _options.PageSize)
            {
                await DeleteOrphansAsync(page, cancellationToken);
                page.Clear();
            }
        }

        if (page.Count > 0)
        {
            await DeleteOrphansAsync(page, cancellationToken);
        }

        return new ReconciliationResult(examined, deleted, failed, firstError);

        async Task DeleteOrphansAsync(List<BlobItem> candidates, CancellationToken token)
        {
            var live = await _catalog.FindLiveBlobNamesAsync([.. candidates.Select(b => b.Name)], token);
            foreach (var orphan in candidates.Where(b => !live.Contains(b.Name)))
            {
                try
                {
                    if (await _blobs.DeleteIfExistsAsync(orphan.Name, token))
                    {
                        deleted++;
                    }
                }
                catch (BlobStoreUnavailableException ex)
                {
                    failed++;
                    firstError ??= ex.ErrorCode ?? "BlobStoreUnavailable";
                }
            }
        }
    }
}
