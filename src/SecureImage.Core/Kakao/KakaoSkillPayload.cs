using System.Text.Json;
using System.Text.RegularExpressions;

namespace SecureImage.Core.Kakao;

/// <summary>Why a skill payload could not be used (the endpoint still answers a friendly SkillResponse).</summary>
public enum KakaoPayloadProblem
{
    None,

    /// <summary>The body is not a JSON object.</summary>
    NotJson,

    /// <summary>No plugin value under the configured parameter name.</summary>
    PluginValueMissing,

    /// <summary>A plugin value exists but is neither a JSON object nor a <c>List(...)</c> string.</summary>
    PluginValueMalformed,
}

/// <summary>What the service needs from one skill request; everything else in the payload is ignored.</summary>
public sealed record KakaoSkillRequest(
    KakaoPayloadProblem Problem,
    string? UserKey,
    string? CallbackUrl,
    bool PrivacyAgreed,
    IReadOnlyList<string> SecureUrls,
    int ExtraUrlsRefused)
{
    /// <summary>The most images one plugin result carries, by public accounts of the plugin.</summary>
    public const int MaxUrls = 10;
}

/// <summary>
/// Lenient reader of Kakao i Open Builder skill payloads carrying the secure image plugin's result.
/// Kakao's payloads vary (camelCase and snake_case keys, the value in params, detailParams.value or
/// detailParams.origin, a JSON object encoded as a string), so every step falls back instead of failing.
/// </summary>
public static partial class KakaoSkillPayload
{
    private const int MaxUserKeyLength = 256;
    private static readonly JsonDocumentOptions Lenient = new() { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip, MaxDepth = 32 };
    private static readonly string[] UserKeyProperties = ["botUserKey", "bot_user_key", "plusfriendUserKey", "plusfriend_user_key", "appUserId", "app_user_id"];

    public static KakaoSkillRequest Parse(ReadOnlySpan<byte> utf8Json, string pluginParameter)
    {
        ArgumentException.ThrowIfNullOrEmpty(pluginParameter);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8Json.ToArray(), Lenient);
        }
        catch (JsonException)
        {
            return Empty(KakaoPayloadProblem.NotJson, null, null);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return Empty(KakaoPayloadProblem.NotJson, null, null);
            }

            var userRequest = Property(root, "userRequest", "user_request");
            var userKey = FindUserKey(userRequest);
            var callbackUrl = String(Property(userRequest, "callbackUrl", "callback_url"));
            var candidates = PluginValueCandidates(Property(root, "action"), pluginParameter).ToList();
            if (candidates.Count == 0)
            {
                return Empty(KakaoPayloadProblem.PluginValueMissing, userKey, callbackUrl);
            }

            // The first JSON object found carries the fields; a bare List(...) elsewhere (origin) can supply the URLs.
            PluginValue? fields = null;
            IReadOnlyList<string>? bareUrls = null;
            foreach (var candidate in candidates)
            {
                var value = ReadPluginValue(candidate);
                if (value is { IsObject: true } && fields is null)
                {
                    fields = value;
                }
                else if (value is { IsObject: false } && bareUrls is null)
                {
                    bareUrls = value.Urls;
                }
            }

            if (fields is null && bareUrls is null)
            {
                return Empty(KakaoPayloadProblem.PluginValueMalformed, userKey, callbackUrl);
            }

            var urls = fields?.Urls is { Count: > 0 } fromFields ? fromFields : bareUrls ?? [];
            var kept = urls.Take(KakaoSkillRequest.MaxUrls).ToList();
            return new KakaoSkillRequest(KakaoPayloadProblem.None, userKey, callbackUrl, fields?.Agreed ?? false, kept, urls.Count - kept.Count);
        }
    }

    /// <summary>Splits the plugin's <c>List(u1, u2)</c> string (also a bare URL, or either separator).</summary>
    public static IReadOnlyList<string> SplitSecureUrls(string? list)
    {
        if (string.IsNullOrWhiteSpace(list))
        {
            return [];
        }

        var text = list.Trim();
        if (text.StartsWith("List(", StringComparison.OrdinalIgnoreCase) && text.EndsWith(')'))
        {
            text = text[5..^1];
        }

        // Escapes that survived as text (a List(...) string not parsed as JSON) are undone here.
        text = text.Replace("\\u003d", "=", StringComparison.OrdinalIgnoreCase).Replace("\\u0026", "&", StringComparison.OrdinalIgnoreCase);
        return UrlSeparator().Split(text).Select(u => u.Trim()).Where(u => u.Length > 0).ToList();
    }

    /// <summary>The URL's <c>expires</c> query parameter (Unix seconds): when Kakao's CDN stops serving it.</summary>
    public static DateTimeOffset? ExpiresAt(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!url.IsAbsoluteUri)
        {
            return null;
        }

        foreach (var pair in url.Query.TrimStart('?').Split('&'))
        {
            var separator = pair.IndexOf('=', StringComparison.Ordinal);
            if (separator > 0 && pair.AsSpan(0, separator).Equals("expires", StringComparison.OrdinalIgnoreCase)
                && long.TryParse(pair.AsSpan(separator + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
                && seconds is > 0 and < 253402300799)
            {
                return DateTimeOffset.FromUnixTimeSeconds(seconds);
            }
        }

        return null;
    }

    [GeneratedRegex(@",\s*(?=https?:)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex UrlSeparator();

    private static KakaoSkillRequest Empty(KakaoPayloadProblem problem, string? userKey, string? callbackUrl) => new(problem, userKey, callbackUrl, false, [], 0);

    private static IEnumerable<JsonElement> PluginValueCandidates(JsonElement action, string name)
    {
        if (Property(Property(action, "params"), name) is { ValueKind: not JsonValueKind.Undefined and not JsonValueKind.Null } fromParams)
        {
            yield return fromParams;
        }

        var detail = Property(Property(action, "detailParams", "detail_params"), name);
        foreach (var field in new[] { "value", "origin" })
        {
            if (Property(detail, field) is { ValueKind: not JsonValueKind.Undefined and not JsonValueKind.Null } fromDetail)
            {
                yield return fromDetail;
            }
        }
    }

    private sealed record PluginValue(bool IsObject, bool Agreed, IReadOnlyList<string> Urls);

    private static PluginValue? ReadPluginValue(JsonElement element, int depth = 0)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            var agreement = String(Property(element, "privacyAgreement", "privacy_agreement"));
            var urls = Property(element, "secureUrls", "secure_urls");
            var list = urls.ValueKind == JsonValueKind.Array
                ? urls.EnumerateArray().Select(String).OfType<string>().SelectMany(SplitSecureUrls).ToList()
                : SplitSecureUrls(String(urls));
            return new PluginValue(true, string.Equals(agreement?.Trim(), "Y", StringComparison.OrdinalIgnoreCase), list);
        }

        if (element.ValueKind != JsonValueKind.String || depth > 1)
        {
            return null;
        }

        var text = element.GetString()!.Trim();
        if (text.StartsWith('{') || text.StartsWith('"'))
        {
            try
            {
                using var inner = JsonDocument.Parse(text, Lenient);

                // Some bots encode the value twice; one more level is unwrapped.
                return ReadPluginValue(inner.RootElement.Clone(), depth + 1);
            }
            catch (JsonException)
            {
                return null;
            }
        }

        return text.StartsWith("List(", StringComparison.OrdinalIgnoreCase) || text.StartsWith("http", StringComparison.OrdinalIgnoreCase)
            ? new PluginValue(false, false, SplitSecureUrls(text))
            : null;
    }

    private static string? FindUserKey(JsonElement userRequest)
    {
        var user = Property(userRequest, "user");
        var properties = Property(user, "properties");
        var candidates = new[] { String(Property(user, "id")) }.Concat(UserKeyProperties.Select(p => String(Property(properties, p))));
        return candidates.Select(c => c?.Trim()).FirstOrDefault(c => !string.IsNullOrEmpty(c) && c.Length <= MaxUserKeyLength);
    }

    private static JsonElement Property(JsonElement element, params string[] names)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            return default;
        }

        foreach (var name in names)
        {
            if (element.TryGetProperty(name, out var value))
            {
                return value;
            }
        }

        return default;
    }

    private static string? String(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => element.GetRawText(),
        _ => null,
    };
}
