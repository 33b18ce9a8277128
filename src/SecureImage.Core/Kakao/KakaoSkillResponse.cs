using System.Text.Json.Serialization;

namespace SecureImage.Core.Kakao;

/// <summary>SkillResponse 2.0: what Open Builder expects back, for a direct answer and for a callback.</summary>
public sealed record SkillResponse(
    [property: JsonPropertyName("version")] string Version,
    [property: JsonPropertyName("template"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] SkillTemplate? Template,
    [property: JsonPropertyName("useCallback"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? UseCallback,
    [property: JsonPropertyName("data"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, string>? Data)
{
    public const string CurrentVersion = "2.0";
    public const int MaxTextLength = 1000;
    public const int MaxOutputs = 3;
    public const int MaxQuickReplies = 10;
}

public sealed record SkillTemplate(
    [property: JsonPropertyName("outputs")] IReadOnlyList<SkillOutput> Outputs,
    [property: JsonPropertyName("quickReplies"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<QuickReply>? QuickReplies);

public sealed record SkillOutput([property: JsonPropertyName("simpleText")] SimpleText SimpleText);

public sealed record SimpleText([property: JsonPropertyName("text")] string Text);

public sealed record QuickReply(
    [property: JsonPropertyName("label")] string Label,
    [property: JsonPropertyName("action")] string Action,
    [property: JsonPropertyName("messageText")] string MessageText);

/// <summary>How one URL of a request ended: stored (an image id), failed (a reason code), or still pending.</summary>
public sealed record KakaoImageOutcome(int Position, Guid? ImageId, string? FailureCode)
{
    public bool IsPending => ImageId is null && FailureCode is null;

    /// <summary>
    /// A request's outcomes as the queue records them, whichever instance did the work: one per fetch row
    /// (refusals on arrival included), then <paramref name="refusedBeyondLimit"/> URLs past the limit.
    /// </summary>
    public static IReadOnlyList<KakaoImageOutcome> FromQueue(IReadOnlyList<KakaoFetchStatus> fetches, int refusedBeyondLimit)
    {
        ArgumentNullException.ThrowIfNull(fetches);
        var outcomes = fetches.Select(f => f.State switch
        {
            KakaoFetchState.Done => new KakaoImageOutcome(f.Position, f.ImageId, null),
            KakaoFetchState.Failed => new KakaoImageOutcome(f.Position, null, f.LastError ?? KakaoFetchErrors.FetchFailed),
            _ => new KakaoImageOutcome(f.Position, null, null),
        }).ToList();
        var next = fetches.Count == 0 ? 0 : fetches.Max(f => f.Position) + 1;
        outcomes.AddRange(Enumerable.Range(next, Math.Max(0, refusedBeyondLimit)).Select(p => new KakaoImageOutcome(p, null, KakaoFetchErrors.TooMany)));
        return outcomes;
    }
}

/// <summary>
/// The Korean answers the chatbot shows its user, and the <c>data</c> map for the bot's next blocks:
/// <c>status</c>, <c>imageIds</c> (comma-separated), <c>imageCount</c>, <c>failedCount</c>,
/// <c>pendingCount</c> and <c>requestId</c>, all strings so Open Builder can use them as variables; with
/// preview links configured also <c>previewUrls</c> (comma-separated, in the order of <c>imageIds</c>).
/// </summary>
public static class KakaoReplies
{
    public static class Statuses
    {
        public const string Stored = "stored";
        public const string Partial = "partial";
        public const string Failed = "failed";
        public const string Pending = "pending";
        public const string ConsentRequired = "consent-required";
        public const string Invalid = "invalid";
        public const string Unavailable = "unavailable";
    }

    private static readonly QuickReply Retry = new("다시 보내기", "message", "사진 보내기");

    public static SkillResponse ConsentRequired() => Text(
        "사진을 저장하려면 개인정보 수집·이용에 동의해 주셔야 해요. 동의하신 뒤 사진을 다시 보내 주세요. 동의하지 않으시면 사진은 저장되지 않아요.",
        Statuses.ConsentRequired);

    public static SkillResponse Invalid() => Text(
        "사진 정보를 읽지 못했어요. 사진 보내기를 처음부터 다시 해 주세요.",
        Statuses.Invalid);

    public static SkillResponse NoImages() => Text("받은 사진이 없어요. 사진을 골라 다시 보내 주세요.", Statuses.Invalid);

    public static SkillResponse Unavailable() => Text("지금은 사진을 받을 수 없어요. 잠시 후 다시 보내 주세요.", Statuses.Unavailable);

    /// <summary>The immediate answer when the images are still being fetched and no callback is offered.</summary>
    public static SkillResponse Received(Guid requestId, int count) => Text(
        $"사진 {count}장을 받았어요. 안전하게 저장하는 중이에요.",
        Statuses.Pending,
        new Dictionary<string, string> { ["requestId"] = requestId.ToString("D"), ["pendingCount"] = Count(count) });

    /// <summary>The immediate answer in callback mode: no template, the final answer follows on the callback URL.</summary>
    public static SkillResponse UseCallback() => new(
        SkillResponse.CurrentVersion,
        null,
        true,
        new Dictionary<string, string> { ["text"] = "사진을 안전하게 저장하고 있어요. 잠시만 기다려 주세요…" });

    /// <summary>The final answer: how many were stored and, if some were not, how many and why in plain words.</summary>
    /// <param name="previewUrls">Preview links of the stored images, in position order; null when not configured.</param>
    public static SkillResponse Final(Guid requestId, IReadOnlyList<KakaoImageOutcome> outcomes, IReadOnlyList<string>? previewUrls = null)
    {
        ArgumentNullException.ThrowIfNull(outcomes);
        var ordered = outcomes.OrderBy(o => o.Position).ToList();
        var stored = ordered.Where(o => o.ImageId is not null).Select(o => o.ImageId!.Value.ToString("D")).ToList();
        var failed = ordered.Where(o => o.FailureCode is not null).ToList();
        var pending = ordered.Count(o => o.IsPending);

        var parts = new List<string>();
        parts.Add(stored.Count > 0 ? $"사진 {stored.Count}장을 안전하게 저장했어요." : "사진을 저장하지 못했어요.");
        if (failed.Count > 0)
        {
            var reasons = failed.GroupBy(f => Reason(f.FailureCode!)).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => $"{g.Key} ({g.Count()}장)");
            parts.Add($"{failed.Count}장은 저장하지 못했어요: {string.Join(", ", reasons)}.");
        }

        if (pending > 0)
        {
            parts.Add($"{pending}장은 아직 저장하는 중이에요.");
        }

        if (stored.Count > 0)
        {
            parts.Add("저장한 사진은 3일 뒤 자동으로 삭제돼요.");
        }

        var status = pending > 0 ? Statuses.Pending
            : failed.Count == 0 ? Statuses.Stored
            : stored.Count == 0 ? Statuses.Failed
            : Statuses.Partial;
        var data = new Dictionary<string, string>
        {
            ["requestId"] = requestId.ToString("D"),
            ["imageIds"] = string.Join(',', stored),
            ["imageCount"] = Count(stored.Count),
            ["failedCount"] = Count(failed.Count),
            ["pendingCount"] = Count(pending),
        };
        if (previewUrls is not null)
        {
            data["previewUrls"] = string.Join(',', previewUrls);
        }

        return Text(string.Join(' ', parts), status, data);
    }

    /// <summary>A failure code in words a chatbot user understands.</summary>
    public static string Reason(string failureCode) => failureCode switch
    {
        KakaoFetchErrors.Expired or KakaoFetchErrors.UrlRejected => "사진 링크가 만료되었어요",
        KakaoFetchErrors.TooMany => $"한 번에 {KakaoSkillRequest.MaxUrls}장까지만 받을 수 있어요",
        KakaoFetchErrors.TooLarge => "사진 용량이 너무 커요",
        KakaoFetchErrors.BadType => "지원하지 않는 파일 형식이에요 (JPEG, PNG, GIF, WebP만 가능해요)",
        KakaoFetchErrors.Malformed => "사진 파일이 손상되었어요",
        KakaoFetchErrors.NoConsent => "동의가 철회되었어요",
        KakaoFetchErrors.RefusedUrl or KakaoFetchErrors.BlockedAddress or KakaoFetchErrors.RefusedRedirect => "허용되지 않은 주소의 사진이에요",
        KakaoFetchErrors.Timeout => "사진을 내려받는 데 너무 오래 걸렸어요",
        _ => "사진을 내려받지 못했어요",
    };

    private static string Count(int n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static SkillResponse Text(string text, string status, Dictionary<string, string>? data = null)
    {
        data ??= [];
        data["status"] = status;
        var bounded = text.Length <= SkillResponse.MaxTextLength ? text : text[..(SkillResponse.MaxTextLength - 1)] + "…";
        return new SkillResponse(
            SkillResponse.CurrentVersion,
            new SkillTemplate([new SkillOutput(new SimpleText(bounded))], [Retry]),
            null,
            data);
    }
}
