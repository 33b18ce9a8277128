using System.Security.Cryptography;
using System.Text;

namespace SecureImage.Core.Crypto;

/// <summary>
/// Key-encryption keys held locally (configuration or key file): AES-256-GCM over the data key with
/// associated data = purpose ‖ image id ‖ key id, so a wrapped key cannot be moved to another image
/// or relabelled with another key id.
/// Wrapped layout v1: version (1) ‖ nonce (12) ‖ ciphertext (32) ‖ tag (16).
/// </summary>
public sealed class LocalKeyEncryptionKey : IKeyEncryptionKey
{
    public const int KeySizeBytes = 32;
    private const byte FormatVersion = 1;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private static readonly byte[] Purpose = "secureimage/data-key/v1"u8.ToArray();
    private readonly KeyRing _ring;

    public LocalKeyEncryptionKey(KeyRing ring)
    {
        ArgumentNullException.ThrowIfNull(ring);
        if (ring.KeySizeBytes != KeySizeBytes)
        {
            throw new ArgumentException("Key-encryption keys must be 32 bytes.", nameof(ring));
        }

        _ring = ring;
    }

    public Task<WrappedKey> WrapKeyAsync(ReadOnlyMemory<byte> dataKey, Guid imageId, CancellationToken cancellationToken)
    {
        if (dataKey.Length != EnvelopeFormat.DataKeySize)
        {
            throw new ArgumentException("A data key is 32 bytes.", nameof(dataKey));
        }

        var keyId = _ring.ActiveKeyId;
        var output = new byte[1 + NonceSize + dataKey.Length + TagSize];
        output[0] = FormatVersion;
        var nonce = output.AsSpan(1, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_ring.ActiveKey, TagSize);
        aes.Encrypt(
            nonce,
            dataKey.Span,
            output.AsSpan(1 + NonceSize, dataKey.Length),
            output.AsSpan(1 + NonceSize + dataKey.Length, TagSize),
            AssociatedData(imageId, keyId));
        return Task.FromResult(new WrappedKey(keyId, output));
    }

    public Task<byte[]> UnwrapKeyAsync(WrappedKey wrappedKey, Guid imageId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(wrappedKey);
        var input = wrappedKey.Ciphertext;
        if (input is null || input.Length != 1 + NonceSize + EnvelopeFormat.DataKeySize + TagSize || input[0] != FormatVersion)
        {
            throw new KeyUnwrapException("The wrapped key has an unknown format.");
        }

        if (!_ring.TryGetKey(wrappedKey.KeyId, out var kek))
        {
            throw new KeyUnwrapException("The key that wrapped this data key is not on the ring.");
        }

        var dataKey = new byte[EnvelopeFormat.DataKeySize];
        try
        {
            using var aes = new AesGcm(kek, TagSize);
            aes.Decrypt(
                input.AsSpan(1, NonceSize),
                input.AsSpan(1 + NonceSize, dataKey.Length),
                input.AsSpan(1 + NonceSize + dataKey.Length, TagSize),
                dataKey,
                AssociatedData(imageId, wrappedKey.KeyId));
        }
        catch (AuthenticationTagMismatchException ex)
        {
            throw new KeyUnwrapException("The wrapped key does not belong to this image or was altered.", ex);
        }

        return Task.FromResult(dataKey);
    }

    public Task CheckAvailableAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static byte[] AssociatedData(Guid imageId, string keyId) => BindingData(Purpose, imageId, keyId);

    /// <summary>purpose ‖ id (16, big-endian) ‖ key id (UTF-8): what ties a wrapped or sealed value to its owner and key.</summary>
    internal static byte[] BindingData(byte[] purpose, Guid id, string keyId)
    {
        var keyIdBytes = Encoding.UTF8.GetBytes(keyId);
        var aad = new byte[purpose.Length + 16 + keyIdBytes.Length];
        purpose.CopyTo(aad, 0);
        id.TryWriteBytes(aad.AsSpan(purpose.Length, 16), bigEndian: true, out _);
        keyIdBytes.CopyTo(aad, purpose.Length + 16);
        return aad;
    }
}
