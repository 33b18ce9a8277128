using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using SecureImage.Api.Features.Kakao;
using SecureImage.Api.Tests.TestSupport;

namespace SecureImage.Api.Tests.Kakao;

/// <summary>The service configured for the fake Kakao on loopback: <c>cdn.test</c> allowed and mapped to 127.0.0.1.</summary>
internal static class KakaoTestHost
{
    public static SecureImageFactory Create(FakeKakao kakao, IDictionary<string, string?>? extra = null, MappedHostResolver? resolver = null, Action<IServiceCollection>? services = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["SecureImage:Kakao:AllowLoopback"] = "true",
            ["SecureImage:Kakao:AllowedHosts:0"] = "cdn.test",
            ["SecureImage:Kakao:ResponseBudget"] = "00:00:03",
            ["SecureImage:Kakao:PollInterval"] = "00:00:00.200",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        var factory = new SecureImageFactory("Testing", settings, services: collection =>
        {
            collection.RemoveAll<IKakaoHostResolver>();
            collection.AddSingleton<IKakaoHostResolver>(resolver ?? new MappedHostResolver());
            services?.Invoke(collection);
        });
        kakao.Now = factory.Time.GetUtcNow;
        return factory;
    }

    public static string Payload(IEnumerable<string> urls, string agreement = "Y", string? callbackUrl = null, string separator = ", ", string userKey = "kakao-user-1", string parameter = "secureimage")
    {
        var value = JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["privacyAgreement"] = agreement,
            ["imageQuantity"] = urls.Count().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["secureUrls"] = $"List({string.Join(separator, urls)})",
            ["expire"] = "2026-01-01T00:00:00+0000",
        });
        return JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["intent"] = new { id = "intent-1", name = "사진 보내기" },
            ["userRequest"] = new Dictionary<string, object?>
            {
                ["timezone"] = "Asia/Seoul",
                ["utterance"] = "사진 보내기",
                ["lang"] = "ko",
                ["user"] = new { id = userKey, type = "botUserKey", properties = new { botUserKey = userKey, plusfriendUserKey = "pf-" + userKey } },
                ["callbackUrl"] = callbackUrl,
            },
            ["bot"] = new { id = "kakao-bot", name = "테스트 봇" },
            ["action"] = new { id = "a1", name = "스킬", @params = new Dictionary<string, string> { [parameter] = value }, detailParams = new { }, clientExtra = (object?)null },
            ["contexts"] = Array.Empty<object>(),
        });
    }

    public static Task<JsonElement> PostSkillAsync(this HttpClient client, string body, string? callbackToken = null) =>
        client.PostSkillAsync(Encoding.UTF8.GetBytes(body), callbackToken);

    /// <summary>Posts <paramref name="body"/> byte for byte (also bytes that are not UTF-8) and checks the answer is a 200 SkillResponse.</summary>
    public static async Task<JsonElement> PostSkillAsync(this HttpClient client, byte[] body, string? callbackToken = null)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/kakao/skill") { Content = content };
        if (callbackToken is not null)
        {
            request.Headers.Add("x-kakao-callback-token", callbackToken);
        }

        var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        AssertSkillResponse(json);
        return json;
    }

    /// <summary>SkillResponse 2.0: version, and either useCallback or a template with 1–3 outputs, text ≤ 1000, ≤ 10 quick replies.</summary>
    public static void AssertSkillResponse(JsonElement json)
    {
        Assert.Equal("2.0", json.GetProperty("version").GetString());
        if (json.TryGetProperty("useCallback", out var useCallback) && useCallback.GetBoolean())
        {
            Assert.False(json.TryGetProperty("template", out _));
            return;
        }

        var outputs = json.GetProperty("template").GetProperty("outputs");
        Assert.InRange(outputs.GetArrayLength(), 1, 3);
        foreach (var output in outputs.EnumerateArray())
        {
            Assert.InRange(output.GetProperty("simpleText").GetProperty("text").GetString()!.Length, 1, 1000);
        }

        if (json.GetProperty("template").TryGetProperty("quickReplies", out var replies))
        {
            Assert.InRange(replies.GetArrayLength(), 0, 10);
        }
    }

    public static string Text(this JsonElement response) => response.GetProperty("template").GetProperty("outputs")[0].GetProperty("simpleText").GetProperty("text").GetString()!;

    public static string Data(this JsonElement response, string key) => response.GetProperty("data").GetProperty(key).GetString()!;

    public static IReadOnlyList<Guid> ImageIds(this JsonElement response) =>
        response.Data("imageIds").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(Guid.Parse).ToList();

    /// <summary>Polls until <paramref name="condition"/> holds (background work), failing after <paramref name="seconds"/>.</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, double seconds = 30, Func<Task<string>>? describe = null)
    {
        var until = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow >= until)
            {
                Assert.Fail("The condition did not hold in time." + (describe is null ? "" : " " + await describe()));
            }

            await Task.Delay(100);
        }
    }
}
