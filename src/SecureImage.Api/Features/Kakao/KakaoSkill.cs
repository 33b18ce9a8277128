using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;
using Microsoft.Extensions.Options;
using SecureImage.Core;
using SecureImage.Core.Catalog;
using SecureImage.Core.Crypto;
using SecureImage.Core.Kakao;

namespace SecureImage.Api.Features.Kakao;

internal static class KakaoJson
{
    /// <summary>Korean text as is (not \u-escaped), so logs of Kakao's side and curl output stay readable.</summary>
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web) { Encoder = JavaScriptEncoder.Create(UnicodeRanges.All) };
}

/// <summary>
/// One skill request: parse leniently, record the plugin consent, persist the fetches, then wait for
/// them within the response budget; answer with the result, or hand it to the callback, or answer
/// "received" and let the worker finish.
/// </summary>
internal sealed class KakaoSkill(
    IImageCatalog catalog,
    IKakaoFetchQueue queue,
    SubjectHasher subjectHasher,
    KakaoRequestTracker tracker,
    KakaoFetchSignal signal,
    KakaoCallbacks callbacks,
    IOptions<KakaoOptions> options,
    TimeProvider timeProvider,
    ILogger<KakaoSkill> logger)
{
    /// <summary>The purpose and policy version recorded with a consent given in the plugin.</summary>
    public const string ConsentPurpose = "kakao-secure-image";
    public const string ConsentPolicyVersion = "kakao-plugin";

    public async Task<SkillResponse> HandleAsync(string botId, ReadOnlyMemory<byte> body, string? callbackToken, long startedAt, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var parsed = KakaoSkillPayload.Parse(body.Span, settings.PluginParameter);
        if (parsed.Problem != KakaoPayloadProblem.None)
        {
            // Text that does not decode is a broken or hostile sender: worth a warning, never an outage.
            KakaoLog.PayloadProblem(logger, parsed.Problem == KakaoPayloadProblem.Undecodable ? LogLevel.Warning : LogLevel.Information, parsed.Problem);
            return Answer(botId, KakaoReplies.Invalid());
        }

        if (!parsed.PrivacyAgreed)
        {
            return Answer(botId, KakaoReplies.ConsentRequired());
        }

        if (parsed.SecureUrls.Count == 0)
        {
            return Answer(botId, KakaoReplies.NoImages());
        }

        if (parsed.UserKey is null)
        {
            // Without the user key there is no subject to record the consent for.
            KakaoLog.PayloadProblem(logger, LogLevel.Information, KakaoPayloadProblem.PluginValueMalformed);
            return Answer(botId, KakaoReplies.Invalid());
        }

        var now = timeProvider.UtcNowMilliseconds();
        var consent = new ConsentRecord(Guid.NewGuid(), botId, subjectHasher.Hash(botId, parsed.UserKey), ConsentPurpose, ConsentPolicyVersion, ConsentSources.KakaoPlugin, now, null);
        await catalog.AddConsentAsync(consent, cancellationToken);

        var requestId = Guid.NewGuid();
        var fetches = new List<KakaoFetch>();
        var settled = new List<KakaoImageOutcome>();
        for (var position = 0; position < parsed.SecureUrls.Count; position++)
        {
            var url = KakaoFetchPolicy.ParseUrl(parsed.SecureUrls[position]);
            var deadline = url is null ? now : KakaoFetchPolicy.Deadline(url, now, settings.DefaultUrlLifetime, settings.MaxUrlLifetime);
            if (KakaoFetchPolicy.CheckUrl(url, settings.EffectiveAllowedHosts) is { } refused)
            {
                settled.Add(new KakaoImageOutcome(position, null, refused));
            }
            else if (deadline <= now)
            {
                settled.Add(new KakaoImageOutcome(position, null, KakaoFetchErrors.Expired));
            }
            else
            {
                fetches.Add(new KakaoFetch(Guid.NewGuid(), requestId, position, botId, consent.Id, url!.AbsoluteUri, deadline));
            }
        }

        var total = parsed.SecureUrls.Count + parsed.ExtraUrlsRefused;
        settled.AddRange(Enumerable.Range(parsed.SecureUrls.Count, parsed.ExtraUrlsRefused).Select(p => new KakaoImageOutcome(p, null, KakaoFetchErrors.TooMany)));
        var watcher = tracker.Watch(requestId, total, settled);
        try
        {
            if (fetches.Count > 0)
            {
                // Persisted before anything is answered: from here a crash cannot lose these images.
                await queue.EnqueueAsync(fetches, now, cancellationToken);
                signal.Wake();
            }

            if (await watcher.WaitAsync(settings.ResponseBudget - timeProvider.GetElapsedTime(startedAt), timeProvider, cancellationToken))
            {
                return Answer(botId, KakaoReplies.Final(requestId, watcher.Snapshot()));
            }
        }
        catch
        {
            tracker.Forget(requestId);
            throw;
        }

        if (KakaoCallbacks.ParseCallbackUrl(parsed.CallbackUrl) is { } callbackUrl)
        {
            callbacks.Schedule(callbackUrl, callbackToken, requestId, watcher, settings.CallbackWindow - timeProvider.GetElapsedTime(startedAt));
            return Answer(botId, KakaoReplies.UseCallback(), "callback");
        }

        tracker.Forget(requestId);
        return Answer(botId, KakaoReplies.Received(requestId, fetches.Count));
    }

    private SkillResponse Answer(string botId, SkillResponse response, string? outcome = null)
    {
        KakaoLog.SkillAnswered(logger, botId, outcome ?? (response.Data?.TryGetValue("status", out var status) == true ? status : "unknown"));
        return response;
    }
}
