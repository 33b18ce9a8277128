using System.Text.Json;
using System.Text.RegularExpressions;
using System.Text.Unicode;

namespace SecureImage.Core.Kakao;

/// <summary>Why a skill payload could not be used (the endpoint still answers a friendly SkillResponse).</summary>
public enum KakaoPayloadProblem
{
    None,

    /// <summary>The body is not a JSON object.</summary>
    NotJson,

    /// <summary>No plugin value under the configured parameter name, and no plugin result (by its shape) under any other.</summary>
    PluginValueMissing,

    /// <summary>A plugin value exists but is neither a JSON object nor a <c>List(...)</c> string.</summary>
    PluginValueMalformed,

    /// <summary>Bytes that are not UTF-8, or a string escape that is not text (an unpaired surrogate): bad input, never an outage.</summary>
    Undecodable,
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
/// detailParams.origin, a JSON object encoded as a string, a parameter name the bot author chose), so
/// every step falls back instead of failing. Text that does not decode is the one thing not forgiven:
/// it is bad input (<see cref="KakaoPayloadProblem.Undecodable"/>), and reading it must never throw.
/// </summary>
public static partial class KakaoSkillPayload
{
    private const int MaxUserKeyLength = 256;
    private static readonly JsonDocumentOptions Lenient = new() { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip, MaxDepth = 32 };
    private static readonly string[] UserKeyProperties = ["botUserKey", "bot_user_key", "plusfriendUserKey", "plusfriend_user_key", "appUserId", "app_user_id"];

    public static KakaoSkillRequest Parse(ReadOnlySpan<byte> utf8Json, string pluginParameter)
    {
        ArgumentException.ThrowIfNullOrEmpty(pluginParameter);

        // System.Text.Json notices invalid UTF-8 only when a string is read, and then throws; checked
        // here once, so bytes in fields the service ignores count too.
        if (!Utf8.IsValid(utf8Json))
        {
            return Empty(KakaoPayloadProblem.Undecodable, null, null);
        }

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
            try
            {
                EnsureDecodable(document.RootElement);
                return Read(document.RootElement, pluginParameter);
            }
            catch (UndecodableTextException)
            {
                return Empty(KakaoPayloadProblem.Undecodable, null, null);
            }
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

    private static KakaoSkillRequest Read(JsonElement root, string pluginParameter)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return Empty(KakaoPayloadProblem.NotJson, null, null);
        }

        var userRequest = Property(root, "userRequest", "user_request");
        var userKey = FindUserKey(userRequest);
        var callbackUrl = String(Property(userRequest, "callbackUrl", "callback_url"));
        var action = Property(root, "action");
        List<PluginResult> results;
        if (ActionCandidates(action, pluginParameter).ToList() is { Count: > 0 } configured)
        {
            // The configured name is the first place looked, and the only one when it is there.
            if (Combine(configured.Select(c => ReadPluginValue(c))) is not { } result)
            {
                return Empty(KakaoPayloadProblem.PluginValueMalformed, userKey, callbackUrl);
            }

            results = [result];
        }
        else
        {
            results = FindByShape(action, Property(root, "contexts")).ToList();
            if (results.Count == 0)
            {
                return Empty(KakaoPayloadProblem.PluginValueMissing, userKey, callbackUrl);
            }
        }

        // Several plugin results (a bot may collect photos in several blocks): the URLs of those the user
        // agreed to, each once (contexts repeat the action's values). A result answered "N" is never fetched.
        var agreed = results.Where(r => r.Agreed).ToList();
        var urls = (agreed.Count > 0 ? agreed : results).SelectMany(r => r.Urls).Distinct(StringComparer.Ordinal).ToList();
        var kept = urls.Take(KakaoSkillRequest.MaxUrls).ToList();
        return new KakaoSkillRequest(KakaoPayloadProblem.None, userKey, callbackUrl, agreed.Count > 0, kept, urls.Count - kept.Count);
    }

    /// <summary>Where a parameter's value may sit in <c>action</c>: <c>params[name]</c>, then <c>detailParams[name].value</c>, then <c>.origin</c>.</summary>
    private static IEnumerable<JsonElement> ActionCandidates(JsonElement action, string name)
    {
        var detail = Property(Property(action, "detailParams", "detail_params"), name);
        return Present(Property(Property(action, "params"), name), Property(detail, "value"), Property(detail, "origin"));
    }

    /// <summary>
    /// Plugin results under any parameter name, recognised by their shape (an object, or a JSON string
    /// of one, with both <c>secureUrls</c> and <c>privacyAgreement</c>): in <c>action.params</c> and
    /// <c>action.detailParams.*.value|origin</c>, then <c>contexts[].params.*.resolvedValue|value</c>.
    /// </summary>
    private static IEnumerable<PluginResult> FindByShape(JsonElement action, JsonElement contexts)
    {
        var names = Names(Property(action, "params")).Concat(Names(Property(action, "detailParams", "detail_params"))).Distinct(StringComparer.Ordinal);
        var groups = names.Select(name => ActionCandidates(action, name));
        if (contexts.ValueKind == JsonValueKind.Array)
        {
            var contextParams = contexts.EnumerateArray().Select(c => Property(c, "params")).Where(p => p.ValueKind == JsonValueKind.Object);
            groups = groups.Concat(contextParams.SelectMany(p => p.EnumerateObject()).Select(p => Present(Property(p.Value, "resolvedValue", "resolved_value"), Property(p.Value, "value"))));
        }

        foreach (var group in groups)
        {
            var values = group.Select(c => ReadPluginValue(c)).ToList();
            if (values.Any(v => v is { HasShape: true }) && Combine(values) is { } result)
            {
                yield return result;
            }
        }
    }

    private static IEnumerable<string> Names(JsonElement element) =>
        element.ValueKind == JsonValueKind.Object ? element.EnumerateObject().Select(p => p.Name) : [];

    private static IEnumerable<JsonElement> Present(params JsonElement[] elements) =>
        elements.Where(e => e.ValueKind is not JsonValueKind.Undefined and not JsonValueKind.Null);

    /// <summary>The first object found carries the fields; a bare <c>List(...)</c> elsewhere (origin) can supply the URLs. Null when neither is there.</summary>
    private static PluginResult? Combine(IEnumerable<PluginValue?> values)
    {
        PluginValue? fields = null;
        IReadOnlyList<string>? bareUrls = null;
        foreach (var value in values)
        {
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
            return null;
        }

        return new PluginResult(fields?.Agreed ?? false, fields?.Urls is { Count: > 0 } fromFields ? fromFields : bareUrls ?? []);
    }

    private sealed record PluginResult(bool Agreed, IReadOnlyList<string> Urls);

    /// <summary>One place's value: <see cref="HasShape"/> when it is an object with both of the plugin's fields.</summary>
    private sealed record PluginValue(bool IsObject, bool HasShape, bool Agreed, IReadOnlyList<string> Urls);

    private static PluginValue? ReadPluginValue(JsonElement element, int depth = 0)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            var agreement = Property(element, "privacyAgreement", "privacy_agreement");
            var urls = Property(element, "secureUrls", "secure_urls");
            var list = urls.ValueKind == JsonValueKind.Array
                ? urls.EnumerateArray().Select(String).OfType<string>().SelectMany(SplitSecureUrls).ToList()
                : SplitSecureUrls(String(urls));
            var hasShape = agreement.ValueKind != JsonValueKind.Undefined && urls.ValueKind != JsonValueKind.Undefined;
            return new PluginValue(true, hasShape, string.Equals(String(agreement)?.Trim(), "Y", StringComparison.OrdinalIgnoreCase), list);
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
                EnsureDecodable(inner.RootElement);

                // Some bots encode the value twice; one more level is unwrapped.
                return ReadPluginValue(inner.RootElement.Clone(), depth + 1);
            }
            catch (JsonException)
            {
                return null;
            }
        }

        return text.StartsWith("List(", StringComparison.OrdinalIgnoreCase) || text.StartsWith("http", StringComparison.OrdinalIgnoreCase)
            ? new PluginValue(false, false, false, SplitSecureUrls(text))
            : null;
    }

    /// <summary>
    /// Decodes every string and property name once. JsonElement throws InvalidOperationException for an
    /// escape that is not text (an unpaired surrogate such as <c>\ud800</c>); here, and only here, that
    /// becomes <see cref="UndecodableTextException"/>. Depth is bounded by <see cref="Lenient"/>'s MaxDepth.
    /// </summary>
    private static void EnsureDecodable(JsonElement element)
    {
        try
        {
            Visit(element);
        }
        catch (InvalidOperationException ex)
        {
            throw new UndecodableTextException(ex);
        }

        static void Visit(JsonElement element)
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    foreach (var property in element.EnumerateObject())
                    {
                        _ = property.Name;
                        Visit(property.Value);
                    }

                    break;
                case JsonValueKind.Array:
                    foreach (var item in element.EnumerateArray())
                    {
                        Visit(item);
                    }

                    break;
                case JsonValueKind.String:
                    _ = element.GetString();
                    break;
            }
        }
    }

    private sealed class UndecodableTextException(Exception inner) : Exception("A JSON string is not text.", inner);

    private static string? FindUserKey(JsonElement userRequest)
    {
        var user = Property(userRequest, "user");
        var properties = Property(user, "properties");
        var candidates = new[] { String(Property(user, "id")) }.Concat(UserKeyProperties.Select(p => String(Property(properties, p))));

        // A control character (NUL, ESC, line breaks…) is in no Kakao user key; such a value is not one.
        return candidates.Select(c => c?.Trim()).FirstOrDefault(c => !string.IsNullOrEmpty(c) && c.Length <= MaxUserKeyLength && !c.Any(char.IsControl));
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
