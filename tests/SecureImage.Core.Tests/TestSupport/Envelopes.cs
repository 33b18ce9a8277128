using SecureImage.Core.Crypto;

namespace SecureImage.Core.Tests.TestSupport;

/// <summary>Whole-buffer envelope helpers; the streams themselves are driven in odd chunk sizes.</summary>
internal static class Envelopes
{
    public const string KeyId = "k1";

    /// <summary>magic (4) ‖ version (1) ‖ segment size (4) ‖ key id length (1) ‖ key id ‖ nonce prefix (7).</summary>
    public static readonly int HeaderLength = 10 + KeyId.Length + EnvelopeFormat.NoncePrefixSize;

    public static async Task<byte[]> EncryptAsync(
        byte[] plaintext, byte[] dataKey, Guid imageId, int segmentSize = EnvelopeFormat.DefaultSegmentSize, int chunkSize = 4099, bool complete = true)
    {
        var output = new MemoryStream();
        await using (var envelope = new EnvelopeEncryptingStream(output, dataKey, imageId, KeyId, segmentSize))
        {
            for (var offset = 0; offset < plaintext.Length; offset += chunkSize)
            {
                await envelope.WriteAsync(plaintext.AsMemory(offset, Math.Min(chunkSize, plaintext.Length - offset)));
            }

            if (complete)
            {
                await envelope.CompleteAsync(CancellationToken.None);
            }
        }

        return output.ToArray();
    }

    public static async Task<byte[]> DecryptAsync(byte[] envelope, byte[] dataKey, Guid imageId, int chunkSize = 4099)
    {
        await using var decrypting = new EnvelopeDecryptingStream(new MemoryStream(envelope, writable: false), dataKey, imageId);
        return await decrypting.ReadToEndAsync(chunkSize);
    }
}
