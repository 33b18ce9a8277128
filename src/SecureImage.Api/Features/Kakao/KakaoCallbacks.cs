using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Options;
using SecureImage.Core.Catalog;
using SecureImage.Core.Ingestion;
using SecureImage.Core.Kakao;

namespace SecureImage.Api.Features.Kakao;

/// <summary>
/// Sends the final SkillResponse of requests answered with <c>useCallback</c>, from the callbacks the
/// queue holds, so whichever instance is alive delivers it, also after the one that took the request
/// crashed. A callback is claimed atomically (one instance, once) when every URL of its request is
/// settled, or at <c>Kakao:CallbackWindow</c> after the request with what is known then; its content is
/// read from the request's fetch rows. The callback URL works once, so a failed POST is not retried, and
/// a sender that dies mid-POST leaves it unsent (at most once). Past the URL's minute it is dropped.
/// </summary>
internal sealed class KakaoCallbacks(
    IKakaoFetchQueue queue,
    KakaoHttp http,
    KakaoCallbackSignal signal,
    KakaoPreviewLinks previewLinks,
    IOptions<KakaoOptions> options,
    TimeProvider timeProvider,
    ILogger<KakaoCallbacks> logger) : BackgroundService
{
    public const string TokenHeader = "x-kakao-callback-token";

    /// <summary>How long Kakao's callback URL works after the request (its guide says about one minute).</summary>
    public static readonly TimeSpan UrlLifetime = TimeSpan.FromMinutes(1);

    /// <summary>Longer than any token seen; the token is stored, so its size is bounded.</summary>
    public const int MaxTokenLength = 1024;

    private const int MaxConcurrentSends = 16;
    private const int MaxAnswerBytes = 64 * 1024;
    private static readonly TimeSpan PostTimeout = TimeSpan.FromSeconds(10);

    /// <summary>An absolute http(s) URL without user info, or null (then the request is answered as if it offered no callback).</summary>
    public static Uri? ParseCallbackUrl(string? text) => KakaoFetchPolicy.ParseUrl(text) is { UserInfo.Length: 0 } url ? url : null;

    /// <summary>
    /// Whether a request's <c>x-kakao-callback-token</c> can be stored and sent back as it came: absent, or
    /// printable ASCII of a bounded length. Anything else is no token of Kakao's, and the callback is not used.
    /// </summary>
    public static bool IsUsableToken(string? token) =>
        token is null || (token.Length is > 0 and <= MaxTokenLength && token.All(c => c is >= ' ' and <= '~'));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var sending = new List<Task>();
        while (!stoppingToken.IsCancellationRequested)
        {
            var wake = signal.Next;
            sending.RemoveAll(t => t.IsCompleted);
            try
            {
                var now = timeProvider.GetUtcNow();
                if (await queue.ExpireCallbacksAsync(now, stoppingToken) is var expired and > 0)
                {
                    KakaoLog.CallbacksExpired(logger, expired);
                }

                var free = MaxConcurrentSends - sending.Count;
                if (free > 0)
                {
                    var claims = await queue.ClaimDueCallbacksAsync(now, free, stoppingToken);
                    sending.AddRange(claims.Select(claim => Task.Run(() => SendAsync(claim), CancellationToken.None)));
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (CatalogUnavailableException ex)
            {
                KakaoLog.QueueUnavailable(logger, ex.InnerException?.GetType().Name ?? ex.GetType().Name);
            }

            await Task.WhenAny(wake, Task.Delay(settings.PollInterval, timeProvider, stoppingToken));
        }

        // Sends under way finish (each bounded by its timeout): cutting one off could lose an answer Kakao was about to accept.
        await Task.WhenAll(sending).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>Never throws. The claim is this instance's alone: whatever happens, the URL is not used again.</summary>
    private async Task SendAsync(KakaoCallbackClaim claim)
    {
        var outcome = KakaoCallbackState.Failed;
        try
        {
            var fetches = await queue.GetRequestAsync(claim.RequestId, CancellationToken.None);
            var outcomes = KakaoImageOutcome.FromQueue(fetches, claim.RefusedBeyondLimit);
            var response = KakaoReplies.Final(claim.RequestId, outcomes, await previewLinks.ForAsync(outcomes, CancellationToken.None));
            using var timeout = new CancellationTokenSource(PostTimeout);
            using var request = new HttpRequestMessage(HttpMethod.Post, claim.Url) { Content = JsonContent.Create(response, options: KakaoJson.Options) };
            if (claim.Token is not null)
            {
                request.Headers.TryAddWithoutValidation(TokenHeader, claim.Token);
            }

            using var answer = await http.Client.SendAsync(request, timeout.Token);
            var kakaoStatus = await ReadKakaoStatusAsync(answer, timeout.Token);
            outcome = answer.IsSuccessStatusCode && kakaoStatus is "SUCCESS" or null ? KakaoCallbackState.Sent : KakaoCallbackState.Failed;
            KakaoLog.CallbackSent(logger, claim.RequestId, (int)answer.StatusCode, kakaoStatus ?? "none");
        }
        catch (Exception ex)
        {
            KakaoLog.CallbackFailed(logger, claim.RequestId, ex.GetType().Name);
        }

        try
        {
            await queue.CompleteCallbackAsync(claim.RequestId, outcome, timeProvider.GetUtcNow(), CancellationToken.None);
        }
        catch (CatalogUnavailableException)
        {
            // It stays 'sending' (never claimed again) until the expiry sweep forgets its URL and token.
        }
    }

    /// <summary>Kakao's <c>status</c> (<c>SUCCESS</c>, <c>FAIL</c>, <c>ERROR</c>) from its small JSON answer; null when it carries none, "other" for anything else.</summary>
    private static async Task<string?> ReadKakaoStatusAsync(HttpResponseMessage answer, CancellationToken cancellationToken)
    {
        try
        {
            await using var body = new MaxLengthReadStream(await answer.Content.ReadAsStreamAsync(cancellationToken), MaxAnswerBytes);
            using var json = await JsonDocument.ParseAsync(body, cancellationToken: cancellationToken);
            return json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("status", out var status) && status.ValueKind == JsonValueKind.String
                ? status.GetString() switch { "SUCCESS" => "SUCCESS", "FAIL" => "FAIL", "ERROR" => "ERROR", _ => "other" }
                : null;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or UploadTooLargeException or IOException or HttpRequestException or OperationCanceledException)
        {
            return null;
        }
    }
}
