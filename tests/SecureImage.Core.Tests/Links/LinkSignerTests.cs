using System.Globalization;
using SecureImage.Core.Links;
using SecureImage.Core.Tests.TestSupport;

namespace SecureImage.Core.Tests.Links;

public sealed class LinkSignerTests
{
    internal const string Base64UrlAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeMilliseconds(1_760_000_000_250);
    private static readonly DateTimeOffset Expiry = DateTimeOffset.FromUnixTimeSeconds(1_760_000_600);
    private readonly Guid _imageId = Guid.NewGuid();

    // Verifies with k1 active and k2 on the ring, so "another key id on the ring" is a real key.
    private readonly LinkSigner _verifier = new(TestKeys.Ring("k1", "k2"));
    private readonly LinkSignature _link;

    public LinkSignerTests() => _link = new LinkSigner(TestKeys.Ring("k1")).Sign(_imageId, Expiry);

    [Fact]
    public void Link_signed_by_the_active_key_verifies()
    {
        Assert.Equal("k1", _link.KeyId);
        Assert.Equal(Expiry, _link.ExpiresAt);
        Assert.True(Verify(_imageId, Exp(_link.ExpiresUnixSeconds), _link.KeyId, _link.Signature, Now));
    }

    [Fact]
    public void Link_signed_by_a_key_still_on_the_ring_but_no_longer_active_verifies()
    {
        var signedBeforeRotation = new LinkSigner(TestKeys.Ring("k1")).Sign(_imageId, Expiry);
        var afterRotation = new LinkSigner(TestKeys.Ring("k2", "k1"));

        Assert.True(afterRotation.Verify(_imageId, Exp(signedBeforeRotation.ExpiresUnixSeconds), "k1", signedBeforeRotation.Signature, Now));
        Assert.Equal("k2", afterRotation.Sign(_imageId, Expiry).KeyId);
    }

    [Fact]
    public void Link_signed_by_a_retired_key_does_not_verify()
    {
        var signedBeforeRotation = new LinkSigner(TestKeys.Ring("k1")).Sign(_imageId, Expiry);
        var afterRetirement = new LinkSigner(TestKeys.Ring("k2"));

        Assert.False(afterRetirement.Verify(_imageId, Exp(signedBeforeRotation.ExpiresUnixSeconds), "k1", signedBeforeRotation.Signature, Now));
    }

    [Theory]
    [InlineData("another image id")]
    [InlineData("a later expiry")]
    [InlineData("an earlier expiry")]
    [InlineData("another key id on the ring")]
    [InlineData("an unknown key id")]
    [InlineData("a key id in another case")]
    [InlineData("a signature cut by one character")]
    [InlineData("a signature one character longer")]
    [InlineData("a signature with padding")]
    [InlineData("a signature in standard base64")]
    [InlineData("an empty signature")]
    [InlineData("a missing signature")]
    [InlineData("an empty expiry")]
    [InlineData("a missing expiry")]
    [InlineData("an empty key id")]
    [InlineData("a missing key id")]
    [InlineData("a non-numeric expiry")]
    [InlineData("an expiry with a sign")]
    [InlineData("an expiry with white space")]
    [InlineData("an expiry in milliseconds")]
    [InlineData("an expiry too large for a number")]
    public void Tampered_link_does_not_verify(string tampering)
    {
        var imageId = _imageId;
        string? exp = Exp(_link.ExpiresUnixSeconds);
        string? keyId = _link.KeyId;
        string? signature = _link.Signature;
        switch (tampering)
        {
            case "another image id": imageId = Guid.NewGuid(); break;
            case "a later expiry": exp = Exp(_link.ExpiresUnixSeconds + 1); break;
            case "an earlier expiry": exp = Exp(_link.ExpiresUnixSeconds - 1); break;
            case "another key id on the ring": keyId = "k2"; break;
            case "an unknown key id": keyId = "k9"; break;
            case "a key id in another case": keyId = "K1"; break;
            case "a signature cut by one character": signature = signature[..^1]; break;
            case "a signature one character longer": signature += "A"; break;
            case "a signature with padding": signature += "="; break;
            case "a signature in standard base64": signature = Convert.ToBase64String(Convert.FromBase64String(ToStandardBase64(signature))); break;
            case "an empty signature": signature = ""; break;
            case "a missing signature": signature = null; break;
            case "an empty expiry": exp = ""; break;
            case "a missing expiry": exp = null; break;
            case "an empty key id": keyId = ""; break;
            case "a missing key id": keyId = null; break;
            case "a non-numeric expiry": exp = "tomorrow"; break;
            case "an expiry with a sign": exp = "+" + exp; break;
            case "an expiry with white space": exp = " " + exp; break;
            case "an expiry in milliseconds": exp = Exp(_link.ExpiresUnixSeconds * 1000); break;
            case "an expiry too large for a number": exp = "99999999999999999999999"; break;
            default: throw new ArgumentOutOfRangeException(nameof(tampering));
        }

        Assert.False(Verify(imageId, exp, keyId, signature, Now));
    }

    [Fact]
    public void Link_signature_with_any_one_character_changed_does_not_verify()
    {
        var verifiedAnyway = new List<int>();
        for (var position = 0; position < _link.Signature.Length; position++)
        {
            // Moving by 32 in the alphabet flips the top bit of the 6-bit value, which is significant in every position.
            var changed = _link.Signature.ToCharArray();
            changed[position] = Base64UrlAlphabet[(Base64UrlAlphabet.IndexOf(changed[position], StringComparison.Ordinal) + 32) % 64];
            if (Verify(_imageId, Exp(_link.ExpiresUnixSeconds), _link.KeyId, new string(changed), Now))
            {
                verifiedAnyway.Add(position);
            }
        }

        Assert.Empty(verifiedAnyway);
    }

    [Fact]
    public void Link_for_the_same_image_and_expiry_has_the_same_signature()
    {
        var again = new LinkSigner(TestKeys.Ring("k1")).Sign(_imageId, Expiry);

        Assert.Equal(_link, again);
    }

    [Theory]
    [InlineData(-1000)]
    [InlineData(-1)]
    public void Link_verifies_until_just_before_its_expiry(int millisecondsFromExpiry)
    {
        Assert.True(Verify(_imageId, Exp(_link.ExpiresUnixSeconds), _link.KeyId, _link.Signature, Expiry.AddMilliseconds(millisecondsFromExpiry)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(1000)]
    [InlineData(86_400_000)]
    public void Link_does_not_verify_at_or_after_its_expiry(int millisecondsFromExpiry)
    {
        Assert.False(Verify(_imageId, Exp(_link.ExpiresUnixSeconds), _link.KeyId, _link.Signature, Expiry.AddMilliseconds(millisecondsFromExpiry)));
    }

    [Fact]
    public void Link_expiry_is_signed_in_whole_seconds_rounded_down()
    {
        var link = new LinkSigner(TestKeys.Ring("k1")).Sign(_imageId, Expiry.AddMilliseconds(999));

        Assert.Equal(Expiry, link.ExpiresAt);
    }

    [Fact]
    public void Link_query_string_carries_expiry_key_id_and_signature()
    {
        Assert.Equal($"?exp=1760000600&kid=k1&sig={_link.Signature}", _link.ToQueryString());
        Assert.Matches("^[A-Za-z0-9_-]{43}$", _link.Signature);
    }

    [Fact]
    public void Link_signer_refuses_keys_that_are_not_32_bytes()
    {
        var ring = new Core.Crypto.KeyRing([KeyValuePair.Create("k1", new byte[16])], "k1", 16);

        Assert.Throws<ArgumentException>(() => new LinkSigner(ring));
    }

    private bool Verify(Guid imageId, string? exp, string? keyId, string? signature, DateTimeOffset now) =>
        _verifier.Verify(imageId, exp, keyId, signature, now);

    private static string Exp(long seconds) => seconds.ToString(CultureInfo.InvariantCulture);

    private static string ToStandardBase64(string base64Url) =>
        base64Url.Replace('-', '+').Replace('_', '/') + new string('=', (4 - (base64Url.Length % 4)) % 4);

    [Fact]
    public void A_preview_signature_verifies_only_with_variant_preview_and_an_original_only_without_a_variant()
    {
        var signer = new LinkSigner(TestKeys.Ring("k1"));
        var preview = signer.Sign(_imageId, Expiry, LinkVariant.Preview);
        var exp = Exp(preview.ExpiresUnixSeconds);

        Assert.NotEqual(_link.Signature, preview.Signature);
        Assert.True(_verifier.Verify(_imageId, exp, "k1", preview.Signature, "preview", Now, out var verified));
        Assert.Equal(LinkVariant.Preview, verified);
        Assert.True(_verifier.Verify(_imageId, exp, "k1", _link.Signature, null, Now, out verified));
        Assert.Equal(LinkVariant.Original, verified);
        foreach (var variant in new string?[] { null, "original", "Preview", "preview ", "", "preview,preview" })
        {
            Assert.False(_verifier.Verify(_imageId, exp, "k1", preview.Signature, variant, Now, out _), $"variant '{variant}'");
        }

        foreach (var variant in new[] { "preview", "original", "" })
        {
            Assert.False(_verifier.Verify(_imageId, exp, "k1", _link.Signature, variant, Now, out _), $"variant '{variant}'");
        }
    }

    [Fact]
    public void A_preview_link_query_names_its_variant_last_and_an_original_none()
    {
        var preview = new LinkSigner(TestKeys.Ring("k1")).Sign(_imageId, Expiry, LinkVariant.Preview);

        Assert.EndsWith("&variant=preview", preview.ToQueryString(), StringComparison.Ordinal);
        Assert.DoesNotContain("variant", _link.ToQueryString(), StringComparison.Ordinal);
    }
}
