using System.Text;
using System.Text.Json;
using SecureImage.Core.Kakao;

namespace SecureImage.Core.Tests.Kakao;

/// <summary>Bot authors name the plugin's parameter as they like: the result is found by its shape when the configured name is absent.</summary>
public sealed class KakaoParameterDiscoveryTests
{
    private static string Url(int i) => $"http://secure.kakaocdn.net/dna/{i}/img_org.jpg?credential=c1&expires=1767225600&signature=s{i}%3D";

    private static string Result(string agreement, params int[] urls) =>
        JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["privacyAgreement"] = agreement,
            ["imageQuantity"] = urls.Length.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["secureUrls"] = $"List({string.Join(", ", urls.Select(Url))})",
            ["expire"] = "2026-01-01T00:00:00+0000",
        });

    private static KakaoSkillRequest Parse(object? action, object? contexts = null) => KakaoSkillPayload.Parse(
        Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["userRequest"] = new { user = new { id = "user-key-1", type = "botUserKey" } },
            ["action"] = action,
            ["contexts"] = contexts ?? Array.Empty<object>(),
        })),
        "secureimage");

    private static Dictionary<string, string> Params(params (string Name, string Value)[] values) => values.ToDictionary(v => v.Name, v => v.Value);

    [Fact]
    public void A_result_under_another_name_in_action_params_is_found()
    {
        var request = Parse(new { @params = Params(("productImg", Result("Y", 1, 2)), ("sys_text", "안녕")) });

        Assert.Equal(KakaoPayloadProblem.None, request.Problem);
        Assert.True(request.PrivacyAgreed);
        Assert.Equal([Url(1), Url(2)], request.SecureUrls);
    }

    [Theory]
    [InlineData("value")]
    [InlineData("origin")]
    public void A_result_under_another_name_only_in_detail_params_is_found(string field)
    {
        var detail = new Dictionary<string, object> { ["productImg"] = new Dictionary<string, string?> { [field] = Result("Y", 3), ["groupName"] = "" } };

        var request = Parse(new { @params = new { }, detailParams = detail });

        Assert.Equal([Url(3)], request.SecureUrls);
        Assert.True(request.PrivacyAgreed);
    }

    [Theory]
    [InlineData("resolvedValue")]
    [InlineData("value")]
    public void A_result_only_in_a_context_parameter_is_found(string field)
    {
        var contexts = new object[]
        {
            new { name = "other", lifeSpan = 5, @params = new Dictionary<string, object> { ["city"] = new { value = "서울", resolvedValue = "서울" } } },
            new { name = "photos", lifeSpan = 5, @params = new Dictionary<string, object> { ["productImg"] = new Dictionary<string, string> { [field] = Result("Y", 4) } } },
        };

        var request = Parse(new { @params = new { }, detailParams = new { } }, contexts);

        Assert.Equal([Url(4)], request.SecureUrls);
        Assert.True(request.PrivacyAgreed);
    }

    [Fact]
    public void A_bare_list_in_origin_beside_a_shaped_value_supplies_the_urls_as_for_the_configured_name()
    {
        var detail = new Dictionary<string, object> { ["productImg"] = new { origin = $"List({Url(5)})", value = JsonSerializer.Serialize(new { privacyAgreement = "Y", secureUrls = "" }) } };

        var request = Parse(new { detailParams = detail });

        Assert.Equal([Url(5)], request.SecureUrls);
        Assert.True(request.PrivacyAgreed);
    }

    [Fact]
    public void Several_parameters_holding_results_are_all_taken_in_order()
    {
        var request = Parse(new
        {
            @params = Params(("productImg", Result("Y", 1, 2)), ("receiptImg", Result("Y", 3))),
            detailParams = new Dictionary<string, object> { ["extraPhoto"] = new { value = Result("Y", 4) } },
        });

        Assert.Equal([Url(1), Url(2), Url(3), Url(4)], request.SecureUrls);
        Assert.Equal(0, request.ExtraUrlsRefused);
    }

    [Fact]
    public void The_same_result_repeated_in_params_detail_params_and_contexts_is_taken_once()
    {
        var result = Result("Y", 1, 2);
        var request = Parse(
            new
            {
                @params = Params(("productImg", result)),
                detailParams = new Dictionary<string, object> { ["productImg"] = new { origin = result, value = result } },
            },
            new object[] { new { name = "c", @params = new Dictionary<string, object> { ["productImg"] = new { value = result, resolvedValue = result } } } });

        Assert.Equal([Url(1), Url(2)], request.SecureUrls);
    }

    [Fact]
    public void The_ten_image_limit_counts_across_parameters()
    {
        var request = Parse(new { @params = Params(("a", Result("Y", 1, 2, 3, 4, 5, 6)), ("b", Result("Y", 7, 8, 9, 10, 11, 12))) });

        Assert.Equal(Enumerable.Range(1, 10).Select(Url), request.SecureUrls);
        Assert.Equal(2, request.ExtraUrlsRefused);
    }

    [Fact]
    public void Only_results_the_user_agreed_to_are_fetched()
    {
        var agreedAndNot = Parse(new { @params = Params(("productImg", Result("N", 1)), ("receiptImg", Result("Y", 2))) });
        var noneAgreed = Parse(new { @params = Params(("productImg", Result("N", 1)), ("receiptImg", Result("N", 2))) });

        Assert.True(agreedAndNot.PrivacyAgreed);
        Assert.Equal([Url(2)], agreedAndNot.SecureUrls);
        Assert.False(noneAgreed.PrivacyAgreed);
    }

    [Fact]
    public void The_configured_name_is_looked_at_first_and_alone_when_present()
    {
        var request = Parse(new { @params = Params(("productImg", Result("Y", 2)), ("secureimage", Result("Y", 1))) });

        Assert.Equal([Url(1)], request.SecureUrls);
    }

    [Fact]
    public void A_malformed_value_under_the_configured_name_is_reported_even_when_another_parameter_has_a_result()
    {
        var request = Parse(new { @params = Params(("secureimage", "{\"privacyAgreement\":"), ("productImg", Result("Y", 2))) });

        Assert.Equal(KakaoPayloadProblem.PluginValueMalformed, request.Problem);
    }

    public static TheoryData<string> Lookalikes => new()
    {
        JsonSerializer.Serialize(new { secureUrls = $"List({Url(1)})" }), // no privacyAgreement
        JsonSerializer.Serialize(new { privacyAgreement = "Y" }), // no secureUrls
        $"List({Url(1)})", // a bare list is not a plugin result by itself
        Url(1),
        "secureUrls privacyAgreement " + Url(1), // the words, not the shape
        "{\"secureUrls\":\"List(" + Url(1) + ")\",\"privacyAgreement\":", // truncated JSON
        JsonSerializer.Serialize(new[] { new { privacyAgreement = "Y", secureUrls = $"List({Url(1)})" } }), // an array, not an object
        "42",
        "",
    };

    [Theory]
    [MemberData(nameof(Lookalikes))]
    public void A_value_that_only_looks_like_a_result_is_not_one(string value)
    {
        var request = Parse(
            new { @params = Params(("productImg", value)), detailParams = new Dictionary<string, object> { ["productImg"] = new { value, origin = value } } },
            new object[] { new { name = "c", @params = new Dictionary<string, object> { ["productImg"] = new { value, resolvedValue = value } } } });

        Assert.Equal(KakaoPayloadProblem.PluginValueMissing, request.Problem);
        Assert.Empty(request.SecureUrls);
    }

    [Fact]
    public void A_result_as_a_json_object_rather_than_a_string_is_found_too()
    {
        var body = "{\"userRequest\":{\"user\":{\"id\":\"u\"}},\"action\":{\"params\":{\"productImg\":{\"privacyAgreement\":\"Y\",\"secureUrls\":\"List(" + Url(1) + ")\"}}}}";

        var request = KakaoSkillPayload.Parse(Encoding.UTF8.GetBytes(body), "secureimage");

        Assert.Equal([Url(1)], request.SecureUrls);
    }

    [Fact]
    public void Odd_shapes_around_the_parameters_are_ignored_not_fatal()
    {
        var body = "{\"userRequest\":{\"user\":{\"id\":\"u\"}},\"action\":{\"params\":[1,2],\"detailParams\":{\"x\":\"text\",\"y\":null,\"z\":[{}]}},"
            + "\"contexts\":[null,1,\"c\",{\"params\":[]},{\"params\":{\"p\":\"v\",\"q\":{\"value\":" + JsonSerializer.Serialize(Result("Y", 6)) + "}}}]}";

        var request = KakaoSkillPayload.Parse(Encoding.UTF8.GetBytes(body), "secureimage");

        Assert.Equal([Url(6)], request.SecureUrls);
    }
}
