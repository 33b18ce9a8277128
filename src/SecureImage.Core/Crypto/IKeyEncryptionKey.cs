namespace SecureImage.Core.Crypto;

/// <summary>
/// Wraps and unwraps per-image data keys. The wrapped form is stored only in the catalog, never
/// beside the blob, so shredding it makes every copy of the blob unreadable.
/// </summary>
public interface IKeyEncryptionKey
{
    /// <summary>Wraps <paramref name="dataKey"/>, binding it to <paramref name="imageId"/>.</summary>
    Task<WrappedKey> WrapKeyAsync(ReadOnlyMemory<byte> dataKey, Guid imageId, CancellationToken cancellationToken);

    /// <summary>Unwraps a key wrapped for <paramref name="imageId"/>.</summary>
    /// <exception cref="KeyUnwrapException">Unknown key id, tampered key, or another image's key.</exception>
    Task<byte[]> UnwrapKeyAsync(WrappedKey wrappedKey, Guid imageId, CancellationToken cancellationToken);

    /// <summary>A cheap check that the key provider can wrap right now (for readiness).</summary>
    Task CheckAvailableAsync(CancellationToken cancellationToken);
}

/// <summary>A data key as stored in the catalog: the id of the key that wrapped it and the wrapped bytes.</summary>
public sealed record WrappedKey(string KeyId, byte[] Ciphertext);

public sealed class KeyUnwrapException : Exception
{
    public KeyUnwrapException()
    {
    }

    public KeyUnwrapException(string message)
        : base(message)
    {
    }

    public KeyUnwrapException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
