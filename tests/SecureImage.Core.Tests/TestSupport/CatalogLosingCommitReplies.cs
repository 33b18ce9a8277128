using System.Reflection;
using SecureImage.Core.Catalog;

namespace SecureImage.Core.Tests.TestSupport;

/// <summary>
/// A catalog whose image commits fail the way a connection lost after COMMIT fails: the row is
/// written by the inner catalog (or not, when <see cref="Commits"/> is false), then the caller gets an
/// unavailable catalog with <see cref="CatalogUnavailableException.MayHaveCommitted"/> as set.
/// </summary>
internal class CatalogLosingCommitReplies : DispatchProxy
{
    private IImageCatalog _inner = null!;

    private bool Commits { get; set; }

    private bool MayHaveCommitted { get; set; }

    public static IImageCatalog Around(IImageCatalog inner, bool commits, bool mayHaveCommitted)
    {
        var proxy = Create<IImageCatalog, CatalogLosingCommitReplies>();
        var self = (CatalogLosingCommitReplies)(object)proxy;
        (self._inner, self.Commits, self.MayHaveCommitted) = (inner, commits, mayHaveCommitted);
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        return targetMethod.Name == nameof(IImageCatalog.AddImageAsync)
            ? AddThenFailAsync((ImageRecord)args![0]!, (CancellationToken)args[1]!)
            : targetMethod.Invoke(_inner, args);
    }

    private async Task<bool> AddThenFailAsync(ImageRecord image, CancellationToken cancellationToken)
    {
        if (Commits)
        {
            await _inner.AddImageAsync(image, cancellationToken);
        }

        throw new CatalogUnavailableException("Lost the reply.") { MayHaveCommitted = MayHaveCommitted };
    }
}
