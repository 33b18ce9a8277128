using System.Text;
using System.Text.Json;
using SecureImage.Core.Kakao;

namespace SecureImage.Core.Tests.Kakao;

public sealed class KakaoSkillPayloadTests
{
    private const string U1 = "http://secure.kakaocdn.net/dna/aa/bb/XXX/img_org.jpg?credential=c1&expires=1767225600&allow_ip=&allow_referer=&signature=s1%3D";
    private const string U2 = "http://secure.kakaocdn.net/dna/cc/dd/XXX/img_org.jpg?credential=c1&expires=1767225600&allow_ip=&allow_referer=&signature=s2%3D";

    private static string PluginValue(string agreement, string urls) =>
        JsonSerializer.Serialize(new Dictionary<string, string> { ["privacyAgreement"] = agreement, ["imageQuantity"] = "2", ["secureUrls"] = urls, ["expire"] = "2026-01-01T00:00:00+0000" });

    private static string Payload(object action, object? user = null, string? callbackUrl = null) => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["intent"] = new { id = "i1", name = "사진" },
        ["userRequest"] = new Dictionary<string, object?>
        {
            ["timezone"] = "Asia/Seoul",
            ["utterance"] = "사진 보내기",
            ["user"] = user ?? new { id = "user-key-1", type = "botUserKey", properties = new { botUserKey = "user-key-1" } },
            ["callbackUrl"] = callbackUrl,
        },
        ["bot"] = new { id = "b1", name = "bot" },
        ["action"] = action,
        ["contexts"] = Array.Empty<object>(),
    });

    private static KakaoSkillRequest Parse(string json, string parameter = "secureimage") => KakaoSkillPayload.Parse(Encoding.UTF8.GetBytes(json), parameter);

    [Fact]
    public void The_plugin_value_in_action_params_gives_the_agreement_the_urls_and_the_user_key()
    {
        var request = Parse(Payload(new { id = "a", name = "n", @params = new Dictionary<string, string> { ["secureimage"] = PluginValue("Y", $"List({U1}, {U2})") } }, callbackUrl: "https://bot-api.kakao.com/cb/1"));

        Assert.Equal(KakaoPayloadProblem.None, request.Problem);
        Assert.True(request.PrivacyAgreed);
        Assert.Equal([U1, U2], request.SecureUrls);
        Assert.Equal("user-key-1", request.UserKey);
        Assert.Equal("https://bot-api.kakao.com/cb/1", request.CallbackUrl);
        Assert.Equal(0, request.ExtraUrlsRefused);
    }

    [Fact]
    public void The_plugin_value_only_in_detail_params_value_is_found()
    {
        var detail = new Dictionary<string, object> { ["secureimage"] = new { origin = (string?)null, value = PluginValue("Y", $"List({U1},{U2})"), groupName = "" } };
        var request = Parse(Payload(new { @params = new { }, detailParams = detail }));

        Assert.Equal([U1, U2], request.SecureUrls);
        Assert.True(request.PrivacyAgreed);
    }

    [Fact]
    public void The_plugin_value_only_in_detail_params_origin_is_found()
    {
        var detail = new Dictionary<string, object> { ["secureimage"] = new { origin = PluginValue("Y", $"List({U1})") } };
        var request = Parse(Payload(new { detailParams = detail }));

        Assert.Equal([U1], request.SecureUrls);
        Assert.True(request.PrivacyAgreed);
    }

    [Fact]
    public void A_bare_list_in_origin_supplies_the_urls_when_the_value_has_none()
    {
        var detail = new Dictionary<string, object> { ["secureimage"] = new { origin = $"List({U1}, {U2})", value = JsonSerializer.Serialize(new { privacyAgreement = "Y" }) } };
        var request = Parse(Payload(new { detailParams = detail }));

        Assert.True(request.PrivacyAgreed);
        Assert.Equal([U1, U2], request.SecureUrls);
    }

    [Fact]
    public void A_bare_list_alone_carries_no_agreement()
    {
        var detail = new Dictionary<string, object> { ["secureimage"] = new { origin = $"List({U1})" } };
        var request = Parse(Payload(new { detailParams = detail }));

        Assert.Equal(KakaoPayloadProblem.None, request.Problem);
        Assert.False(request.PrivacyAgreed);
    }

    [Theory]
    [InlineData(", ")]
    [InlineData(",")]
    [InlineData(",   ")]
    public void Both_separators_split_the_list(string separator)
    {
        Assert.Equal([U1, U2], KakaoSkillPayload.SplitSecureUrls($"List({U1}{separator}{U2})"));
    }

    [Fact]
    public void Escaped_equals_and_ampersand_inside_the_json_string_are_decoded()
    {
        var escaped = "{\"privacyAgreement\":\"Y\",\"secureUrls\":\"List(http://secure.kakaocdn.net/a.jpg?credential\\u003dc1\\u0026expires\\u003d1767225600\\u0026signature\\u003ds%3D)\"}";
        var outer = "{\"action\":{\"params\":{\"secureimage\":" + JsonSerializer.Serialize(escaped) + "}},\"userRequest\":{\"user\":{\"id\":\"u\"}}}";

        var request = Parse(outer);

        Assert.Equal(["http://secure.kakaocdn.net/a.jpg?credential=c1&expires=1767225600&signature=s%3D"], request.SecureUrls);
    }

    [Fact]
    public void Escapes_left_as_text_in_a_bare_list_are_decoded()
    {
        Assert.Equal(["http://h/a?x=1&y=2"], KakaoSkillPayload.SplitSecureUrls("List(http://h/a?x\\u003d1\\u0026y\\u003d2)"));
    }

    [Fact]
    public void Ten_urls_are_kept_and_more_are_counted_as_refused()
    {
        var urls = Enumerable.Range(1, 12).Select(i => $"http://secure.kakaocdn.net/{i}.jpg?expires=1767225600").ToList();
        var request = Parse(Payload(new { @params = new Dictionary<string, string> { ["secureimage"] = PluginValue("Y", $"List({string.Join(", ", urls)})") } }));

        Assert.Equal(urls.Take(10), request.SecureUrls);
        Assert.Equal(2, request.ExtraUrlsRefused);
    }

    [Theory]
    [InlineData("N")]
    [InlineData("")]
    public void An_agreement_other_than_y_is_no_consent(string agreement)
    {
        var request = Parse(Payload(new { @params = new Dictionary<string, string> { ["secureimage"] = PluginValue(agreement, $"List({U1})") } }));

        Assert.False(request.PrivacyAgreed);
        Assert.Equal([U1], request.SecureUrls);
    }

    [Fact]
    public void A_missing_plugin_parameter_is_reported()
    {
        var request = Parse(Payload(new { @params = new Dictionary<string, string> { ["other"] = "사진", ["list"] = $"List({U1})" } }));

        Assert.Equal(KakaoPayloadProblem.PluginValueMissing, request.Problem);
        Assert.Equal("user-key-1", request.UserKey);
    }

    [Fact]
    public void The_parameter_name_is_configurable()
    {
        var request = Parse(Payload(new { @params = new Dictionary<string, string> { ["photos"] = PluginValue("Y", $"List({U1})") } }), "photos");

        Assert.Equal([U1], request.SecureUrls);
    }

    [Theory]
    [InlineData("{\"privacyAgreement\":\"Y\",")]
    [InlineData("not json at all")]
    [InlineData("42")]
    public void A_malformed_plugin_value_is_reported(string value)
    {
        var request = Parse(Payload(new { @params = new Dictionary<string, string> { ["secureimage"] = value } }));

        Assert.Equal(KakaoPayloadProblem.PluginValueMalformed, request.Problem);
    }

    [Theory]
    [InlineData("")]
    [InlineData("<html>")]
    [InlineData("[1,2]")]
    [InlineData("\"text\"")]
    [InlineData("{\"action\":")]
    public void A_body_that_is_not_a_json_object_is_reported(string body)
    {
        Assert.Equal(KakaoPayloadProblem.NotJson, Parse(body).Problem);
    }

    [Fact]
    public void Unknown_fields_anywhere_are_ignored()
    {
        var json = "{\"surprise\":[1,{\"x\":null}],\"userRequest\":{\"user\":{\"id\":\"u\",\"extra\":true},\"new\":{}},\"action\":{\"params\":{\"secureimage\":"
            + JsonSerializer.Serialize(JsonSerializer.Serialize(new { privacyAgreement = "Y", secureUrls = $"List({U1})", future = "x" })) + ",\"n\":\"1\"},\"clientExtra\":null}}";

        var request = Parse(json);

        Assert.Equal(KakaoPayloadProblem.None, request.Problem);
        Assert.Equal([U1], request.SecureUrls);
    }

    [Theory]
    [InlineData("botUserKey")]
    [InlineData("bot_user_key")]
    [InlineData("plusfriendUserKey")]
    [InlineData("plusfriend_user_key")]
    public void The_user_key_is_found_in_the_properties_in_either_case(string property)
    {
        var user = new Dictionary<string, object> { ["type"] = "botUserKey", ["properties"] = new Dictionary<string, string> { [property] = "the-key" } };
        var request = Parse(Payload(new { @params = new Dictionary<string, string> { ["secureimage"] = PluginValue("Y", $"List({U1})") } }, user));

        Assert.Equal("the-key", request.UserKey);
    }

    [Fact]
    public void The_urls_expires_parameter_is_its_deadline()
    {
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1767225600), KakaoSkillPayload.ExpiresAt(new Uri(U1)));
        Assert.Null(KakaoSkillPayload.ExpiresAt(new Uri("http://secure.kakaocdn.net/a.jpg?expires=soon")));
        Assert.Null(KakaoSkillPayload.ExpiresAt(new Uri("http://secure.kakaocdn.net/a.jpg")));
    }
}
