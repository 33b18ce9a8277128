using System.Buffers.Binary;
using System.Text;

namespace SecureImage.Core.Crypto;

/// <summary>
/// Envelope v1, the bytes of every blob.
/// <code>
/// header:  magic "SIEV" (4) ‖ version 0x01 (1) ‖ segment size, plaintext bytes, uint32 BE (4)
///          ‖ key id length (1) ‖ key id, UTF-8 ‖ nonce prefix (7)
/// body:    segments, each AES-256-GCM ciphertext ‖ tag (16)
/// </code>
/// Every segment but the last holds exactly <c>segment size</c> plaintext bytes; the last holds
/// fewer (possibly none), so a writer whose input ends on a segment boundary adds an empty last
/// segment. Segment nonce = prefix (7) ‖ counter uint32 BE (4) ‖ last flag (1). Associated data =
/// header ‖ image id (16, big-endian), so reordering, truncation, extension and swapping blobs
/// between images all fail authentication.
/// </summary>
public static class EnvelopeFormat
{
    public const byte Version = 1;
    public const int DataKeySize = 32;
    public const int TagSize = 16;
    public const int NoncePrefixSize = 7;
    public const int NonceSize = 12;
    public const int DefaultSegmentSize = 64 * 1024;

    /// <summary>Upper bound a reader accepts, so a forged header cannot make it allocate much.</summary>
    public const int MaxSegmentSize = 1024 * 1024;

    private static ReadOnlySpan<byte> Magic => "SIEV"u8;

    internal static byte[] WriteHeader(int segmentSize, string keyId, ReadOnlySpan<byte> noncePrefix)
    {
        KeyRing.ValidateKeyId(keyId);
        var keyIdBytes = Encoding.UTF8.GetBytes(keyId);
        var header = new byte[4 + 1 + 4 + 1 + keyIdBytes.Length + NoncePrefixSize];
        Magic.CopyTo(header);
        header[4] = Version;
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(5), (uint)segmentSize);
        header[9] = (byte)keyIdBytes.Length;
        keyIdBytes.CopyTo(header, 10);
        noncePrefix.CopyTo(header.AsSpan(10 + keyIdBytes.Length));
        return header;
    }

    /// <summary>Reads and checks the header; returns its bytes and parsed fields.</summary>
    internal static async Task<EnvelopeHeader> ReadHeaderAsync(Stream source, CancellationToken cancellationToken)
    {
        var fixedPart = new byte[10];
        if (await ReadFullyAsync(source, fixedPart, cancellationToken) != fixedPart.Length || !fixedPart.AsSpan(0, 4).SequenceEqual(Magic))
        {
            throw new EnvelopeException("Not an envelope.");
        }

        if (fixedPart[4] != Version)
        {
            throw new EnvelopeException("Unsupported envelope version.");
        }

        var segmentSize = BinaryPrimitives.ReadUInt32BigEndian(fixedPart.AsSpan(5));
        if (segmentSize is 0 or > MaxSegmentSize)
        {
            throw new EnvelopeException("Invalid segment size.");
        }

        var keyIdLength = fixedPart[9];
        if (keyIdLength is 0 or > KeyRing.MaxKeyIdLength)
        {
            throw new EnvelopeException("Invalid key id.");
        }

        var header = new byte[fixedPart.Length + keyIdLength + NoncePrefixSize];
        fixedPart.CopyTo(header, 0);
        if (await ReadFullyAsync(source, header.AsMemory(fixedPart.Length), cancellationToken) != header.Length - fixedPart.Length)
        {
            throw new EnvelopeException("Truncated envelope header.");
        }

        var keyId = Encoding.UTF8.GetString(header, 10, keyIdLength);
        var noncePrefix = header.AsSpan(10 + keyIdLength, NoncePrefixSize).ToArray();
        return new EnvelopeHeader(header, (int)segmentSize, keyId, noncePrefix);
    }

    internal static byte[] AssociatedData(byte[] header, Guid imageId)
    {
        var aad = new byte[header.Length + 16];
        header.CopyTo(aad, 0);
        imageId.TryWriteBytes(aad.AsSpan(header.Length), bigEndian: true, out _);
        return aad;
    }

    internal static void SegmentNonce(ReadOnlySpan<byte> prefix, uint counter, bool last, Span<byte> nonce)
    {
        prefix.CopyTo(nonce);
        BinaryPrimitives.WriteUInt32BigEndian(nonce[NoncePrefixSize..], counter);
        nonce[NonceSize - 1] = last ? (byte)1 : (byte)0;
    }

    internal static async ValueTask<int> ReadFullyAsync(Stream source, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var read = await source.ReadAsync(buffer[total..], cancellationToken);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }
}

internal sealed record EnvelopeHeader(byte[] Bytes, int SegmentSize, string KeyId, byte[] NoncePrefix);

/// <summary>The envelope is malformed or failed authentication. Never carries plaintext.</summary>
public sealed class EnvelopeException : Exception
{
    public EnvelopeException()
    {
    }

    public EnvelopeException(string message)
        : base(message)
    {
    }

    public EnvelopeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
