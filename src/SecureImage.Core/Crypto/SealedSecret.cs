using System.Security.Cryptography;

namespace SecureImage.Core.Crypto;

/// <summary>
/// A small secret (e.g. a data-protection key's XML) envelope-encrypted the way images are: a fresh 32-byte data key
/// seals it with AES-256-GCM, and the key-encryption key wraps that data key. The wrap is bound to <see cref="Id"/>, a
/// random id of the secret's own (no image has it), exactly as an image's data key is bound to the image id; the
/// ciphertext's associated data is purpose ‖ id ‖ KEK id, so neither part can be swapped with another secret's.
/// Ciphertext layout: nonce (12) ‖ ciphertext ‖ tag (16).
/// </summary>
public sealed record SealedSecret(Guid Id, WrappedKey Key, byte[] Ciphertext)
{
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private static readonly byte[] Purpose = "secureimage/sealed-secret/v1"u8.ToArray();

    /// <summary>Seals <paramref name="plaintext"/> under a new data key wrapped by <paramref name="kek"/>.</summary>
    public static async Task<SealedSecret> SealAsync(IKeyEncryptionKey kek, ReadOnlyMemory<byte> plaintext, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(kek);
        var id = Guid.NewGuid();
        var dataKey = RandomNumberGenerator.GetBytes(EnvelopeFormat.DataKeySize);
        try
        {
            var wrapped = await kek.WrapKeyAsync(dataKey, id, cancellationToken);
            var output = new byte[NonceSize + plaintext.Length + TagSize];
            var nonce = output.AsSpan(0, NonceSize);
            RandomNumberGenerator.Fill(nonce);
            using var aes = new AesGcm(dataKey, TagSize);
            aes.Encrypt(nonce, plaintext.Span, output.AsSpan(NonceSize, plaintext.Length), output.AsSpan(NonceSize + plaintext.Length), AssociatedData(id, wrapped.KeyId));
            return new SealedSecret(id, wrapped, output);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey);
        }
    }

    /// <summary>The plaintext; the caller should zero it when done.</summary>
    /// <exception cref="KeyUnwrapException">The data key does not unwrap, or the ciphertext was altered or belongs to another secret.</exception>
    public async Task<byte[]> OpenAsync(IKeyEncryptionKey kek, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(kek);
        if (Ciphertext is null || Ciphertext.Length < NonceSize + TagSize)
        {
            throw new KeyUnwrapException("The sealed secret is truncated.");
        }

        var dataKey = await kek.UnwrapKeyAsync(Key, Id, cancellationToken);
        try
        {
            var plaintext = new byte[Ciphertext.Length - NonceSize - TagSize];
            using var aes = new AesGcm(dataKey, TagSize);
            aes.Decrypt(
                Ciphertext.AsSpan(0, NonceSize),
                Ciphertext.AsSpan(NonceSize, plaintext.Length),
                Ciphertext.AsSpan(NonceSize + plaintext.Length),
                plaintext,
                AssociatedData(Id, Key.KeyId));
            return plaintext;
        }
        catch (AuthenticationTagMismatchException ex)
        {
            throw new KeyUnwrapException("The sealed secret was altered or does not belong to this key.", ex);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey);
        }
    }

    private static byte[] AssociatedData(Guid id, string keyId) => LocalKeyEncryptionKey.BindingData(Purpose, id, keyId);
}
