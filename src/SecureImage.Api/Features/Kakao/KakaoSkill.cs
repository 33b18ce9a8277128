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
/// One skill request: parse leniently, record the plugin consent, persist the fetches (and the callback,
/// held), then wait for them within the response budget; answer with the result, or arm the durable
/// callback and answer <c>useCallback</c>, or answer "received" and let the worker finish.
/// </summary>
internal sealed class KakaoSkill(
    IImageCatalog catalog,
    IKakaoFetchQueue queue,
    SubjectHasher subjectHasher,
    KakaoRequestTracker tracker,
    KakaoFetchSignal signal,
    KakaoCallbackSignal callbackSignal,
    KakaoPreviewLinks previewLinks,
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
        var refusals = new List<KakaoRefusal>();
        for (var position = 0; position < parsed.SecureUrls.Count; position++)
        {
            var url = KakaoFetchPolicy.ParseUrl(parsed.SecureUrls[position]);
            var deadline = url is null ? now : KakaoFetchPolicy.Deadline(url, now, settings.DefaultUrlLifetime, settings.MaxUrlLifetime);
            if (KakaoFetchPolicy.CheckUrl(url, settings.EffectiveAllowedHosts) is { } refused)
            {
                refusals.Add(new KakaoRefusal(Guid.NewGuid(), position, refused));
            }
            else if (deadline <= now)
            {
                refusals.Add(new KakaoRefusal(Guid.NewGuid(), position, KakaoFetchErrors.Expired));
            }
            else
            {
                fetches.Add(new KakaoFetch(Guid.NewGuid(), requestId, position, botId, consent.Id, url!.AbsoluteUri, deadline));
            }
        }

        var total = parsed.SecureUrls.Count + parsed.ExtraUrlsRefused;
        var settled = refusals.Select(r => new KakaoImageOutcome(r.Position, null, r.Reason))
            .Concat(Enumerable.Range(parsed.SecureUrls.Count, parsed.ExtraUrlsRefused).Select(p => new KakaoImageOutcome(p, null, KakaoFetchErrors.TooMany)));
        var callback = fetches.Count > 0 ? Callback(parsed, callbackToken, now - timeProvider.GetElapsedTime(startedAt)) : null;
        var watcher = tracker.Watch(requestId, total, settled);
        try
        {
            if (fetches.Count > 0)
            {
                // Persisted before anything is answered, the callback with them: from here a crash loses
                // neither these images nor, once armed, the user's answer.
                await queue.EnqueueAsync(new KakaoRequest(requestId, botId, consent.Id, fetches, refusals, callback), now, cancellationToken);
                signal.Wake();
            }

            if (await watcher.WaitAsync(settings.ResponseBudget - timeProvider.GetElapsedTime(startedAt), timeProvider, cancellationToken))
            {
                if (callback is not null)
                {
                    await CloseUnusedCallbackAsync(requestId);
                }

                var outcomes = watcher.Snapshot();
                return Answer(botId, KakaoReplies.Final(requestId, outcomes, await previewLinks.ForAsync(outcomes, cancellationToken)));
            }
        }
        finally
        {
            tracker.Forget(requestId);
        }

        if (callback is not null && await ArmCallbackAsync(requestId))
        {
            callbackSignal.Wake();
            return Answer(botId, KakaoReplies.UseCallback(), "callback");
        }

        return Answer(botId, KakaoReplies.Received(requestId, fetches.Count));
    }

    /// <summary>The callback to hold for this request, or null when it offered none (or one the service cannot use as given).</summary>
    private KakaoCallback? Callback(KakaoSkillRequest parsed, string? token, DateTimeOffset receivedAt) =>
        KakaoCallbacks.ParseCallbackUrl(parsed.CallbackUrl) is { } url && KakaoCallbacks.IsUsableToken(token)
            ? new KakaoCallback(url.AbsoluteUri, token, receivedAt + options.Value.CallbackWindow, receivedAt + KakaoCallbacks.UrlLifetime, parsed.ExtraUrlsRefused)
            : null;

    /// <summary>
    /// Held → pending just before answering <c>useCallback</c>: from now any instance may send it. Should
    /// the catalog fail here, the answer is "received" instead (the images are durable either way), and the
    /// held callback, which no one sends, expires.
    /// </summary>
    private async Task<bool> ArmCallbackAsync(Guid requestId)
    {
        try
        {
            return await queue.ArmCallbackAsync(requestId, timeProvider.GetUtcNow(), CancellationToken.None);
        }
        catch (CatalogUnavailableException ex)
        {
            KakaoLog.CallbackNotArmed(logger, requestId, ex.InnerException?.GetType().Name ?? ex.GetType().Name);
            return false;
        }
    }

    /// <summary>Answered directly: the held callback is closed and its URL and token forgotten now rather than at expiry.</summary>
    private async Task CloseUnusedCallbackAsync(Guid requestId)
    {
        try
        {
            await queue.CompleteCallbackAsync(requestId, KakaoCallbackState.Answered, timeProvider.GetUtcNow(), CancellationToken.None);
        }
        catch (CatalogUnavailableException)
        {
            // A held callback is never sent; the expiry sweep forgets it.
        }
    }

    private SkillResponse Answer(string botId, SkillResponse response, string? outcome = null)
    {
        KakaoLog.SkillAnswered(logger, botId, outcome ?? (response.Data?.TryGetValue("status", out var status) == true ? status : "unknown"));
        return response;
    }
}
