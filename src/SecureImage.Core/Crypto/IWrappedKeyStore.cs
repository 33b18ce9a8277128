namespace SecureImage.Core.Crypto;

/// <summary>The catalog's wrapped data keys, for re-wrapping them under the current key-encryption key.</summary>
public interface IWrappedKeyStore
{
    /// <summary>Up to <paramref name="limit"/> images that still hold a wrapped key, ordered by id, after <paramref name="afterId"/>.</summary>
    Task<IReadOnlyList<StoredWrappedKey>> ListWrappedKeysAsync(Guid? afterId, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces an image's wrapped key if it is still <paramref name="expected"/>'s key id and the image
    /// is not erased (an erasure or a concurrent re-wrap wins). Returns whether it was replaced.
    /// </summary>
    Task<bool> ReplaceWrappedKeyAsync(Guid imageId, string expectedKeyId, WrappedKey replacement, CancellationToken cancellationToken);
}

public sealed record StoredWrappedKey(Guid ImageId, WrappedKey WrappedKey);

/// <summary>The outcome of one re-wrap run.</summary>
public sealed record RewrapResult(int Examined, int Rewrapped, int Failed);

/// <summary>
/// Re-wraps every live data key under the key-encryption key's current version, in batches.
/// Idempotent: a key already wrapped by the current version is left alone, so a second run changes
/// nothing. The blob is never touched: only the wrapped key in the catalog changes.
/// </summary>
public sealed class KeyRewrapper(IWrappedKeyStore store, IKeyEncryptionKey kek)
{
    public async Task<RewrapResult> RewrapAllAsync(int batchSize, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        int examined = 0, rewrapped = 0, failed = 0;
        Guid? after = null;
        while (true)
        {
            var batch = await store.ListWrappedKeysAsync(after, batchSize, cancellationToken);
            foreach (var stored in batch)
            {
                examined++;
                try
                {
                    var dataKey = await kek.UnwrapKeyAsync(stored.WrappedKey, stored.ImageId, cancellationToken);
                    try
                    {
                        var replacement = await kek.WrapKeyAsync(dataKey, stored.ImageId, cancellationToken);
                        if (replacement.KeyId != stored.WrappedKey.KeyId
                            && await store.ReplaceWrappedKeyAsync(stored.ImageId, stored.WrappedKey.KeyId, replacement, cancellationToken))
                        {
                            rewrapped++;
                        }
                    }
                    finally
                    {
                        System.Security.Cryptography.CryptographicOperations.ZeroMemory(dataKey);
                    }
                }
                catch (KeyUnwrapException)
                {
                    // A bad wrapped key stays as it is (and stays unreadable); counted, never fatal.
                    failed++;
                }
            }

            if (batch.Count < batchSize)
            {
                return new RewrapResult(examined, rewrapped, failed);
            }

            after = batch[^1].ImageId;
        }
    }
}
