using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using SecureImage.Core.Crypto;

namespace SecureImage.Core.Links;

/// <summary>What a link serves: the sanitized original, or its preview rendition.</summary>
public enum LinkVariant
{
    Original,
    Preview,
}

public static class LinkVariants
{
    /// <summary>The name in the API and in a link's query (<c>variant=preview</c>; an original's link has no variant).</summary>
    public static string Name(this LinkVariant variant) => variant == LinkVariant.Preview ? "preview" : "original";
}

/// <summary>
/// The query of a signed link v1: <c>?exp=&lt;Unix seconds&gt;&amp;kid=&lt;key id&gt;&amp;sig=&lt;base64url HMAC-SHA256&gt;</c>,
/// and <c>&amp;variant=preview</c> for a preview's link.
/// </summary>
public sealed record LinkSignature(long ExpiresUnixSeconds, string KeyId, string Signature)
{
    public LinkVariant Variant { get; init; }

    public DateTimeOffset ExpiresAt => DateTimeOffset.FromUnixTimeSeconds(ExpiresUnixSeconds);

    public string ToQueryString() =>
        string.Create(CultureInfo.InvariantCulture, $"?exp={ExpiresUnixSeconds}&kid={Uri.EscapeDataString(KeyId)}&sig={Signature}{(Variant == LinkVariant.Preview ? "&variant=preview" : "")}");
}

/// <summary>
/// Signs and verifies download links v1. The MAC covers a canonical string of version, method,
/// image id and expiry. Verification takes the same time whether the key id is known, the
/// signature is wrong, or the link expired, and callers get one answer for all of them. A preview's link
/// also covers its variant (the original's canonical string is unchanged, so links issued before stay valid):
/// adding, removing or changing <c>variant</c> breaks the signature like any other change.
/// </summary>
public sealed class LinkSigner
{
    public const int KeySizeBytes = 32;
    private const int MacSize = 32;
    private static readonly int EncodedMacLength = Base64Url.GetEncodedLength(MacSize);
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

    public LinkSignature Sign(Guid imageId, DateTimeOffset expiresAt, LinkVariant variant = LinkVariant.Original)
    {
        var exp = expiresAt.ToUnixTimeSeconds();
        Span<byte> mac = stackalloc byte[MacSize];
        Compute(_ring.ActiveKey, imageId, exp, variant, mac);
        return new LinkSignature(exp, _ring.ActiveKeyId, Base64Url.EncodeToString(mac)) { Variant = variant };
    }

    public bool Verify(Guid imageId, string? exp, string? keyId, string? signature, DateTimeOffset now) =>
        Verify(imageId, exp, keyId, signature, variant: null, now, out _);

    /// <summary>
    /// True only if the signature is authentic under a key on the ring and <paramref name="now"/> is before the expiry.
    /// Values are checked strictly and never throw: the expiry must be canonical decimal (no sign, white space or
    /// leading zero) and the signature the exact base64url text <see cref="Sign"/> produces, so every other spelling
    /// of the same bytes (padding, standard base64, non-zero trailing bits, percent-encoding) is refused like a wrong one.
    /// </summary>
    /// <param name="variant">The query's <c>variant</c>: absent for the original, exactly <c>preview</c> for the preview; any other value is refused.</param>
    /// <param name="verified">The variant the signature covers (meaningful only when the result is true).</param>
    public bool Verify(Guid imageId, string? exp, string? keyId, string? signature, string? variant, DateTimeOffset now, out LinkVariant verified)
    {
        var variantKnown = variant is null || string.Equals(variant, "preview", StringComparison.Ordinal);
        verified = variant is null ? LinkVariant.Original : LinkVariant.Preview;
        var expParsed = long.TryParse(exp, NumberStyles.None, CultureInfo.InvariantCulture, out var expSeconds)
            && string.Equals(exp, expSeconds.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        var keyKnown = _ring.TryGetKey(keyId ?? "", out var key);
        if (!keyKnown)
        {
            key = UnknownKey;
        }

        // The expected MAC is computed and encoded whatever was presented, so the work does not depend on the key id,
        // the expiry or the signature's length or content.
        Span<byte> expected = stackalloc byte[MacSize];
        Compute(key, imageId, expParsed ? expSeconds : 0, verified, expected);
        Span<byte> expectedText = stackalloc byte[EncodedMacLength];
        Base64Url.EncodeToUtf8(expected, expectedText);

        // The presented characters as bytes; any character outside ASCII marks the value as malformed (a plain cast
        // could turn U+0141 into 'A').
        Span<byte> presentedText = stackalloc byte[EncodedMacLength];
        var presented = signature.AsSpan();
        var nonAscii = 0;
        for (var i = 0; i < EncodedMacLength; i++)
        {
            var c = i < presented.Length ? presented[i] : '\0';
            nonAscii |= c >> 7;
            presentedText[i] = (byte)c;
        }

        var macMatches = CryptographicOperations.FixedTimeEquals(expectedText, presentedText);
        var wellFormed = signature is not null & presented.Length == EncodedMacLength & nonAscii == 0;
        var notExpired = expParsed && expSeconds > now.ToUnixTimeSeconds();
        return macMatches & wellFormed & keyKnown & expParsed & notExpired & variantKnown;
    }

    private static void Compute(ReadOnlySpan<byte> key, Guid imageId, long expSeconds, LinkVariant variant, Span<byte> mac)
    {
        var canonical = string.Create(CultureInfo.InvariantCulture, $"secureimage-link\nv1\nGET\n{imageId:D}\n{expSeconds}{(variant == LinkVariant.Preview ? "\npreview" : "")}");
        HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(canonical), mac);
    }
}
