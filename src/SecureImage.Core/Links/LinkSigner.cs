using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using SecureImage.Core.Crypto;

namespace SecureImage.Core.Links;

/// <summary>The query of a signed link v1: <c>?exp=&lt;Unix seconds&gt;&amp;kid=&lt;key id&gt;&amp;sig=&lt;base64url HMAC-SHA256&gt;</c>.</summary>
public sealed record LinkSignature(long ExpiresUnixSeconds, string KeyId, string Signature)
{
    public DateTimeOffset ExpiresAt => DateTimeOffset.FromUnixTimeSeconds(ExpiresUnixSeconds);

    public string ToQueryString() =>
        string.Create(CultureInfo.InvariantCulture, $"?exp={ExpiresUnixSeconds}&kid={Uri.EscapeDataString(KeyId)}&sig={Signature}");
}

/// <summary>
/// Signs and verifies download links v1. The MAC covers a canonical string of version, method,
/// image id and expiry. Verification takes the same time whether the key id is known, the
/// signature is wrong, or the link expired, and callers get one answer for all of them.
/// </summary>
public sealed class LinkSigner
{
    public const int KeySizeBytes = 32;
    private const int MacSize = 32;
    private static readonly byte[] UnknownKey = new byte[KeySizeBytes];
    private readonly KeyRing _ring;

    public LinkSigner(KeyRing ring)
    {
        ArgumentNullException.ThrowIfNull(ring);
        if (ring.KeySizeBytes != KeySizeBytes)
        {
            throw new ArgumentException("Link signing keys must be 32 bytes.", nameof(ring));
        }

        _ring = ring;
    }

    public LinkSignature Sign(Guid imageId, DateTimeOffset expiresAt)
    {
        var exp = expiresAt.ToUnixTimeSeconds();
        Span<byte> mac = stackalloc byte[MacSize];
        Compute(_ring.ActiveKey, imageId, exp, mac);
        return new LinkSignature(exp, _ring.ActiveKeyId, Base64Url.EncodeToString(mac));
    }

    /// <summary>True only if the signature is authentic under a key on the ring and <paramref name="now"/> is before the expiry.</summary>
    public bool Verify(Guid imageId, string? exp, string? keyId, string? signature, DateTimeOffset now)
    {
        var expParsed = long.TryParse(exp, NumberStyles.None, CultureInfo.InvariantCulture, out var expSeconds);
        var keyKnown = _ring.TryGetKey(keyId ?? "", out var key);
        if (!keyKnown)
        {
            key = UnknownKey;
        }

        Span<byte> expected = stackalloc byte[MacSize];
        Compute(key, imageId, expParsed ? expSeconds : 0, expected);

        Span<byte> presented = stackalloc byte[MacSize];
        presented.Clear();
        var decoded = signature is not null
            && signature.Length == Base64Url.GetEncodedLength(MacSize)
            && Base64Url.TryDecodeFromChars(signature, presented, out var written)
            && written == MacSize;

        var macMatches = CryptographicOperations.FixedTimeEquals(expected, presented);
        var notExpired = expParsed && expSeconds > now.ToUnixTimeSeconds();
        return macMatches & decoded & keyKnown & expParsed & notExpired;
    }

    private static void Compute(ReadOnlySpan<byte> key, Guid imageId, long expSeconds, Span<byte> mac)
    {
        var canonical = string.Create(CultureInfo.InvariantCulture, $"secureimage-link\nv1\nGET\n{imageId:D}\n{expSeconds}");
        HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(canonical), mac);
    }
}
