using System.Globalization;
using System.Text;
using SecureImage.Core.Links;
using SecureImage.Core.Tests.TestSupport;

namespace SecureImage.Core.Tests.Links;

/// <summary>
/// Property-style checks of link verification over many forged values (seeded, so a failure names a
/// reproducible case): every value other than the exact canonical link is refused, and nothing throws.
/// </summary>
public sealed class LinkSignerForgeryTests
{
    private const string Base64UrlAlphabet = LinkSignerTests.Base64UrlAlphabet;
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_760_000_000);
    private static readonly DateTimeOffset Expiry = DateTimeOffset.FromUnixTimeSeconds(1_760_000_600);
    private static readonly string PrintableAscii = new([.. Enumerable.Range(0x20, 0x7F - 0x20).Select(c => (char)c)]);
    private readonly Guid _imageId = Guid.NewGuid();
    private readonly LinkSigner _signer = new(TestKeys.Ring("k1", "k2"));
    private readonly LinkSignature _link;

    public LinkSignerForgeryTests() => _link = _signer.Sign(_imageId, Expiry);

    private string ValidExp => _link.ExpiresUnixSeconds.ToString(CultureInfo.InvariantCulture);

    [Fact]
    public void Random_43_character_signatures_over_printable_ascii_never_verify_and_never_throw()
    {
        var random = new Random(1301);
        var failures = new List<string>();
        for (var i = 0; i < 20_000; i++)
        {
            var forged = RandomString(random, PrintableAscii, 43);
            Check(forged, failures);
        }

        AssertNone(failures);
    }

    [Fact]
    public void Random_43_character_signatures_over_the_base64url_alphabet_never_verify()
    {
        // Well-formed but wrong: exercises the comparison rather than the decoding.
        var random = new Random(1302);
        var failures = new List<string>();
        for (var i = 0; i < 20_000; i++)
        {
            Check(RandomString(random, Base64UrlAlphabet, 43), failures);
        }

        AssertNone(failures);
    }

    [Fact]
    public void A_valid_signature_with_any_one_character_replaced_by_any_printable_or_non_ascii_character_never_verifies()
    {
        var failures = new List<string>();
        var replacements = PrintableAscii + "\u0000\t\n\u007f\u0080\u00c1\u0141\uff21\ud83d";
        for (var position = 0; position < _link.Signature.Length; position++)
        {
            foreach (var replacement in replacements)
            {
                if (replacement == _link.Signature[position])
                {
                    continue;
                }

                var changed = _link.Signature.ToCharArray();
                changed[position] = replacement;
                Check(new string(changed), failures);
            }
        }

        AssertNone(failures);
    }

    [Fact]
    public void A_valid_signature_whose_last_character_only_changes_the_padding_bits_does_not_verify()
    {
        // 32 bytes are 256 bits; 43 characters carry 258, so the last character has 2 bits that decode to nothing.
        // The three other characters with the same 4 significant bits decode to the same MAC: still refused.
        var last = Base64UrlAlphabet.IndexOf(_link.Signature[^1], StringComparison.Ordinal);
        Assert.Equal(0, last & 0b11);
        var failures = new List<string>();
        for (var padding = 1; padding < 4; padding++)
        {
            Check(_link.Signature[..^1] + Base64UrlAlphabet[last | padding], failures);
        }

        AssertNone(failures);
    }

    [Fact]
    public void Signatures_of_any_other_length_never_verify_and_never_throw()
    {
        var random = new Random(1303);
        var failures = new List<string>();
        for (var length = 0; length <= 200; length++)
        {
            if (length == 43)
            {
                continue;
            }

            for (var i = 0; i < 40; i++)
            {
                Check(RandomString(random, i % 2 == 0 ? Base64UrlAlphabet : PrintableAscii, length), failures);
            }
        }

        // The valid signature as a prefix or inside a longer value.
        foreach (var forged in new[] { _link.Signature + "A", _link.Signature + "=", _link.Signature + "==", "A" + _link.Signature, _link.Signature[..^1], _link.Signature[1..], " " + _link.Signature, _link.Signature + " ", _link.Signature + "\n", _link.Signature + "\0", _link.Signature + _link.Signature })
        {
            Check(forged, failures);
        }

        AssertNone(failures);
    }

    [Fact]
    public void Empty_missing_percent_encoded_and_standard_base64_forms_of_a_valid_signature_never_verify()
    {
        var standard = Convert.ToBase64String(Base64UrlDecode(_link.Signature));
        var percentEncoded = new StringBuilder();
        foreach (var c in _link.Signature)
        {
            percentEncoded.Append(CultureInfo.InvariantCulture, $"%{(int)c:X2}");
        }

        var failures = new List<string>();
        foreach (var forged in new[]
        {
            "", null, standard, standard.TrimEnd('='), Uri.EscapeDataString(standard), percentEncoded.ToString(),
            _link.Signature[..10] + "%2B" + _link.Signature[13..], _link.Signature[..10] + "%2F" + _link.Signature[13..],
            _link.Signature[..40] + "%3D", _link.Signature.ToUpperInvariant(), _link.Signature.ToLowerInvariant(),
            new string('A', 43), new string('_', 43), new string('=', 43), new string('/', 43), new string('.', 43),
        })
        {
            Check(forged, failures);
        }

        AssertNone(failures);
    }

    [Fact]
    public void Malformed_or_non_canonical_expiries_never_verify_even_with_the_valid_signature()
    {
        var exp = ValidExp;
        var forgedExpiries = new[]
        {
            "0" + exp, "00" + exp, "+" + exp, "-" + exp, " " + exp, exp + " ", "\t" + exp, exp + "\n", exp + ".0", exp + "e0",
            exp.Replace('1', '\u0661'), exp.Replace('0', '\uff10'), "0x" + exp, exp + "0", exp[..^1], "",
            "9223372036854775807", "9223372036854775808", "-9223372036854775808", "99999999999999999999999999999",
            "-1", "0", new string('9', 5000),
        };
        var failures = new List<string>();
        foreach (var forged in forgedExpiries)
        {
            if (Verifies(_imageId, forged, _link.KeyId, _link.Signature, out var error))
            {
                failures.Add($"exp '{forged}' verified");
            }
            else if (error is not null)
            {
                failures.Add($"exp '{forged}' threw {error}");
            }
        }

        // Far-future expiries that parse: refused because the MAC does not cover them, and nothing overflows.
        foreach (var seconds in new[] { long.MaxValue, long.MaxValue - 1, 253_402_300_799L, 253_402_300_800L })
        {
            if (Verifies(_imageId, seconds.ToString(CultureInfo.InvariantCulture), _link.KeyId, _link.Signature, out var error) || error is not null)
            {
                failures.Add($"exp {seconds}: {error?.ToString() ?? "verified"}");
            }
        }

        AssertNone(failures);
    }

    [Fact]
    public void Malformed_key_ids_never_verify_and_never_throw()
    {
        var random = new Random(1304);
        var forgedKeyIds = new List<string?>
        {
            null, "", " ", "k1 ", " k1", "K1", "k1\0", "k%31", "%6B%31", "k\u0131", "\u006b\u0031\u0301", "k１", "\ud83d\ude00",
            new string('k', 10_000), "k1" + new string('\0', 100),
        };
        for (var i = 0; i < 500; i++)
        {
            forgedKeyIds.Add(RandomString(random, PrintableAscii + "\u00e9\u4e00\ud83d", random.Next(0, 300)));
        }

        var failures = new List<string>();
        foreach (var keyId in forgedKeyIds)
        {
            if (Verifies(_imageId, ValidExp, keyId, _link.Signature, out var error) || error is not null)
            {
                failures.Add($"kid '{keyId}': {error?.ToString() ?? "verified"}");
            }
        }

        AssertNone(failures);
        Assert.True(_signer.Verify(_imageId, ValidExp, _link.KeyId, _link.Signature, Now), "the unchanged link must still verify");
    }

    private static void AssertNone(List<string> failures) =>
        Assert.True(failures.Count == 0, $"{failures.Count} forged values were not simply refused, e.g.:\n{string.Join("\n", failures.Take(5))}");

    private void Check(string? signature, List<string> failures)
    {
        // A derived form can equal the valid signature (standard base64 of a MAC without '-' or '_'): that one must verify.
        if (signature == _link.Signature)
        {
            return;
        }

        if (Verifies(_imageId, ValidExp, _link.KeyId, signature, out var error))
        {
            failures.Add($"'{signature}' verified");
        }
        else if (error is not null)
        {
            failures.Add($"'{signature}' threw {error.GetType().Name}: {error.Message}");
        }
    }

    private bool Verifies(Guid imageId, string? exp, string? keyId, string? signature, out Exception? error)
    {
        error = null;
        try
        {
            return _signer.Verify(imageId, exp, keyId, signature, Now);
        }
        catch (Exception ex)
        {
            error = ex;
            return false;
        }
    }

    private static string RandomString(Random random, string alphabet, int length)
    {
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = alphabet[random.Next(alphabet.Length)];
        }

        return new string(chars);
    }

    private static byte[] Base64UrlDecode(string value) =>
        Convert.FromBase64String(value.Replace('-', '+').Replace('_', '/') + new string('=', (4 - (value.Length % 4)) % 4));
}
