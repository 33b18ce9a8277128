using System.Text;
using System.Text.Json;
using SecureImage.Core.Kakao;

namespace SecureImage.Core.Tests.Kakao;

/// <summary>Bodies an attacker or a broken client sends: bytes that are not UTF-8, escapes that are not text, NULs, huge and deep values.</summary>
public sealed class KakaoPayloadEncodingTests
{
    private const string U1 = "http://secure.kakaocdn.net/dna/aa/bb/XXX/img_org.jpg?credential=c1&expires=1767225600&signature=s1%3D";

    /// <summary>A payload whose plugin value (a JSON string inside the JSON) and user key are given raw: the caller decides every byte.</summary>
    private static byte[] Payload(byte[] pluginValueJson, byte[]? userKeyJson = null) =>
        [
            .. Encoding.UTF8.GetBytes("{\"userRequest\":{\"user\":{\"id\":"),
            .. userKeyJson ?? Encoding.UTF8.GetBytes("\"user-key-1\""),
            .. Encoding.UTF8.GetBytes("}},\"action\":{\"params\":{\"secureimage\":"),
            .. pluginValueJson,
            .. Encoding.UTF8.GetBytes("}}}"),
        ];

    private static byte[] Payload(byte[] pluginValueJson, string userKeyJson) => Payload(pluginValueJson, Encoding.UTF8.GetBytes(userKeyJson));

    private static byte[] PluginString(string innerJsonEscaped) => Encoding.UTF8.GetBytes("\"" + innerJsonEscaped + "\"");

    private static byte[] Good => PluginString("{\\\"privacyAgreement\\\":\\\"Y\\\",\\\"secureUrls\\\":\\\"List(" + U1 + ")\\\"}");

    public static TheoryData<byte[]> NotUtf8 => new()
    {
        new byte[] { 0xC3, 0x28 }, // a lead byte without its continuation
        new byte[] { 0xFF, 0xFE }, // never valid in UTF-8
        new byte[] { 0xC0, 0xAF }, // overlong '/'
        new byte[] { 0xE0, 0x80, 0xAF }, // overlong, three bytes
        new byte[] { 0xED, 0xA0, 0x80 }, // a UTF-16 surrogate encoded as UTF-8 (CESU)
        new byte[] { 0xF4, 0x90, 0x80, 0x80 }, // above U+10FFFF
        new byte[] { 0x80 }, // a lone continuation byte
    };

    [Theory]
    [MemberData(nameof(NotUtf8))]
    public void Bytes_that_are_not_utf8_inside_the_plugin_value_are_undecodable(byte[] bad)
    {
        var before = PluginString("{\\\"privacyAgreement\\\":\\\"Y\\\",\\\"secureUrls\\\":\\\"List(" + U1);
        var after = PluginString(")\\\"}");
        var body = Payload([.. before[..^1], .. bad, .. after[1..]]);

        var request = KakaoSkillPayload.Parse(body, "secureimage");

        Assert.Equal(KakaoPayloadProblem.Undecodable, request.Problem);
        Assert.Empty(request.SecureUrls);
        Assert.Null(request.UserKey);
    }

    [Theory]
    [MemberData(nameof(NotUtf8))]
    public void Bytes_that_are_not_utf8_in_the_user_key_or_an_unknown_field_are_undecodable(byte[] bad)
    {
        byte[] userKey = [(byte)'"', (byte)'k', .. bad, (byte)'"'];
        byte[] unknownField = [.. Encoding.UTF8.GetBytes("{\"surprise\":\""), .. bad, .. Encoding.UTF8.GetBytes("\","), .. Payload(Good)[1..]];

        Assert.Equal(KakaoPayloadProblem.Undecodable, KakaoSkillPayload.Parse(Payload(Good, userKey), "secureimage").Problem);
        Assert.Equal(KakaoPayloadProblem.Undecodable, KakaoSkillPayload.Parse(unknownField, "secureimage").Problem);
    }

    [Theory]
    [InlineData("\\ud800")] // a lone high surrogate
    [InlineData("\\udfff")] // a lone low surrogate
    [InlineData("\\udc00\\ud800")] // a pair in the wrong order
    public void An_escaped_unpaired_surrogate_in_the_plugin_value_is_undecodable(string escape)
    {
        var body = Payload(PluginString("{\\\"privacyAgreement\\\":\\\"Y\\\",\\\"secureUrls\\\":\\\"List(" + U1 + escape + ")\\\"}"));

        Assert.Equal(KakaoPayloadProblem.Undecodable, KakaoSkillPayload.Parse(body, "secureimage").Problem);
    }

    [Fact]
    public void An_unpaired_surrogate_escaped_inside_the_inner_json_is_undecodable()
    {
        // The outer string decodes to {"secureUrls":"...\ud800"}: the inner parser meets the lone escape.
        var body = Payload(PluginString("{\\\"privacyAgreement\\\":\\\"Y\\\",\\\"secureUrls\\\":\\\"List(" + U1 + "\\\\ud800)\\\"}"));
        Assert.Equal(KakaoPayloadProblem.Undecodable, KakaoSkillPayload.Parse(body, "secureimage").Problem);

        var inUserKey = Payload(Good, "\"key\\ud800\"");
        Assert.Equal(KakaoPayloadProblem.Undecodable, KakaoSkillPayload.Parse(inUserKey, "secureimage").Problem);

        var inParameterName = Encoding.UTF8.GetBytes("{\"userRequest\":{\"user\":{\"id\":\"u\"}},\"action\":{\"params\":{\"photo\\ud800\":\"x\"}}}");
        Assert.Equal(KakaoPayloadProblem.Undecodable, KakaoSkillPayload.Parse(inParameterName, "secureimage").Problem);
    }

    [Fact]
    public void A_correctly_paired_surrogate_escape_is_ordinary_text()
    {
        var body = Payload(Good, "\"key-\\ud83d\\udcf7\"");

        var request = KakaoSkillPayload.Parse(body, "secureimage");

        Assert.Equal(KakaoPayloadProblem.None, request.Problem);
        Assert.Equal("key-📷", request.UserKey);
    }

    [Theory]
    [InlineData("\\u0000")]
    [InlineData("a\\u0000b")]
    [InlineData("\\u001f")]
    [InlineData("\\u007f")]
    public void A_user_key_with_control_characters_is_not_a_user_key(string escaped)
    {
        var request = KakaoSkillPayload.Parse(Payload(Good, "\"" + escaped + "\""), "secureimage");

        Assert.Null(request.UserKey);
    }

    [Fact]
    public void A_user_key_longer_than_256_characters_is_not_a_user_key()
    {
        Assert.Null(KakaoSkillPayload.Parse(Payload(Good, JsonSerializer.Serialize(new string('k', 257))), "secureimage").UserKey);
        Assert.NotNull(KakaoSkillPayload.Parse(Payload(Good, JsonSerializer.Serialize(new string('k', 256))), "secureimage").UserKey);
    }

    [Fact]
    public void Json_nested_deeper_than_32_levels_is_not_json_and_a_deep_plugin_value_is_malformed()
    {
        var deep = new string('[', 10_000) + new string(']', 10_000);
        Assert.Equal(KakaoPayloadProblem.NotJson, KakaoSkillPayload.Parse(Encoding.UTF8.GetBytes("{\"x\":" + deep + "}"), "secureimage").Problem);

        var deepValue = JsonSerializer.Serialize("{\"privacyAgreement\":\"Y\",\"secureUrls\":" + new string('[', 100) + new string(']', 100) + "}");
        Assert.Equal(KakaoPayloadProblem.PluginValueMalformed, KakaoSkillPayload.Parse(Payload(Encoding.UTF8.GetBytes(deepValue)), "secureimage").Problem);
    }
}
