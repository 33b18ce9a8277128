using System.Net.Http.Json;
using System.Net;
using System.Text;
using System.Text.Json;
using SecureImage.Api.Tests.TestSupport;
using SecureImage.Core.Catalog;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace SecureImage.Api.Tests.Kakao;

public sealed class KakaoSkillTests : IAsyncLifetime
{
    private const string Jpeg = "jpg_gps_DSCN0010.jpg";
    private FakeKakao _kakao = null!;
    private SecureImageFactory _factory = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _kakao = await FakeKakao.StartAsync();
        _factory = KakaoTestHost.Create(_kakao);
        _client = _factory.CreateBotClient();
    }

    public async Task DisposeAsync()
    {
        await _factory.DisposeAsync();
        await _kakao.DisposeAsync();
    }

    private DateTimeOffset Soon => _factory.Time.GetUtcNow().AddMinutes(10);

    [Fact]
    public async Task Two_images_with_consent_are_stored_and_the_answer_says_so_in_korean_with_their_ids()
    {
        var response = await _client.PostSkillAsync(KakaoTestHost.Payload([_kakao.ImageUrl(Jpeg, Soon), _kakao.ImageUrl("png_text_gps_xmp.png", Soon)]));

        Assert.Equal("사진 2장을 안전하게 저장했어요. 저장한 사진은 3일 뒤 자동으로 삭제돼요.", response.Text());
        Assert.Equal("stored", response.Data("status"));
        Assert.Equal("2", response.Data("imageCount"));
        Assert.Equal(2, response.ImageIds().Count);
    }

    [Fact]
    public async Task With_preview_links_configured_the_answer_carries_one_working_preview_link_per_image_in_order()
    {
        await using var factory = KakaoTestHost.Create(_kakao, new Dictionary<string, string?>
        {
            ["SecureImage:Kakao:PreviewLinks"] = "true",
            ["SecureImage:Links:PublicBaseUrl"] = "https://images.example.test",
        });
        var client = factory.CreateBotClient();

        var response = await client.PostSkillAsync(KakaoTestHost.Payload([_kakao.ImageUrl(Jpeg, Soon), _kakao.ImageUrl("png_text_gps_xmp.png", Soon)]));

        var ids = response.ImageIds();
        var urls = response.Data("previewUrls").Split(',');
        Assert.Equal(2, urls.Length);
        for (var index = 0; index < ids.Count; index++)
        {
            Assert.StartsWith($"https://images.example.test/v1/downloads/{ids[index]:D}?", urls[index], StringComparison.Ordinal);
            Assert.EndsWith("&variant=preview", urls[index], StringComparison.Ordinal);
            var preview = await factory.CreateAnonymousClient().GetAsync(ApiClient.PathOf(urls[index]));
            Assert.Equal(HttpStatusCode.OK, preview.StatusCode);
            Assert.Equal("image/jpeg", preview.Content.Headers.ContentType?.MediaType);
        }
    }

    [Fact]
    public async Task Without_preview_links_configured_the_answer_has_none()
    {
        var response = await _client.PostSkillAsync(KakaoTestHost.Payload([_kakao.ImageUrl(Jpeg, Soon)]));

        Assert.Single(response.ImageIds());
        Assert.False(response.GetProperty("data").TryGetProperty("previewUrls", out _));
    }

    [Fact]
    public async Task A_stored_image_is_served_sanitized_through_a_link_and_erased_like_an_upload()
    {
        var response = await _client.PostSkillAsync(KakaoTestHost.Payload([_kakao.ImageUrl(Jpeg, Soon)]));
        var imageId = Assert.Single(response.ImageIds());

        var link = await (await _client.PostAsync($"/v1/images/{imageId}/links", null)).Content.ReadFromJsonAsync<LinkBody>();
        var download = await _factory.CreateAnonymousClient().GetAsync(ApiClient.PathOf(link!.Url));
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal(await Corpus.SanitizedAsync(Corpus.Read(Jpeg)), await download.Content.ReadAsByteArrayAsync());

        var image = await _client.GetFromJsonAsync<ImageBody>($"/v1/images/{imageId}");
        Assert.Equal(_factory.Time.GetUtcNow().AddDays(3), image!.ExpiresAt);
        var consent = await _factory.Services.GetRequiredService<IImageCatalog>().FindConsentAsync(image.ConsentId, CancellationToken.None);
        Assert.Equal(ConsentSources.KakaoPlugin, consent!.Source);
        Assert.DoesNotContain("kakao-user-1", consent.SubjectHash, StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.NoContent, (await _client.DeleteAsync($"/v1/images/{imageId}")).StatusCode);
        Assert.Equal(HttpStatusCode.Gone, (await _factory.CreateAnonymousClient().GetAsync(ApiClient.PathOf(link.Url))).StatusCode);
    }

    [Theory]
    [InlineData(", ")]
    [InlineData(",")]
    public async Task Ten_urls_with_either_separator_are_all_stored(string separator)
    {
        var names = new[] { Jpeg, "jpg_Canon_40D.jpg", "png_text_gps_xmp.png", "gif_anim_comment.gif", "webp_gps_xmp.webp" };
        var urls = Enumerable.Range(0, 10).Select(i => _kakao.ImageUrl(names[i % names.Length], Soon, extra: $"&n={i}")).ToList();

        var response = await _client.PostSkillAsync(KakaoTestHost.Payload(urls, separator: separator));

        Assert.Equal("10", response.Data("imageCount"));
        Assert.Equal(10, response.ImageIds().Distinct().Count());
    }

    [Fact]
    public async Task Urls_beyond_ten_are_refused_with_a_reason_and_the_first_ten_stored()
    {
        var urls = Enumerable.Range(0, 11).Select(i => _kakao.ImageUrl(Jpeg, Soon, extra: $"&n={i}")).ToList();

        var response = await _client.PostSkillAsync(KakaoTestHost.Payload(urls));

        Assert.Equal("10", response.Data("imageCount"));
        Assert.Equal("1", response.Data("failedCount"));
        Assert.Contains("1장은 저장하지 못했어요: 한 번에 10장까지만 받을 수 있어요", response.Text(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_agreement_nothing_is_fetched_and_the_answer_asks_for_consent()
    {
        var response = await _client.PostSkillAsync(KakaoTestHost.Payload([_kakao.ImageUrl(Jpeg, Soon)], agreement: "N"));

        Assert.Equal("consent-required", response.Data("status"));
        Assert.Contains("동의", response.Text(), StringComparison.Ordinal);
        Assert.Equal(0, _kakao.Connections);
    }

    [Fact]
    public async Task Failed_images_are_counted_and_explained_beside_the_stored_ones()
    {
        var urls = new[]
        {
            _kakao.ImageUrl(Jpeg, Soon),
            _kakao.ImageUrl(Jpeg, _factory.Time.GetUtcNow().AddSeconds(-1)),
            _kakao.ImageUrl("not-an-image.txt", Soon, extra: "&bytes=1000"),
            "http://evil.test/a.jpg?expires=9999999999",
        };

        var response = await _client.PostSkillAsync(KakaoTestHost.Payload(urls));

        Assert.Equal("partial", response.Data("status"));
        Assert.Equal("1", response.Data("imageCount"));
        Assert.Equal("3", response.Data("failedCount"));
        Assert.Contains("3장은 저장하지 못했어요", response.Text(), StringComparison.Ordinal);
        Assert.Contains("사진 링크가 만료되었어요 (1장)", response.Text(), StringComparison.Ordinal);
        Assert.Contains("허용되지 않은 주소의 사진이에요 (1장)", response.Text(), StringComparison.Ordinal);
    }

    public static TheoryData<string> Unusable => new()
    {
        "",
        "this is not json",
        "[1, 2, 3]",
        "{\"userRequest\":{\"user\":{\"id\":\"u\"}},\"action\":{\"params\":{}}}",
        "{\"userRequest\":{\"user\":{\"id\":\"u\"}},\"action\":{\"params\":{\"secureimage\":\"{\\\"privacyAgreement\\\":\"}}}",
        "{\"action\":{\"params\":{\"secureimage\":\"{\\\"privacyAgreement\\\":\\\"Y\\\",\\\"secureUrls\\\":\\\"List(http://cdn.test/a.jpg)\\\"}\"}}}",
    };

    [Theory]
    [MemberData(nameof(Unusable))]
    public async Task An_unusable_payload_gets_a_friendly_skill_response_not_an_error(string body)
    {
        var response = await _client.PostSkillAsync(body);

        Assert.Equal("invalid", response.Data("status"));
    }

    /// <summary>A valid payload with <paramref name="replace"/> swapped, byte for byte, for a marker inside the first URL.</summary>
    private byte[] PayloadWithBytes(byte[] replace, string userKey = "kakao-user-1")
    {
        var body = Encoding.UTF8.GetBytes(KakaoTestHost.Payload([_kakao.ImageUrl(Jpeg, Soon, extra: "&marker=MARKER")], userKey: userKey));
        var at = body.AsSpan().IndexOf("MARKER"u8);
        return [.. body[..at], .. replace, .. body[(at + 6)..]];
    }

    public static TheoryData<byte[]> Undecodable => new()
    {
        new byte[] { 0xC3, 0x28 },
        new byte[] { 0xFF },
        new byte[] { 0xC0, 0xAF },
        new byte[] { 0xED, 0xA0, 0x80 },
        "\\ud800"u8.ToArray(), // a lone surrogate escaped in the outer JSON string
        "\\\\udfff\\\\ud800"u8.ToArray(), // escaped once more: the lone surrogates are in the plugin value's inner JSON
    };

    [Theory]
    [MemberData(nameof(Undecodable))]
    public async Task A_payload_that_is_not_utf8_or_holds_a_lone_surrogate_is_invalid_with_a_warning_at_most_and_nothing_fetched(byte[] bad)
    {
        var logs = new CapturedLogs();
        await using var factory = KakaoTestHost.Create(_kakao, services: s => s.AddSingleton<ILoggerProvider>(logs));

        var response = await factory.CreateBotClient().PostSkillAsync(PayloadWithBytes(bad, userKey: "secret-user-key"));

        Assert.Equal("invalid", response.Data("status"));
        Assert.Equal(0, _kakao.Connections);
        Assert.DoesNotContain(logs.Entries, e => e.Level > LogLevel.Warning);
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Warning && e.Category.Contains("Kakao", StringComparison.Ordinal));
        logs.AssertNoneContain("secret-user-key", "cdn.test", "MARKER");
    }

    [Fact]
    public async Task A_lone_surrogate_escaped_in_the_outer_json_user_key_is_invalid_not_unavailable()
    {
        var body = KakaoTestHost.Payload([_kakao.ImageUrl(Jpeg, Soon)], userKey: "KEY").Replace("\"KEY\"", "\"k\\ud800\"", StringComparison.Ordinal);

        var response = await _client.PostSkillAsync(body);

        Assert.Equal("invalid", response.Data("status"));
    }

    [Theory]
    [InlineData("\\u0000")]
    [InlineData("a\\u0000b")]
    [InlineData("\\u001b[31m")]
    public async Task A_user_key_with_control_characters_is_invalid_and_records_no_consent(string escapedKey)
    {
        var body = KakaoTestHost.Payload([_kakao.ImageUrl(Jpeg, Soon)], userKey: "KEY").Replace("\"KEY\"", $"\"{escapedKey}\"", StringComparison.Ordinal)
            .Replace("\"pf-KEY\"", $"\"{escapedKey}\"", StringComparison.Ordinal);

        var response = await _client.PostSkillAsync(body);

        Assert.Equal("invalid", response.Data("status"));
        Assert.Equal(0, _kakao.Connections);
    }

    [Theory]
    [InlineData("%00")]
    [InlineData("\\\\u0000")] // escapes in the plugin value's inner JSON
    [InlineData("\\\\u000d\\\\u000aX-Injected: 1")]
    public async Task A_url_with_nul_or_line_breaks_is_refused_or_escaped_never_an_outage(string inserted)
    {
        var body = KakaoTestHost.Payload([_kakao.ImageUrl(Jpeg, Soon, extra: "&marker=MARKER")]).Replace("MARKER", inserted, StringComparison.Ordinal);

        var response = await _client.PostSkillAsync(body);

        Assert.Contains(response.Data("status"), new[] { "stored", "failed" });
    }

    [Fact]
    public async Task A_url_of_a_hundred_thousand_characters_is_refused_with_a_reason()
    {
        var response = await _client.PostSkillAsync(KakaoTestHost.Payload([_kakao.ImageUrl(Jpeg, Soon, extra: "&pad=" + new string('a', 100_000))]));

        Assert.Equal("failed", response.Data("status"));
        Assert.Contains("허용되지 않은 주소의 사진이에요", response.Text(), StringComparison.Ordinal);
        Assert.Equal(0, _kakao.Connections);
    }

    [Fact]
    public async Task Json_nested_ten_thousand_levels_deep_is_invalid()
    {
        var response = await _client.PostSkillAsync("{\"x\":" + new string('[', 10_000) + new string(']', 10_000) + "}");

        Assert.Equal("invalid", response.Data("status"));
    }

    [Fact]
    public async Task A_plugin_result_under_a_parameter_named_product_img_is_found_by_its_shape_and_stored()
    {
        var response = await _client.PostSkillAsync(KakaoTestHost.Payload([_kakao.ImageUrl(Jpeg, Soon)], parameter: "productImg"));

        Assert.Equal("stored", response.Data("status"));
        Assert.Single(response.ImageIds());
    }

    [Fact]
    public async Task Plugin_results_in_two_parameters_and_a_context_are_all_stored_each_url_once()
    {
        string Value(params string[] urls) => JsonSerializer.Serialize(new { privacyAgreement = "Y", secureUrls = $"List({string.Join(", ", urls)})" });
        var (a, b, c) = (_kakao.ImageUrl(Jpeg, Soon, extra: "&n=a"), _kakao.ImageUrl(Jpeg, Soon, extra: "&n=b"), _kakao.ImageUrl("png_text_gps_xmp.png", Soon));
        var body = JsonSerializer.Serialize(new
        {
            userRequest = new { user = new { id = "kakao-user-1", type = "botUserKey" } },
            action = new { @params = new Dictionary<string, string> { ["productImg"] = Value(a, b), ["receiptImg"] = Value(c) } },
            contexts = new[] { new { name = "photos", @params = new Dictionary<string, object> { ["productImg"] = new { value = Value(a, b), resolvedValue = Value(a, b) } } } },
        });

        var response = await _client.PostSkillAsync(body);

        Assert.Equal("stored", response.Data("status"));
        Assert.Equal(3, response.ImageIds().Distinct().Count());
    }

    [Fact]
    public async Task Snake_case_user_keys_and_unknown_fields_are_accepted()
    {
        var value = JsonSerializer.Serialize(new { privacyAgreement = "Y", secureUrls = $"List({_kakao.ImageUrl(Jpeg, Soon)})", somethingNew = "x" });
        var body = JsonSerializer.Serialize(new
        {
            brandNew = new { nested = new[] { 1, 2 } },
            userRequest = new { user = new { type = "botUserKey", properties = new { plusfriend_user_key = "pf-1", bot_user_key = "bk-1" } } },
            action = new { detailParams = new Dictionary<string, object> { ["secureimage"] = new { origin = value, value, groupName = "" } } },
        });

        var response = await _client.PostSkillAsync(body);

        Assert.Equal("1", response.Data("imageCount"));
    }

    [Fact]
    public async Task A_skill_call_without_an_api_key_is_a_401_problem()
    {
        var response = await _factory.CreateAnonymousClient().PostAsync("/kakao/skill", new StringContent("{}"));

        await response.AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
    }
}
